"""Milestone plans: creating one, finding one, who may see it, and the version of its terms.

One job: a plan's life before the state machine: HR creates it in ``draft`` with its ordered
milestones (recipient and approver are then asked to agree), and pages and the API look it up
through ``get_plan``, ``visible_plan`` and ``can_view``. ``terms_version`` changes whenever HR sets
the terms, so nobody agrees to terms changed after they read them.

Every refusal raises from ``errors`` before anything is written: ``Forbidden`` (403) for the wrong
person, ``NotFound`` (404), ``ValidationError`` (422) naming each bad field.

May import: ``rewards.money``, ``rewards.validators``, ``rewards.notifications``, ``audit``, the models
and the session; not the state machine, editing, the overview or the reminders (they import this).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

import audit
import inputs
from errors import Forbidden, ValidationError, get_or_raise
from extensions import db
from people.models import Person
from rewards.models import Milestone, MilestoneEvent, MilestonePlan
from rewards.money import clean_amount_minor, clean_currency
from rewards.notifications import queue_mail
from rewards.validators import MAX_TEXT, MAX_TITLE, clean_date, clean_text, default_payment_terms, local_today

MAX_MILESTONES = 24


def _person(raw: Any, name: str, errors: dict[str, str]) -> Person | None:
    if not isinstance(raw, str) or not raw.strip():
        errors[name] = _("An e-mail address is required.")
        return None
    person = db.session.scalar(sa.select(Person).where(Person.email == inputs.email_key(raw)))
    if person is None:
        errors[name] = _("Nobody has this e-mail address.")
    elif not person.active:
        errors[name] = _("This person is deactivated.")
    else:
        return person
    return None


def clean_milestones(raw: Any, starts_on: date | None, errors: dict[str, str]) -> list[dict[str, Any]]:
    raw = inputs.collect(errors, inputs.read_list, raw, "milestones", most=MAX_MILESTONES,
                         empty=_("A plan needs at least one milestone."),
                         too_many=_("A plan has at most %(max)s milestones.", max=MAX_MILESTONES))
    if raw is None:
        return []
    cleaned = []
    for index, item in enumerate(raw):
        prefix = f"milestones.{index}"
        if not isinstance(item, Mapping):
            errors[prefix] = _("Must be an object with title, criteria, amount_minor and due_on.")
            continue
        title = clean_text(item.get("title"), f"{prefix}.title", errors, required=_("A title is required."),
                           limit=MAX_TITLE)
        criteria = clean_text(item.get("criteria"), f"{prefix}.criteria", errors,
                              required=_("Write the measurable criteria that show the milestone is reached."),
                              limit=MAX_TEXT)
        amount = clean_amount_minor(item.get("amount_minor"), f"{prefix}.amount_minor", errors)
        due_on = clean_date(item.get("due_on"), f"{prefix}.due_on", errors)
        if due_on is not None and starts_on is not None and due_on < starts_on:
            errors[f"{prefix}.due_on"] = _("The due date cannot be before the plan starts (%(date)s).",
                                           date=starts_on.isoformat())
        cleaned.append({"position": index + 1, "title": title, "criteria": criteria, "amount_minor": amount,
                        "due_on": due_on})
    return cleaned


def create_plan(data: Mapping[str, Any], creator: Person, now: datetime) -> MilestonePlan:
    """Create a plan in ``draft`` with its ordered milestones, and ask both parties to agree.

    ``data``: recipient_email, approver_email, currency, milestones [{title,
    criteria, amount_minor, due_on}] (pages turn what was typed into amount_minor:
    ``rewards.forms.read_amounts``), optional title, starts_on (default: today in
    the creator's time zone) and payment_terms_days (default 14).
    :raise Forbidden: unless ``creator`` is HR. :raise ValidationError: naming each bad field; nothing is stored.
    """
    if not creator.is_hr:
        raise Forbidden(_("Only HR creates milestone plans."))
    errors: dict[str, str] = {}
    recipient = _person(data.get("recipient_email"), "recipient_email", errors)
    approver = _person(data.get("approver_email"), "approver_email", errors)
    if recipient is not None and approver is not None and recipient.id == approver.id:
        errors["approver_email"] = _("The approver must be someone other than the recipient.")
    currency = clean_currency(data.get("currency"), errors)
    title = clean_text(data.get("title"), "title", errors, required=None, limit=MAX_TITLE)
    starts_raw = data.get("starts_on")
    starts_on = local_today(creator, now) if starts_raw in (None, "") else clean_date(starts_raw, "starts_on", errors)
    terms = data.get("payment_terms_days")
    if terms in (None, ""):
        terms = default_payment_terms()
    terms = inputs.collect(errors, inputs.read_int, terms, "payment_terms_days", low=0, high=365, from_text=False)
    unknown = sorted(set(data) - {"recipient_email", "approver_email", "currency", "title", "starts_on",
                                  "payment_terms_days", "milestones"})
    for name in unknown:
        errors[name] = _("Unknown field.")
    milestones = clean_milestones(data.get("milestones"), starts_on, errors)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)

    plan = MilestonePlan(title=title, recipient_id=recipient.id, approver_id=approver.id, created_by_id=creator.id,
                         currency=currency, starts_on=starts_on, payment_terms_days=terms, created_at=now)
    db.session.add(plan)
    try:
        db.session.flush()
        rows = [Milestone(plan_id=plan.id, state="draft", state_changed_at=now, **m) for m in milestones]
        db.session.add_all(rows)
        db.session.flush()
        db.session.add_all([MilestoneEvent(milestone_id=m.id, actor_id=creator.id, at=now, action="create",
                                           from_state=None, to_state="draft") for m in rows])
        db.session.flush()
        for person, role in ((recipient, "recipient"), (approver, "approver")):
            queue_mail("reward_plan", person, plan, None, f"reward-plan:{plan.id}:{person.id}", now, role=role,
                       changed=False)
        audit.record("plan.created", actor=creator, target=plan, now=now,
                     summary=f"plan {plan.id} for {recipient.email}, approver {approver.email}: "
                             f"{len(rows)} milestones in {currency}")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return plan


def get_plan(plan_id: int) -> MilestonePlan:
    """:raise NotFound: no such plan."""
    return get_or_raise(MilestonePlan, plan_id, _("No such milestone plan."))


def get_milestone(milestone_id: int) -> Milestone:
    """:raise NotFound: no such milestone."""
    return get_or_raise(Milestone, milestone_id, _("No such milestone."))


def can_view(plan: MilestonePlan, person: Person) -> bool:
    return person.is_hr or person.id in (plan.recipient_id, plan.approver_id)


def visible_plan(plan_id: int, person: Person) -> MilestonePlan:
    """The plan, if ``person`` is its recipient, its approver or HR.

    :raise NotFound: no such plan. :raise Forbidden: anyone else.
    """
    plan = get_plan(plan_id)
    if not can_view(plan, person):
        raise Forbidden(_("Only the recipient, the approver and HR see this plan."))
    return plan


def visible_plans(person: Person, role: str | None, page: int, per_page: int):
    """The plans ``person`` may see, oldest first, one page of them (a Flask-SQLAlchemy pagination).

    All of them for HR, else those they receive or approve; ``role`` (``recipient`` or
    ``approver``) narrows them to the caller's plans in that role, HR included. Milestones,
    recipient and approver come loaded.
    """
    stmt = sa.select(MilestonePlan).order_by(MilestonePlan.id)
    if role == "recipient":
        stmt = stmt.where(MilestonePlan.recipient_id == person.id)
    elif role == "approver":
        stmt = stmt.where(MilestonePlan.approver_id == person.id)
    elif not person.is_hr:
        stmt = stmt.where(sa.or_(MilestonePlan.recipient_id == person.id, MilestonePlan.approver_id == person.id))
    stmt = stmt.options(so.selectinload(MilestonePlan.milestones), so.joinedload(MilestonePlan.recipient),
                        so.joinedload(MilestonePlan.approver))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def plan_label(plan: MilestonePlan) -> str:
    return plan.title or _("Plan %(id)s · %(name)s", id=plan.id, name=plan.recipient.name)


TERMS_ACTIONS = ("create", "edit", "cancel")


def terms_version(plan_id: int) -> int:
    """A number that changes whenever HR sets the plan's terms (creates, edits or cancels a milestone).

    Pages and API clients send back the version they showed with an agreement, so nobody agrees to
    terms changed after they read them.
    """
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(MilestoneEvent.id), 0))
        .join(Milestone, Milestone.id == MilestoneEvent.milestone_id)
        .where(Milestone.plan_id == plan_id, MilestoneEvent.action.in_(TERMS_ACTIONS)))
