"""Who is in a one-on-one series, and what each of the two may do with it.

One job: the pair. Only a manager and one of their active direct reports share a series;
when the report's manager changes (or either person is deactivated) the series ends, found
by ``end_broken_series`` from ``tick`` and whenever series are read. A series that ended so
stays readable by the two, never writable. Everything a pair shares (agenda, action items)
spans all of the pair's series: ``pair_series_ids``.

May import: ``errors``, ``extensions``, ``oneonones.models``, ``people.models``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from errors import Conflict, Forbidden, get_or_raise
from extensions import db
from oneonones.models import Series
from people.models import Person


def _broken_series_query():
    report = sa.orm.aliased(Person)
    manager = sa.orm.aliased(Person)
    return (sa.select(Series.id)
            .join(report, report.id == Series.report_id).join(manager, manager.id == Series.manager_id)
            .where(Series.status != "ended",
                   sa.or_(report.manager_id.is_(None), report.manager_id != Series.manager_id,
                          report.active.is_(False), manager.active.is_(False))))


def end_broken_series(now: datetime, person_ids: Iterable[int] | None = None) -> int:
    """End every series whose report no longer reports to its manager (or either left); commits.

    With ``person_ids``, only series involving those people are looked at.
    Returns how many series were ended.
    """
    stmt = _broken_series_query()
    if person_ids is not None:
        ids = list(person_ids)
        stmt = stmt.where(sa.or_(Series.manager_id.in_(ids), Series.report_id.in_(ids)))
    broken = db.session.scalars(stmt).all()
    if not broken:
        return 0
    ended = db.session.execute(sa.update(Series).where(Series.id.in_(broken), Series.status != "ended")
                               .values(status="ended", ends_at=now, paused_at=None, end_reason="manager_changed",
                                       sequence=Series.sequence + 1, changed_at=now))
    db.session.commit()
    return ended.rowcount


def relationship_intact(series: Series) -> bool:
    report, manager = series.report, series.manager
    return report.manager_id == series.manager_id and report.active and manager.active


def get_series(series_id: int, person: Person, now: datetime) -> Series:
    """A series that ``person`` takes part in.

    :raise NotFound: no such series. :raise Forbidden: ``person`` is neither its manager nor its report.
    """
    series = get_or_raise(Series, series_id, _("No such one-on-one."))
    if not series.involves(person.id):
        raise Forbidden(_("Only the two people in a one-on-one can see it."))
    if series.status != "ended" and not relationship_intact(series):
        end_broken_series(now, [series.report_id])
        db.session.refresh(series)
    return series


def require_writable(series: Series, person: Person) -> None:
    if not series.involves(person.id):
        raise Forbidden(_("Only the two people in a one-on-one can see it."))
    if not relationship_intact(series):
        raise Forbidden(_("This one-on-one ended when the reporting line changed; it can be read, not changed."))


def require_manager(series: Series, person: Person) -> None:
    require_writable(series, person)
    if person.id != series.manager_id:
        raise Forbidden(_("Only the manager can change the schedule."))
    if series.status == "ended":
        raise Conflict(_("This one-on-one series has ended."))


def can_write(series: Series, person: Person) -> bool:
    return series.involves(person.id) and relationship_intact(series)


def can_schedule(series: Series, person: Person) -> bool:
    return can_write(series, person) and person.id == series.manager_id and series.status != "ended"


def direct_reports(manager: Person) -> list[Person]:
    return list(db.session.scalars(sa.select(Person).where(Person.manager_id == manager.id, Person.active)
                                   .order_by(Person.name, Person.id)))


def current_series(manager_id: int, report_id: int) -> Series | None:
    return db.session.scalar(sa.select(Series).where(Series.manager_id == manager_id,
                                                     Series.report_id == report_id, Series.status != "ended"))


def pair_series_ids(series: Series) -> list[int]:
    return list(db.session.scalars(sa.select(Series.id).where(Series.manager_id == series.manager_id,
                                                              Series.report_id == series.report_id)))
