"""Reminders, the rewards' periodic work: overdue payments to HR, waiting decisions to the approver.

One job: ``tick`` queues reminders due at ``now``, each at most once (an outbox dedupe key), so it
is idempotent and safe to run from cron on several hosts at once; ``tasks.tick`` sends the outbox
afterwards.

May import: ``rewards.overview``, ``rewards.ledger``, ``rewards.notifications``,
``rewards.validators``, ``mail``, the models and the session. Only ``tasks`` imports it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from extensions import db
from mail import services as mail
from people.models import Person
from rewards.ledger import payment_due
from rewards.models import Milestone, MilestoneEvent, MilestonePlan
from rewards.notifications import queue_mail
from rewards.overview import approved_unpaid
from rewards.validators import local_today

OVERDUE_REMINDER_EVERY_DAYS = 7
DECISION_REMINDER_AFTER = timedelta(days=7)
# Past this, the approver is not reminded (again): it bounds the reminder by time, not only by the
# outbox's dedupe key, which purge_sent deletes 90 days after sending.
DECISION_REMINDER_UNTIL = timedelta(days=60)


def days_overdue(milestone: Milestone, now: datetime) -> int:
    """Days since the payment was due, counting a started day: 1 from the first second overdue."""
    late = now - payment_due(milestone)
    return late.days + (1 if late % timedelta(days=1) else 0)


def _queue_once(template: str, person: Person, plan: MilestonePlan, milestone: Milestone, key: str,
                now: datetime, **context: Any) -> bool:
    """Queue and commit one reminder unless ``key`` was queued before; True if this call queued it."""
    return mail.queue_once(key, lambda: queue_mail(template, person, plan, milestone, key, now, **context))


def queue_overdue_reminders(now: datetime) -> int:
    """E-mail every active HR administrator about each overdue payment, in their language; returns how many.

    Overdue is ``is_overdue``: approved and unpaid past the plan's payment terms. The first reminder goes
    out on the first tick after the payment falls due, then one every 7 days while it stays unpaid: an
    unpaid reward is money owed to someone, so a single e-mail that gets lost is not enough. The dedupe key
    is per milestone, HR administrator and week of lateness (days 1-7, 8-14, ...), so no tick, however
    often or on however many hosts it runs, queues a reminder twice in one week, and two never come a day
    apart. The plan's recipient is not reminded of their own payment: they cannot record it.
    """
    admin_ids = db.session.scalars(sa.select(Person.id).where(Person.role == "hr_admin", Person.active)
                                   .order_by(Person.id)).all()
    overdue = [(m.id, b.id if b else None) for m, late, b in approved_unpaid(now) if late]
    queued = 0
    for milestone_id, blocker_id in overdue:
        milestone = db.session.get(Milestone, milestone_id, populate_existing=True)
        if milestone.state != "approved":
            continue  # paid (or cancelled) since the list was read
        days = days_overdue(milestone, now)
        week = (days - 1) // OVERDUE_REMINDER_EVERY_DAYS
        for admin_id in admin_ids:
            if admin_id == milestone.plan.recipient_id:
                continue
            admin = db.session.get(Person, admin_id)
            queued += _queue_once(
                "reward_overdue", admin, milestone.plan, milestone, f"reward-overdue:{milestone.id}:{admin.id}:{week}",
                now, days=days, approved_on=local_today(admin, milestone.approved_at),
                due_on=local_today(admin, payment_due(milestone)),
                blocker=db.session.get(Milestone, blocker_id) if blocker_id else None,
                every=OVERDUE_REMINDER_EVERY_DAYS)
    return queued


def queue_decision_reminders(now: datetime) -> int:
    """Remind the approver, once per submission, of a milestone submitted more than 7 days ago; returns how many.

    A resubmission after changes were requested starts a new wait and may be reminded of again.
    Deactivated approvers are not e-mailed, and a submission waiting for more than 60 days is not (a
    tick that ran in between has reminded of it; this keeps the old outbox purge from re-arming it).
    """
    last_submit = (sa.select(MilestoneEvent.milestone_id, sa.func.max(MilestoneEvent.id).label("event_id"))
                   .where(MilestoneEvent.action == "submit").group_by(MilestoneEvent.milestone_id).subquery())
    waiting = db.session.execute(
        sa.select(Milestone.id, last_submit.c.event_id)
        .join(last_submit, last_submit.c.milestone_id == Milestone.id)
        .where(Milestone.state == "submitted", Milestone.state_changed_at < now - DECISION_REMINDER_AFTER,
               Milestone.state_changed_at >= now - DECISION_REMINDER_UNTIL)
        .order_by(Milestone.state_changed_at, Milestone.id)).all()
    queued = 0
    for milestone_id, event_id in waiting:
        milestone = db.session.get(Milestone, milestone_id)
        approver = milestone.plan.approver
        if not approver.active:
            continue
        queued += _queue_once(
            "reward_decision_reminder", approver, milestone.plan, milestone,
            f"reward-decision:{milestone.id}:{event_id}:{approver.id}", now,
            days=(now - milestone.state_changed_at).days,
            submitted_on=local_today(approver, milestone.state_changed_at))
    return queued


def tick(now: datetime) -> dict[str, int]:
    """Periodic work due at ``now``: reminders of overdue payments (to HR) and of decisions waiting for
    more than 7 days (to the approver). Idempotent; ``tasks.tick`` sends the outbox afterwards.
    Returns how many reminders of each kind were queued.
    """
    return {"overdue_payment_reminders": queue_overdue_reminders(now),
            "decision_reminders": queue_decision_reminders(now)}
