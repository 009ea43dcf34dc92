"""Reading a one-on-one's schedule from what a client sends: the one reader of a meeting's start.

A start comes either as ``starts_at`` (an ISO 8601 instant with its UTC offset: the API) or as
``starts_on`` + ``start_time`` (a date and a wall-clock time in the series' time zone: the
page's form). Both are read here, with the readers of ``inputs``, for a new series, a new
schedule and a moved meeting alike.

Clock changes (see ``oneonones.clock``):

- A wall-clock time that the series' time zone skips (02:30 on the spring change in Rome) is
  refused, naming the gap, rather than moved on by an hour as RFC 5545 would: the person meant
  a time that does not exist, and clients disagree on where it goes. From the API, a
  ``starts_at`` whose written time is in a gap and whose offset is one of the two around it
  ("2027-03-28T02:30:00+01:00" for Rome) means that same time and is refused too.
- A series repeats a wall-clock time, and RFC 5545 reads a repeated wall-clock time (02:30 on
  the autumn change) as its first occurrence. So a series cannot start at the second one; a
  single moved meeting can, since it is written as an instant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask_babel import gettext as _

from inputs import collect, invalid, read_choice, read_date, read_datetime, read_int, read_timezone
from oneonones import clock, schedule
from oneonones.models import CADENCES, MAX_DURATION, MIN_DURATION

DEFAULT_DURATION = 60
_TIME_OF_DAY = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2})?")


def read_time(value: Any, field: str) -> time:
    """A wall-clock time of day: a ``time`` without time zone, or ``HH:MM`` / ``HH:MM:SS`` text.

    (``inputs`` has no reader of a time of day; this is the one for one-on-ones.)
    """
    if value is None or value == "":
        raise invalid(field, _("This field is required."))
    if isinstance(value, str) and _TIME_OF_DAY.fullmatch(value.strip()):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    if isinstance(value, time) and value.tzinfo is None:
        return value
    raise invalid(field, _("Must be a time of day such as 09:30."))


def read_duration(value: Any, field: str, default: int) -> int:
    """A meeting's length in whole minutes, ``MIN_DURATION`` to ``MAX_DURATION``; ``default`` when absent.

    An int, from the API or a page alike (pages pass their text through ``inputs.form_int``).
    """
    minutes = read_int(value, field, low=MIN_DURATION, high=MAX_DURATION, required=False, from_text=False)
    return default if minutes is None else minutes


def _gap_message(change: clock.Change, wall: datetime, zone: str, locale: str) -> str:
    return _("There is no %(time)s on %(date)s in %(timezone)s: the clocks go forward from %(start)s to "
             "%(end)s. Choose another time.",
             time=format_time(wall.time(), "short", locale=locale),
             date=format_date(wall.date(), "full", locale=locale), timezone=zone,
             start=format_time(change.local_before.time(), "short", locale=locale),
             end=format_time(change.local_after.time(), "short", locale=locale))


def _repeat_message(change: clock.Change, wall: datetime, zone: str, locale: str) -> str:
    first = wall.replace(tzinfo=ZoneInfo(zone), fold=0)
    return _("%(time)s comes twice on %(date)s in %(timezone)s: the clocks go back from %(start)s to %(end)s. "
             "A series can start only at the first %(time)s (%(first)s); choose that or another time.",
             time=format_time(wall.time(), "short", locale=locale),
             date=format_date(wall.date(), "full", locale=locale), timezone=zone,
             start=format_time(change.local_before.time(), "short", locale=locale),
             end=format_time(change.local_after.time(), "short", locale=locale), first=first.isoformat())


def read_start(data: Mapping[str, Any], zone: str | None, locale: str, errors: dict[str, str], *,
               repeats: bool) -> tuple[datetime | None, str]:
    """A meeting's start as an aware UTC instant (to the minute), and the field it was read from.

    ``zone`` is the series' time zone (None when it could not be read: then only the shape is
    checked). ``repeats``: the start of a series, whose wall-clock time repeats, so the second
    of a repeated time is refused too. Problems are added to ``errors``; the instant is then None.
    """
    if "starts_at" in data:
        field = "starts_at"
        raw = data.get("starts_at")
        instant = collect(errors, read_datetime, raw, field)
        if instant is None or zone is None:
            return None, field
        # The time as written, with its offset: read_datetime succeeded, so this parses.
        written = datetime.fromisoformat(raw.strip()) if isinstance(raw, str) else raw
        wall = written.replace(tzinfo=None)
        change = clock.change_around(wall, zone)
        if change is not None and change.is_gap and written.utcoffset() in (change.before, change.after):
            errors[field] = _gap_message(change, wall, zone, locale)
            return None, field
    else:
        day = collect(errors, read_date, data.get("starts_on"), "starts_on")
        at = collect(errors, read_time, data.get("start_time"), "start_time")
        if day is None or at is None or zone is None:
            return None, "starts_on"
        field, wall = "starts_on", datetime.combine(day, at)
        change = clock.change_around(wall, zone)
        if change is not None and change.is_gap:
            errors["start_time"] = _gap_message(change, wall, zone, locale)
            return None, field
        instant = clock.resolve(wall, ZoneInfo(zone))  # a repeated time is its first: never a second pass
    instant = instant.replace(second=0, microsecond=0)
    if repeats and clock.is_second_pass(instant, zone):
        wall = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        errors[field] = _repeat_message(clock.change_around(wall, zone), wall, zone, locale)
        return None, field
    return instant, field


def clean_schedule(data: Mapping[str, Any], default_tz: str, now: datetime, locale: str,
                   errors: dict[str, str]) -> dict[str, Any]:
    """cadence, timezone, duration_minutes, the first meeting as ``starts_at`` (UTC) and its ``rrule``.

    Problems are added to ``errors`` by field; the values are then incomplete.
    """
    values: dict[str, Any] = {
        "cadence": collect(errors, read_choice, data.get("cadence"), "cadence", CADENCES),
        "timezone": collect(errors, read_timezone, data.get("timezone") or default_tz, "timezone"),
        "duration_minutes": collect(errors, read_duration, data.get("duration_minutes"), "duration_minutes",
                                    DEFAULT_DURATION),
    }
    starts_at, field = read_start(data, values["timezone"], locale, errors, repeats=True)
    if starts_at is not None and starts_at <= now:
        errors[field] = _("The first meeting must be in the future.")
    values["starts_at"] = starts_at
    if not errors:
        local = starts_at.astimezone(ZoneInfo(values["timezone"]))
        values["rrule"] = schedule.build_rrule(values["cadence"], local)
    return values


def clean_move(data: Mapping[str, Any], zone: str, default_duration: int, locale: str,
               errors: dict[str, str]) -> tuple[tuple[datetime, datetime] | None, str]:
    """A moved meeting's new ``(start, end)`` in UTC and the field its start was read from."""
    duration = collect(errors, read_duration, data.get("duration_minutes"), "duration_minutes", default_duration)
    begins, field = read_start(data, zone, locale, errors, repeats=False)
    if begins is None or duration is None:
        return None, field
    return (begins, begins + timedelta(minutes=duration)), field

