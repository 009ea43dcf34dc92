"""A person's one-on-ones as an iCalendar (RFC 5545) document, built with ``icalendar``.

One VEVENT per series carries its RRULE (with UNTIL once the series ends or pauses),
DTSTART with the series' TZID, DTEND and an EXDATE per cancelled meeting; each moved meeting
is a VEVENT of its own with the same UID and a RECURRENCE-ID naming the meeting it replaces.
Only times and names leave Polso this way: no agenda, no notes.

What every client reads the same way as the occurrences API:

- The VTIMEZONEs are yearly rules (``oneonones.vtimezone``), right for ever, not a list of
  dates that ends.
- A meeting that meets a clock change (it starts in a skipped or repeated hour, or the
  offset changes before it ends) is written out as its own VEVENT with its real start and
  end, in UTC where the wall clock would be ambiguous: clients disagree on those hours (ical.js
  reads a repeated time as the second one, RFC 5545 as the first) and add a length to the
  wall clock, where the API counts real minutes. Such meetings are found up to
  ``HORIZON_YEARS`` ahead; the feed is read again long before that.
- RECURRENCE-ID and EXDATE name a meeting by the wall-clock time its RRULE gives, even where
  that time is skipped, so that every client matches them to the meeting it expanded.
- SEQUENCE, LAST-MODIFIED and DTSTAMP are the series' revision (``Series.sequence``, raised
  by each change to it or to one of its meetings) and when it last changed, so the same
  state always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event, vRecur

from oneonones import clock, schedule
from oneonones.models import OccurrenceException, Series
from oneonones.vtimezone import vtimezone
from people.models import Person

HORIZON_YEARS = 10


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(microsecond=0)


def _span(begins: datetime, ends: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A meeting's start and end in the series' time zone where both wall clocks are clear, else in UTC."""
    local = begins.astimezone(tz), ends.astimezone(tz)
    if all(clock.is_clear(t.replace(tzinfo=None), tz) for t in local):
        return local
    return _utc(begins), _utc(ends)


def _wall_clock(original: datetime, time_of_day: time, tz: ZoneInfo) -> datetime:
    """The wall-clock time (aware, possibly skipped) the RRULE gives for the meeting due at ``original``.

    Every rule here repeats DTSTART's time of day; a skipped one is read later by the gap,
    so the meeting's date is that of ``original`` or the day before.
    """
    local = original.astimezone(tz)
    for day in (local.date(), local.date() - timedelta(days=1)):
        wall = datetime.combine(day, time_of_day)
        if clock.resolve(wall, tz) == original.astimezone(UTC):
            return wall.replace(tzinfo=tz)
    return local  # pragma: no cover - every original start comes from the rule


class _Writer:
    def __init__(self, person: Person, now: datetime):
        self.person = person
        self.base = current_app.config["POLSO_BASE_URL"].rstrip("/")
        self.host = urlsplit(self.base).hostname or "polso"
        self.horizon = now + timedelta(days=366 * HORIZON_YEARS)
        self.first_year = now.year + HORIZON_YEARS  # lowered to the earliest meeting written

    def event(self, series: Series, begins: datetime, *, ends: datetime | None = None,
              length: timedelta | None = None) -> Event:
        other = series.report if self.person.id == series.manager_id else series.manager
        url = f"{self.base}/one-on-ones/{series.id}"
        event = Event()
        event.add("uid", f"oneonone-{series.id}@{self.host}")
        # The revision's time, not the clock's: an unchanged series gives unchanged bytes (the ETag).
        event.add("dtstamp", _utc(series.modified_at))
        event.add("created", _utc(series.created_at))
        event.add("last-modified", _utc(series.modified_at))
        event.add("sequence", series.sequence)
        event.add("summary", _("One-on-one with %(name)s", name=other.name))
        event.add("dtstart", begins)
        if ends is not None:
            event.add("dtend", ends)
        else:
            event.add("duration", length)
        event.add("url", url)
        event.add("description", url)
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        self.first_year = min(self.first_year, begins.year)
        return event

    def series_events(self, series: Series, exceptions: Mapping[datetime, OccurrenceException]) -> list[Event]:
        until = series.until()
        if until is not None and until <= series.starts_at:
            return []  # ended or paused before its first meeting: nothing to show
        tz = ZoneInfo(series.timezone)
        length = timedelta(minutes=series.duration_minutes)
        first = series.starts_at.astimezone(tz)
        first_wall = _wall_clock(series.starts_at, first.time().replace(tzinfo=None), tz)
        time_of_day = first_wall.time().replace(tzinfo=None)
        if clock.touches_change(first_wall.replace(tzinfo=None), length, tz):
            # DTEND − DTSTART would count the change; a client then gets every later meeting's length wrong.
            master = self.event(series, first_wall, length=length)
        else:
            master = self.event(series, first_wall, ends=(series.starts_at + length).astimezone(tz))
        rule = vRecur.from_ical(series.rrule)
        if until is not None:
            # UNTIL is inclusive and, with a TZID'd DTSTART, given in UTC.
            rule["UNTIL"] = [_utc(until - timedelta(seconds=1))]
        master.add("rrule", rule)
        live = {start: row for start, row in exceptions.items() if until is None or start < until}
        # One EXDATE line each: a comma-separated list is where some readers take only the first.
        for start in sorted(start for start, row in live.items() if row.status == "cancelled"):
            master.add("exdate", _wall_clock(start, time_of_day, tz))
        events = [master]
        replaced = {start: (row.starts_at, row.ends_at) for start, row in live.items() if row.status == "moved"}
        replaced.update({start: slot for start, slot in self._at_clock_changes(series, tz, time_of_day, until).items()
                         if start not in live})
        for start, (begins, ends) in sorted(replaced.items()):
            begins, ends = _span(begins, ends, tz)
            override = self.event(series, begins, ends=ends)
            override.add("recurrence-id", _wall_clock(start, time_of_day, tz))
            events.append(override)
        return events

    def _at_clock_changes(self, series: Series, tz: ZoneInfo, time_of_day: time,
                          until: datetime | None) -> dict[datetime, tuple[datetime, datetime]]:
        """The series' meetings, up to the horizon, that meet a clock change: original start → (start, end)."""
        length = timedelta(minutes=series.duration_minutes)
        end = min(until, self.horizon) if until is not None else self.horizon
        found = {}
        for change in clock.changes(series.timezone, series.starts_at.year, end.year):
            if change.at < series.starts_at - timedelta(days=1) or change.at > end + timedelta(days=1):
                continue
            near = schedule.expand(series.rrule, series.starts_at, series.timezone, series.duration_minutes,
                                   change.at - length - timedelta(days=1), change.at + timedelta(days=1),
                                   until=until)
            for begins, ends in near:
                wall = _wall_clock(begins, time_of_day, tz).replace(tzinfo=None)
                if clock.touches_change(wall, length, tz):
                    found[begins] = (begins, ends)
        return found


def build_calendar(person: Person, series_list: Sequence[Series],
                   exceptions: Mapping[int, Mapping[datetime, OccurrenceException]], now: datetime) -> bytes:
    """The feed of ``person``: every series they are in, from their side (named after the other person)."""
    writer = _Writer(person, now)
    calendar = Calendar()
    calendar.add("prodid", "-//Polso//One-on-ones//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    events = []
    with force_locale(person.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        calendar.add("x-wr-calname", _("One-on-ones (Polso)"))
        calendar.add("x-published-ttl", "PT1H")
        zones = set()
        for series in sorted(series_list, key=lambda s: s.id):
            found = writer.series_events(series, exceptions.get(series.id, {}))
            if found:
                zones.add(series.timezone)
                events.extend(found)
    for zone in sorted(zones):
        calendar.add_component(vtimezone(zone, writer.first_year - 1, writer.horizon.year))
    for event in events:
        calendar.add_component(event)
    return calendar.to_ical()
