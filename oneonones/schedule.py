"""Occurrence arithmetic for one-on-one series: RFC 5545 RRULEs expanded with python-dateutil.

Pure functions: no Flask, no database. A rule is expanded in local wall-clock
time in the series' time zone and each occurrence is then converted to UTC,
so a 10:00 meeting in Europe/Rome stays at 10:00 local across daylight-saving
changes (09:00 UTC in winter, 08:00 UTC in summer), as calendar clients do.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
KEY_FORMAT = "%Y%m%dT%H%M%SZ"


def build_rrule(cadence: str, local_start: datetime) -> str:
    """The RRULE (without DTSTART) for a cadence, anchored on the first meeting's local date.

    Weekly and biweekly meet on the first meeting's weekday. Monthly meets on
    the same weekday of the month ("the second Tuesday"; "the last Friday"
    from the 29th on), so a meeting never falls on a weekend or vanishes in
    short months as "the 31st" would.
    """
    day = WEEKDAYS[local_start.weekday()]
    if cadence == "weekly":
        return f"FREQ=WEEKLY;BYDAY={day}"
    if cadence == "biweekly":
        return f"FREQ=WEEKLY;INTERVAL=2;BYDAY={day}"
    if cadence == "monthly":
        nth = (local_start.day - 1) // 7 + 1
        return f"FREQ=MONTHLY;BYDAY={-1 if nth == 5 else nth}{day}"
    raise ValueError(f"unknown cadence {cadence!r}")


def _rule_parts(rule: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in rule.split(";") if "=" in part)


def _fast_forward(rule: str, dtstart: datetime, target: datetime) -> datetime:
    """A later local start from which the rule yields the same occurrences on or after ``target``.

    Only for the rules ``build_rrule`` writes: whole multiples of the
    interval for weekly rules, the first of a month for monthly ones. It
    keeps expansion cost proportional to the window, not to the series' age.
    """
    parts = _rule_parts(rule)
    interval = int(parts.get("INTERVAL", "1"))
    if target <= dtstart:
        return dtstart
    if parts.get("FREQ") == "WEEKLY" and set(parts) <= {"FREQ", "INTERVAL", "BYDAY"}:
        step = 7 * interval
        periods = (target - dtstart).days // step - 1
        return dtstart + timedelta(days=step * periods) if periods > 0 else dtstart
    if parts.get("FREQ") == "MONTHLY" and interval == 1 and set(parts) <= {"FREQ", "INTERVAL", "BYDAY"}:
        months = (target.year - dtstart.year) * 12 + target.month - dtstart.month - 1
        if months > 0:
            return (dtstart + relativedelta(months=months)).replace(day=1)
    return dtstart


def expand(rule: str, starts_at: datetime, timezone: str, duration_minutes: int, start: datetime,
           end: datetime, *, until: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """Occurrences ``(start, end)`` in UTC whose start lies in ``[start, end)`` and before ``until``.

    ``starts_at`` is the first occurrence (DTSTART) as an aware instant; its
    wall-clock time in ``timezone`` is what repeats. A local time that does
    not exist (the hour skipped in spring) is read with the offset before the
    gap, as RFC 5545 prescribes.
    """
    tz = ZoneInfo(timezone)
    if until is not None:
        end = min(end, until)
    if end <= start:
        return []
    local_first = starts_at.astimezone(tz).replace(tzinfo=None)
    # The window in local time, padded: offsets differ by at most a day.
    low = start.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    high = end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    dtstart = _fast_forward(rule, local_first, low)
    length = timedelta(minutes=duration_minutes)
    out = []
    for local in rrulestr(rule, dtstart=dtstart).between(low, high, inc=True):
        at = local.replace(tzinfo=tz).astimezone(UTC)
        if start <= at < end and at >= starts_at:
            out.append((at, at + length))
    return out


def occurrence_key(original_start: datetime) -> str:
    """The URL-safe name of an occurrence: its original start in UTC, as in iCalendar."""
    return original_start.astimezone(UTC).strftime(KEY_FORMAT)


def parse_occurrence_key(key: str) -> datetime | None:
    try:
        return datetime.strptime(key, KEY_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def local_datetime(day, time_of_day, timezone: str) -> datetime:
    """A wall-clock date and time in ``timezone`` as an aware UTC instant."""
    return datetime.combine(day, time_of_day).replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)
