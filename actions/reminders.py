"""Overdue actions remind their owner through the outbox, once a day while they stay overdue.

``tick`` is idempotent: each reminder has the dedupe key ``action-overdue:<id>:<owner>:<day>`` (the
owner's local day), so however often and on however many hosts ``tasks.tick`` runs, an owner gets
at most one reminder per action per day. ``tasks.tick`` sends the outbox afterwards. Only planned
and in-progress actions are overdue: done and dropped ones are finished. The e-mail names the
action and its due date, never a figure.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from actions.models import OPEN_STATUSES, Action
from extensions import db
from mail import services as mail
from people.models import Person

_ONE_DAY = timedelta(days=1)  # the owner's day may be ahead of UTC's


def local_day(person: Person, now: datetime) -> date:
    return now.astimezone(ZoneInfo(person.timezone or "UTC")).date()


def is_overdue(action: Action, now: datetime) -> bool:
    return (action.status in OPEN_STATUSES and action.due_on is not None
            and action.due_on < local_day(action.owner, now))


def _queue(action: Action, key: str, today: date, now: datetime) -> None:
    owner = action.owner
    subject, text, html = mail.render(
        "action_overdue", owner.locale, person=owner, action=action, days=(today - action.due_on).days,
        company=current_app.config["POLSO_COMPANY_NAME"])
    mail.queue(owner.email, subject, text, body_html=html, kind="action_overdue", dedupe_key=key,
               now=now)


def queue_overdue_reminders(now: datetime) -> int:
    """Queue (and commit) a reminder to the owner of each overdue action not yet reminded today; returns how many."""
    candidates = db.session.scalars(sa.select(Action.id).where(
        Action.status.in_(OPEN_STATUSES), Action.due_on.is_not(None), Action.due_on < now.date() + _ONE_DAY)
        .order_by(Action.id)).all()
    queued = 0
    for action_id in candidates:
        action = db.session.get(Action, action_id)
        if not action.owner.active or not is_overdue(action, now):
            continue
        today = local_day(action.owner, now)
        key = f"action-overdue:{action.id}:{action.owner_id}:{today.isoformat()}"
        queued += mail.queue_once(key, lambda a=action, k=key, t=today: _queue(a, k, t, now))
    return queued


def tick(now: datetime) -> dict[str, int]:
    """Periodic work due at ``now``: reminders of overdue actions. Returns how many were queued."""
    return {"overdue_action_reminders": queue_overdue_reminders(now)}
