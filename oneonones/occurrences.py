"""The meetings of a one-on-one series: what happens when, with moves and cancellations applied.

One job: expand a series' RRULE (``oneonones.schedule``) over a window and lay its
``OccurrenceException`` rows (a moved or cancelled meeting) over it, and name one meeting by
its key. Reads only; nothing here writes.

May import: ``errors``, ``extensions``, ``inputs``, ``oneonones.models``, ``oneonones.schedule``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from errors import NotFound
from extensions import db
from inputs import MAX_DATE, MIN_DATE
from oneonones import schedule
from oneonones.models import OccurrenceException, Series

HISTORY_WINDOW = timedelta(days=366)
MAX_RANGE = timedelta(days=2 * 366)


@dataclass(frozen=True)
class Occurrence:
    """One meeting of a series. ``original_start`` names it; ``starts_at`` is when it happens."""

    series_id: int
    original_start: datetime
    starts_at: datetime
    ends_at: datetime
    status: str  # scheduled | moved | cancelled

    @property
    def key(self) -> str:
        return schedule.occurrence_key(self.original_start)

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


IN_CHUNK = 5000


def exceptions_of(series_ids: Iterable[int]) -> dict[int, dict[datetime, OccurrenceException]]:
    """The moved and cancelled meetings of these series: series id → original start → row."""
    ids = list(series_ids)
    found: dict[int, dict[datetime, OccurrenceException]] = {i: {} for i in ids}
    # In chunks: one IN list of every active series (the reminders' tick) would pass PostgreSQL's
    # 65,535 parameters at a company of 100,000 (SQLite allows 32,766).
    for start in range(0, len(ids), IN_CHUNK):
        for row in db.session.scalars(sa.select(OccurrenceException)
                                      .where(OccurrenceException.series_id.in_(ids[start:start + IN_CHUNK]))):
            found[row.series_id][row.original_start] = row
    return found


def occurrences(series: Series, start: datetime, end: datetime, *, ignore_pause: bool = False,
                exceptions: Mapping[datetime, OccurrenceException] | None = None) -> list[Occurrence]:
    """The series' occurrences happening in ``[start, end)``, cancelled ones included, by start time.

    A moved occurrence is listed where it now happens, so it may come from
    outside the window, or leave it. Nothing at or after the series' end (or,
    unless ``ignore_pause``, its pause) is listed.
    """
    if exceptions is None:
        exceptions = exceptions_of([series.id])[series.id]
    until = series.until(ignore_pause=ignore_pause)
    found: list[Occurrence] = []
    regular = schedule.expand(series.rrule, series.starts_at, series.timezone, series.duration_minutes,
                              start, end, until=until)
    for begins, ends in regular:
        exception = exceptions.get(begins)
        if exception is None:
            found.append(Occurrence(series.id, begins, begins, ends, "scheduled"))
        elif exception.status == "cancelled":
            found.append(Occurrence(series.id, begins, begins, ends, "cancelled"))
    for original, exception in exceptions.items():
        if exception.status == "moved" and start <= exception.starts_at < end \
                and (until is None or original < until):
            found.append(Occurrence(series.id, original, exception.starts_at, exception.ends_at, "moved"))
    found.sort(key=lambda o: (o.starts_at, o.original_start))
    return found


def find_occurrence(series: Series, key: str) -> Occurrence:
    """The occurrence named by ``key`` (its original start, as in the URL).

    :raise NotFound: the key is malformed or names no occurrence of this series.
    """
    original = schedule.parse_occurrence_key(key)
    # Outside the supported years no meeting can be due, and date arithmetic there overflows.
    if original is not None and MIN_DATE <= original.date() <= MAX_DATE:
        until = series.until()
        if schedule.expand(series.rrule, series.starts_at, series.timezone, series.duration_minutes,
                           original, original + timedelta(seconds=1), until=until):
            exception = db.session.scalar(sa.select(OccurrenceException).where(
                OccurrenceException.series_id == series.id, OccurrenceException.original_start == original))
            ends = original + timedelta(minutes=series.duration_minutes)
            if exception is None:
                return Occurrence(series.id, original, original, ends, "scheduled")
            if exception.status == "cancelled":
                return Occurrence(series.id, original, original, ends, "cancelled")
            return Occurrence(series.id, original, exception.starts_at, exception.ends_at, "moved")
    raise NotFound(_("No such meeting in this one-on-one series."))


def next_occurrence(series: Series, now: datetime) -> Occurrence | None:
    """The next meeting that is not cancelled and has not ended yet."""
    if series.status != "active":
        return None
    horizon = now
    for _attempt in range(4):
        found = [o for o in occurrences(series, horizon - timedelta(days=1), horizon + timedelta(days=120))
                 if not o.cancelled and o.ends_at > now]
        if found:
            return found[0]
        horizon += timedelta(days=120)
    return None


def upcoming(series: Series, now: datetime, limit: int = 6) -> list[Occurrence]:
    found = [o for o in occurrences(series, now - timedelta(days=1), now + timedelta(days=200)) if o.ends_at > now]
    return found[:limit]


def recent(series: Series, now: datetime, limit: int = 6) -> list[Occurrence]:
    found = [o for o in occurrences(series, now - HISTORY_WINDOW, now) if o.ends_at <= now]
    return found[-limit:][::-1]


def neighbours(series: Series, occurrence: Occurrence) -> tuple[Occurrence | None, Occurrence | None]:
    """The occurrences just before and after this one in the series, by original start."""
    here = occurrence.original_start
    before = occurrences(series, here - timedelta(days=62), here)
    after = occurrences(series, here + timedelta(seconds=1), here + timedelta(days=62))
    before = [o for o in before if o.original_start < here]
    after = [o for o in after if o.original_start > here]
    return (max(before, key=lambda o: o.original_start) if before else None,
            min(after, key=lambda o: o.original_start) if after else None)
