"""One meeting of a series: moving, cancelling or restoring it without touching the others.

One job: a change to a single occurrence, stored as its ``OccurrenceException`` row. Each is
refused when the meeting would overlap another one-on-one, raises the series' revision when
the meeting really changed, and tells the report (``oneonones.notices``) in the same
transaction; a request that changes nothing tells no one.

May import: ``errors``, ``extensions``, ``oneonones.models``, ``oneonones.reading``,
``oneonones.occurrences``, ``oneonones.access``, ``oneonones.wording``, ``oneonones.conflicts``,
``oneonones.notices``, ``oneonones.series``, ``people.models``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from errors import Conflict, ValidationError
from extensions import db
from oneonones import reading
from oneonones.access import require_manager
from oneonones.conflicts import refuse_clash
from oneonones.models import OccurrenceException, Series
from oneonones.notices import tell_report
from oneonones.occurrences import Occurrence, find_occurrence
from oneonones.series import revise, serialise
from oneonones.wording import viewer_locale
from people.models import Person


def move_occurrence(series: Series, actor: Person, key: str, data: Mapping[str, Any], now: datetime) -> Occurrence:
    """Move one meeting to another time (and length); the rest of the series is untouched.

    ``data``: the new start (``starts_at`` with its offset, or ``starts_on`` + ``start_time`` in the
    series' time zone) and optional ``duration_minutes`` (the series' length). Moving a cancelled
    meeting puts it back on. The report is told, unless the meeting already was at that time
    (the form sent back unchanged). Returns the meeting as it is now.
    :raise NotFound: no such meeting. :raise Forbidden: not the series' manager.
    :raise ValidationError: bad time, or a time the clocks skip. :raise Conflict: the series has
      ended, or the meeting would overlap another one-on-one.
    """
    serialise(series)
    require_manager(series, actor)
    occurrence = find_occurrence(series, key)
    errors: dict[str, str] = {}
    slot, field = reading.clean_move(data, series.timezone, series.duration_minutes, viewer_locale(actor), errors)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    begins, ends = slot
    if not occurrence.cancelled and (begins, ends) == (occurrence.starts_at, occurrence.ends_at):
        return occurrence
    refuse_clash([slot], {series.manager_id, series.report_id}, actor, field,
                  skip_occurrence=(series.id, occurrence.original_start))
    row = db.session.scalar(sa.select(OccurrenceException).where(
        OccurrenceException.series_id == series.id, OccurrenceException.original_start == occurrence.original_start))
    if begins == occurrence.original_start and ends - begins == timedelta(minutes=series.duration_minutes):
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(OccurrenceException(series_id=series.id, original_start=occurrence.original_start,
                                           status="moved", starts_at=begins, ends_at=ends, changed_at=now))
    else:
        row.status, row.starts_at, row.ends_at, row.changed_at = "moved", begins, ends, now
    return _commit_occurrence_change(series, occurrence, now)


def cancel_occurrence(series: Series, actor: Person, key: str, now: datetime) -> Occurrence:
    """Cancel one meeting; its agenda carries over to the next one. The report is told.

    Returns the meeting, cancelled; one already cancelled is left as it is.
    :raise NotFound: no such meeting. :raise Forbidden: not the series' manager. :raise Conflict: it has ended.
    """
    serialise(series)
    require_manager(series, actor)
    occurrence = find_occurrence(series, key)
    if occurrence.cancelled:
        return occurrence
    row = db.session.scalar(sa.select(OccurrenceException).where(
        OccurrenceException.series_id == series.id, OccurrenceException.original_start == occurrence.original_start))
    if row is None:
        db.session.add(OccurrenceException(series_id=series.id, original_start=occurrence.original_start,
                                           status="cancelled", changed_at=now))
    else:
        row.status, row.starts_at, row.ends_at, row.changed_at = "cancelled", None, None, now
    return _commit_occurrence_change(series, occurrence, now)


def restore_occurrence(series: Series, actor: Person, key: str, now: datetime) -> Occurrence:
    """Undo a cancellation or a move: the meeting is back at its usual time, unless that now clashes.

    The report is told. Returns the meeting as scheduled; one already there is left as it is.
    :raise NotFound: no such meeting. :raise Forbidden: not the series' manager.
    :raise Conflict: the series has ended, or its usual time now overlaps another one-on-one.
    """
    serialise(series)
    require_manager(series, actor)
    occurrence = find_occurrence(series, key)
    if occurrence.status == "scheduled":
        return occurrence
    slot = (occurrence.original_start, occurrence.original_start + timedelta(minutes=series.duration_minutes))
    refuse_clash([slot], {series.manager_id, series.report_id}, actor, "starts_on",
                  skip_occurrence=(series.id, occurrence.original_start))
    db.session.execute(sa.delete(OccurrenceException).where(
        OccurrenceException.series_id == series.id, OccurrenceException.original_start == occurrence.original_start))
    return _commit_occurrence_change(series, occurrence, now)


def _commit_occurrence_change(series: Series, before: Occurrence, now: datetime) -> Occurrence:
    """Commit a change to one meeting together with the e-mail telling the report; returns the meeting now.

    :raise Conflict: another request changed the same meeting at the same moment (its row came first).
    """
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("This meeting was changed by someone else at the same moment; reload the page and "
                         "try again.")) from None
    after = find_occurrence(series, before.key)
    if (after.status, after.starts_at, after.ends_at) != (before.status, before.starts_at, before.ends_at):
        revise(series, now)
    if after.cancelled and not before.cancelled:
        tell_report(series, "cancelled", now, old=before, occurrence=after)
    elif before.cancelled and not after.cancelled:
        tell_report(series, "reinstated", now, new=after, occurrence=after)
    elif (before.starts_at, before.ends_at) != (after.starts_at, after.ends_at):
        tell_report(series, "moved", now, old=before, new=after, occurrence=after)
    db.session.commit()
    return after
