"""Periodic one-on-one work for ``tick``: ending broken series, and tomorrow's reminders.

One job: what ``tasks.tick`` asks of one-on-ones, idempotent and safe to run on several hosts
at once. A reminder is queued once per person and meeting (its outbox dedupe key).

May import: ``extensions``, ``flask``, ``babel``, ``mail``, ``oneonones.models``,
``oneonones.schedule``, ``oneonones.occurrences``, ``oneonones.access``, ``oneonones.agenda``,
``people.models``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
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


def _reminder(series: Series, occurrence: Occurrence, person: Person, other: Person, items: list[str],
              key: str) -> dict:
    """The reminder of ``occurrence`` to ``person``, in their language and time zone, with the open agenda."""
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
    return {"to": person.email, "subject": subject, "body_text": text, "body_html": html,
            "kind": "oneonone_reminder", "dedupe_key": key}


# Reminders per transaction: a crash loses at most this many (the next tick queues them), and one
# commit serves them all instead of one each.
REMINDER_BATCH = 200


def queue_reminders(now: datetime) -> int:
    """Queue an e-mail to both people for each meeting starting in the next 24 hours; once each.

    The keys already in the outbox are looked up together, so a repeated tick renders nothing; the
    rest are rendered (each meeting's agenda read once for both people) and queued in batches of
    ``REMINDER_BATCH``, each committed. A key queued meanwhile by a concurrent tick on another host is
    skipped by the outbox (``mail.queue_many``), so nobody is reminded twice.
    """
    active = db.session.scalars(sa.select(Series).where(Series.status == "active").order_by(Series.id)
                                .options(so.joinedload(Series.manager), so.joinedload(Series.report))).all()
    exceptions = exceptions_of(s.id for s in active)
    due = []  # (series, occurrence, [(person, other, key)])
    for series in active:
        for occurrence in occurrences(series, now, now + REMINDER_AHEAD, exceptions=exceptions[series.id]):
            if occurrence.cancelled:
                continue
            pairs = [(person, other, _reminder_key(series, occurrence, person))
                     for person, other in ((series.manager, series.report), (series.report, series.manager))
                     if person.active]
            if pairs:
                due.append((series, occurrence, pairs))
    already = mail.queued_keys([key for _series, _occurrence, pairs in due for _p, _o, key in pairs])
    queued = 0
    batch: list[dict] = []
    for series, occurrence, pairs in due:
        pairs = [pair for pair in pairs if pair[2] not in already]
        if not pairs:
            continue
        items = [row.item.text for row in agenda(series, occurrence) if not row.item.done_occurrence]
        batch += [_reminder(series, occurrence, person, other, items, key) for person, other, key in pairs]
        if len(batch) >= REMINDER_BATCH:
            queued += _queue_batch(batch, now)
            batch = []
    if batch:
        queued += _queue_batch(batch, now)
    return queued


def _queue_batch(batch: list[dict], now: datetime) -> int:
    queued = mail.queue_many(batch, now=now)
    db.session.commit()
    return queued


def tick(now: datetime) -> dict[str, int]:
    """Periodic work due at ``now``; idempotent. Returns counts of what it did.

    Ends series whose reporting line changed, then queues tomorrow's
    reminders (``tasks.tick`` sends the outbox afterwards).
    """
    ended = end_broken_series(now)
    return {"series_ended": ended, "reminders": queue_reminders(now)}
