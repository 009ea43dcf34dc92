"""E-mail about milestone rewards, rendered in the addressee's language and written to the outbox.

One job: queue the message for whoever acts next, in the caller's transaction (the caller commits;
``tasks.tick`` sends the outbox, so an SMTP outage loses nothing).

May import: ``mail`` and the models. Plans, editing, the state machine and the reminders import
this module; it imports none of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

from mail import services as mail
from people.models import Person
from rewards.models import Milestone, MilestoneEvent, MilestonePlan


def queue_mail(template: str, person: Person, plan: MilestonePlan, milestone: Milestone | None, key: str,
               now: datetime, **context: Any) -> None:
    # Rendered now, in the person's language: e-mail is read outside their session.
    subject, text, html = mail.render(
        template, person.locale, person=person, plan=plan, milestone=milestone,
        company=current_app.config["POLSO_COMPANY_NAME"], **context)
    mail.queue(person.email, subject, text, body_html=html, kind=template, dedupe_key=key, now=now)


def notify(milestone: Milestone, plan: MilestonePlan, event: MilestoneEvent, actor: Person,
           now: datetime) -> None:
    """Tell the person who acts next: the approver on submission, the recipient on a decision or payout."""
    if event.action == "submit":
        queue_mail("reward_submitted", plan.approver, plan, milestone, f"reward:{event.id}:{plan.approver_id}",
                   now, actor=actor, event=event)
    elif event.action in ("approve", "request-changes", "pay"):
        queue_mail("reward_update", plan.recipient, plan, milestone, f"reward:{event.id}:{plan.recipient_id}",
                   now, actor=actor, event=event)
