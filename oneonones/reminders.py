"""Periodic one-on-one work for ``tick``: ending broken series, and tomorrow's reminders.

One job: what ``tasks.tick`` asks of one-on-ones, idempotent and safe to run on several hosts
at once. A reminder is queued once per person and meeting (its outbox dedupe key).

May import: ``extensions``, ``flask``, ``babel``, ``mail``, ``oneonones.models``,
``oneonones.schedule``, ``oneonones.occurrences``, ``oneonones.access``, ``oneonones.agenda``,
``people.models``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date, format_time
from flask import current_app

from extensions import db
from mail import services as mail
from oneonones import schedule
from oneonones.access import end_broken_series
from oneonones.agenda import agenda
from oneonones.models import Series
from oneonones.occurrences import Occurrence, exceptions_of, occurrences
from people.models import Person

REMINDER_AHEAD = timedelta(hours=24)


def _reminder_key(series: Series, occurrence: Occurrence, person: Person) -> str:
    return f"1on1-reminder:{series.id}:{schedule.occurrence_key(occurrence.starts_at)}:{person.id}"


def _queue_reminder(series: Series, occurrence: Occurrence, person: Person, other: Person, now: datetime) -> None:
    """The reminder of ``occurrence`` to ``person``, in their language and time zone, with the open agenda."""
    items = [row.item.text for row in agenda(series, occurrence) if not row.item.done_occurrence]
    tz = ZoneInfo(person.timezone or series.timezone)
    locale = person.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    local = occurrence.starts_at.astimezone(tz)
    subject, text, html = mail.render(
        "oneonone_reminder", person.locale, person=person, other=other, timezone=tz.key,
        day=format_date(local.date(), "full", locale=locale),
        short_day=format_date(local.date(), "medium", locale=locale),
        time=format_time(local, "short", tzinfo=tz, locale=locale),
        minutes=int((occurrence.ends_at - occurrence.starts_at).total_seconds() // 60),
        agenda=items, series_id=series.id, key=occurrence.key)
    mail.queue(person.email, subject, text, body_html=html, kind="oneonone_reminder",
               dedupe_key=_reminder_key(series, occurrence, person), now=now)


def queue_reminders(now: datetime) -> int:
    """Queue an e-mail to both people for each meeting starting in the next 24 hours; once each."""
    queued = 0
    active = db.session.scalars(sa.select(Series).where(Series.status == "active").order_by(Series.id)).all()
    exceptions = exceptions_of(s.id for s in active)
    for series in active:
        soon = [o for o in occurrences(series, now, now + REMINDER_AHEAD, exceptions=exceptions[series.id])
                if not o.cancelled]
        for occurrence in soon:
            for person, other in ((series.manager, series.report), (series.report, series.manager)):
                if person.active and mail.queue_once(_reminder_key(series, occurrence, person),
                                                     partial(_queue_reminder, series, occurrence, person, other, now)):
                    queued += 1
    return queued


def tick(now: datetime) -> dict[str, int]:
    """Periodic work due at ``now``; idempotent. Returns counts of what it did.

    Ends series whose reporting line changed, then queues tomorrow's
    reminders (``tasks.tick`` sends the outbox afterwards).
    """
    ended = end_broken_series(now)
    return {"series_ended": ended, "reminders": queue_reminders(now)}
