"""Overlaps: a new series, a schedule change or a moved meeting must not clash with another one-on-one.

One job: refuse a slot that overlaps any other one-on-one of the manager or the report
(either as manager or as report) within ``CONFLICT_HORIZON``, naming the conflicting slot in
the actor's words. Paused series keep their slot; cancelled meetings free theirs.

May import: ``errors``, ``extensions``, ``oneonones.models``, ``oneonones.occurrences``,
``oneonones.wording``, ``people.models``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from errors import Conflict
from extensions import db
from oneonones.models import Series
from oneonones.occurrences import Occurrence, exceptions_of, occurrences
from oneonones.wording import describe_slot
from people.models import Person

CONFLICT_HORIZON = timedelta(days=366)


def busy(person_ids: set[int], start: datetime, end: datetime, *, skip_series: int | None = None,
          skip_occurrence: tuple[int, datetime] | None = None) -> list[tuple[Occurrence, Series]]:
    """Every meeting (cancelled ones excepted) in ``[start, end)`` of a series involving these people."""
    rows = db.session.scalars(sa.select(Series).where(
        sa.or_(Series.manager_id.in_(person_ids), Series.report_id.in_(person_ids)),
        sa.or_(Series.ends_at.is_(None), Series.ends_at > start - timedelta(days=1)))).all()
    rows = [s for s in rows if s.id != skip_series]
    exceptions = exceptions_of(s.id for s in rows)
    busy = []
    for other in rows:
        for occ in occurrences(other, start - timedelta(days=1), end, ignore_pause=True,
                               exceptions=exceptions[other.id]):
            if occ.cancelled or (occ.series_id, occ.original_start) == skip_occurrence:
                continue
            busy.append((occ, other))
    busy.sort(key=lambda pair: pair[0].starts_at)
    return busy


def _first_clash(candidates: list[tuple[datetime, datetime]],
                 busy: list[tuple[Occurrence, Series]]) -> tuple[datetime, datetime, Occurrence, Series] | None:
    clashes = []
    for begins, ends in candidates:
        for occ, other in busy:
            if occ.starts_at >= ends:
                break
            if begins < occ.ends_at:
                clashes.append((begins, ends, occ, other))
                break
    return min(clashes, key=lambda c: c[0]) if clashes else None


def refuse_clash(candidates: list[tuple[datetime, datetime]], people: set[int], actor: Person, field: str,
                  **skip) -> None:
    if not candidates:
        return
    start = min(c[0] for c in candidates)
    end = max(c[1] for c in candidates)
    clash = _first_clash(candidates, busy(people, start, end, **skip))
    if clash is None:
        return
    _begins, _ends, occ, other = clash
    message = _("This overlaps the one-on-one of %(manager)s with %(report)s on %(when)s.",
                manager=other.manager.name, report=other.report.name,
                when=describe_slot(occ.starts_at, occ.ends_at, actor))
    raise Conflict(message, {field: message})
