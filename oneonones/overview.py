"""Overviews of one-on-ones: a manager's team, a person's own series, a pair's history.

One job: the lists the index and series pages show. Each reads through ``end_broken_series``
first, so a series whose reporting line changed is shown as ended.

May import: ``extensions``, ``oneonones.models``, ``oneonones.occurrences``, ``oneonones.access``,
``people.models``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from extensions import db
from oneonones.access import current_series, direct_reports, end_broken_series
from oneonones.models import Series
from oneonones.occurrences import HISTORY_WINDOW, Occurrence, next_occurrence, occurrences
from people.models import Person

NOT_MET_DAYS = 30


@dataclass(frozen=True)
class ReportRow:
    report: Person
    series: Series | None  # the current one
    previous: Series | None  # the latest ended one, when there is no current one
    next: Occurrence | None
    last_met: datetime | None
    overdue: bool  # no meeting in the last NOT_MET_DAYS days


def last_meeting(manager_id: int, report_id: int, now: datetime) -> datetime | None:
    """When the pair last met (a meeting that ended, not cancelled), looking back a year."""
    latest = None
    for series in db.session.scalars(sa.select(Series).where(Series.manager_id == manager_id,
                                                             Series.report_id == report_id)):
        held = [o for o in occurrences(series, now - HISTORY_WINDOW, now) if not o.cancelled and o.ends_at <= now]
        if held and (latest is None or held[-1].starts_at > latest):
            latest = held[-1].starts_at
    return latest


def manager_overview(manager: Person, now: datetime) -> list[ReportRow]:
    """Each active direct report with their current series, next meeting and when they last met."""
    end_broken_series(now, [manager.id])
    rows = []
    for report in direct_reports(manager):
        series = current_series(manager.id, report.id)
        previous = None if series else db.session.scalar(
            sa.select(Series).where(Series.manager_id == manager.id, Series.report_id == report.id)
            .order_by(Series.ends_at.desc()).limit(1))
        last = last_meeting(manager.id, report.id, now)
        rows.append(ReportRow(report, series, previous, next_occurrence(series, now) if series else None, last,
                              last is None or now - last > timedelta(days=NOT_MET_DAYS)))
    return rows


@dataclass(frozen=True)
class SeriesRow:
    series: Series
    next: Occurrence | None


def series_as_report(person: Person, now: datetime) -> list[SeriesRow]:
    """The person's one-on-ones with their manager(s): current ones first, then past ones."""
    end_broken_series(now, [person.id])
    # A schedule change ends a series and starts its follower; the follower's page links back.
    found = db.session.scalars(sa.select(Series).where(
        Series.report_id == person.id, sa.or_(Series.end_reason.is_(None), Series.end_reason != "rescheduled"))
        .order_by(Series.status == "ended", Series.created_at.desc())).all()
    return [SeriesRow(s, next_occurrence(s, now)) for s in found]


def past_series_as_manager(manager: Person) -> list[Series]:
    """Ended series with people who no longer report to ``manager`` (their history stays readable)."""
    return list(db.session.scalars(
        sa.select(Series).join(Person, Person.id == Series.report_id)
        .where(Series.manager_id == manager.id, Series.status == "ended", Series.end_reason == "manager_changed")
        .order_by(Series.ends_at.desc()).limit(20)))


def series_history(series: Series) -> list[Series]:
    """All series of the same manager and report, newest first (a schedule change starts a new one)."""
    return list(db.session.scalars(sa.select(Series).where(Series.manager_id == series.manager_id,
                                                           Series.report_id == series.report_id)
                                   .order_by(Series.starts_at.desc())))
