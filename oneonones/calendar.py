"""A person's one-on-ones as an iCalendar (RFC 5545) document, built with ``icalendar``.

One VEVENT per series carries its RRULE (with UNTIL once the series ends or
pauses), DTSTART/DTEND with the series' TZID and an EXDATE per cancelled
meeting; each moved meeting is a VEVENT of its own with the same UID and a
RECURRENCE-ID naming the meeting it replaces. The VTIMEZONEs are included.
Only times and names leave Polso this way: no agenda, no notes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event, vRecur

from oneonones.models import OccurrenceException, Series
from people.models import Person


def _event(uid: str, summary: str, url: str, begins: datetime, ends: datetime, now: datetime) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now)
    event.add("summary", summary)
    event.add("dtstart", begins)
    event.add("dtend", ends)
    event.add("url", url)
    event.add("description", url)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def build_calendar(person: Person, series_list: Sequence[Series],
                   exceptions: Mapping[int, Mapping[datetime, OccurrenceException]], now: datetime) -> bytes:
    """The feed of ``person``: every series they are in, from their side (named after the other person)."""
    base = current_app.config["POLSO_BASE_URL"].rstrip("/")
    host = urlsplit(base).hostname or "polso"
    now = now.astimezone(UTC).replace(microsecond=0)
    calendar = Calendar()
    calendar.add("prodid", "-//Polso//One-on-ones//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    first_date = now.date()
    with force_locale(person.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        calendar.add("x-wr-calname", _("One-on-ones (Polso)"))
        calendar.add("x-published-ttl", "PT1H")
        for series in series_list:
            until = series.until()
            if until is not None and until <= series.starts_at:
                continue  # ended or paused before its first meeting: nothing to show
            tz = ZoneInfo(series.timezone)
            length = timedelta(minutes=series.duration_minutes)
            other = series.report if person.id == series.manager_id else series.manager
            summary = _("One-on-one with %(name)s", name=other.name)
            uid = f"oneonone-{series.id}@{host}"
            url = f"{base}/one-on-ones/{series.id}"
            begins = series.starts_at.astimezone(tz)
            master = _event(uid, summary, url, begins, begins + length, now)
            rule = vRecur.from_ical(series.rrule)
            if until is not None:
                # UNTIL is inclusive and, with a TZID'd DTSTART, given in UTC.
                rule["UNTIL"] = [(until - timedelta(seconds=1)).astimezone(UTC)]
            master.add("rrule", rule)
            own = exceptions.get(series.id, {})
            live = {start: row for start, row in own.items() if until is None or start < until}
            cancelled = sorted(start.astimezone(tz) for start, row in live.items() if row.status == "cancelled")
            if cancelled:
                master.add("exdate", cancelled)
            calendar.add_component(master)
            for start, row in sorted(live.items()):
                if row.status != "moved":
                    continue
                moved = _event(uid, summary, url, row.starts_at.astimezone(tz), row.ends_at.astimezone(tz), now)
                moved.add("recurrence-id", start.astimezone(tz))
                moved.add("sequence", 1)
                calendar.add_component(moved)
            first_date = min(first_date, series.starts_at.date())
    calendar.add_missing_timezones(first_date=first_date - timedelta(days=366),
                                   last_date=now.date() + timedelta(days=5 * 366))
    return calendar.to_ical()
