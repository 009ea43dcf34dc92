"""The e-mail telling the report what their manager changed in a one-on-one.

One job: the report is told when the manager moves, cancels or restores a meeting, or pauses,
resumes, reschedules or ends the series. The message is queued in the same transaction as the
change (the caller commits both), once per change, never when nothing changed (the callers
decide that), and never to someone who has left.

May import: ``flask``, ``babel``, ``mail.services``, ``oneonones.models``,
``oneonones.occurrences``, ``oneonones.schedule``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import current_app

from mail import services as mail
from oneonones import schedule
from oneonones.models import Series
from oneonones.occurrences import Occurrence


def _slot_for(occurrence: Occurrence | None, tz: ZoneInfo, locale: str) -> dict[str, str] | None:
    """A meeting's date and times in ``tz`` and ``locale``; the template words them in the same language."""
    if occurrence is None:
        return None
    local = occurrence.starts_at.astimezone(tz)
    return {"day": format_date(local.date(), "full", locale=locale),
            "short_day": format_date(local.date(), "medium", locale=locale),
            "start": format_time(local, "short", tzinfo=tz, locale=locale),
            "end": format_time(occurrence.ends_at, "short", tzinfo=tz, locale=locale)}


def tell_report(series: Series, change: str, now: datetime, *, old: Occurrence | None = None,
                 new: Occurrence | None = None, occurrence: Occurrence | None = None) -> None:
    """Queue the e-mail telling the report what the manager changed; the caller commits it with the change.

    ``change`` is moved, cancelled or reinstated (one meeting: ``occurrence``,
    linked to its page) or paused, resumed, rescheduled or ended (the series,
    linked to its page). ``old`` is the meeting as it was (for a pause or an end: the
    next meeting, which no longer takes place), ``new`` as it is now (for a
    resumption or a new schedule: the next meeting). Rendered as the reminder is: in the
    report's language and time zone.
    """
    person, manager = series.report, series.manager
    if not person.active:
        return  # as with the reminders: no e-mail to someone who has left
    tz = ZoneInfo(person.timezone or series.timezone)
    locale = person.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    key = occurrence.key if occurrence else None
    subject, text, html = mail.render(
        "oneonone_change", person.locale, person=person, other=manager, change=change, timezone=tz.key,
        old=_slot_for(old, tz, locale), new=_slot_for(new, tz, locale),
        series_id=series.id, key=key)
    # The change's time makes the key unique per change; the slot tells two moves apart within one instant.
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    slot = schedule.occurrence_key(new.starts_at) if new and occurrence else "-"
    mail.queue(person.email, subject, text, body_html=html, kind=f"oneonone_{change}",
               dedupe_key=f"1on1-{change}:{series.id}:{key or '-'}:{slot}:{stamp}", now=now)
