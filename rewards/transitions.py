"""The state machine of a milestone: who may take which action from which state, and taking it.

One job: move a milestone through its states (DESIGN.md §3), appending an event for each
transition and, for ``pay``, one ledger row. Every refusal raises from ``errors`` before anything
is written: ``Forbidden`` (403) for the wrong person, ``Conflict`` (409) for a transition the
state machine does not allow, ``ValidationError`` (422) naming each bad field.

The machine::

    draft ──agree×2──▶ agreed ──submit──▶ submitted ──approve──▶ approved ──pay──▶ paid
      │                  │                 │    ▲
      └──cancel──────────┴─▶ cancelled     │    └──submit── changes_requested
                                           └──request-changes──────▲

``agree`` records the caller's acceptance; the milestone becomes ``agreed`` once both the
recipient and the approver have agreed, and its terms are then locked (also by a database
trigger). Payment is sequential: a milestone is paid only after every earlier milestone of its
plan that was not cancelled is paid. Each transition is claimed with a conditional UPDATE (after a
row lock on PostgreSQL), and ``milestone_payouts`` has UNIQUE(milestone_id), so concurrent requests
yield exactly one transition and at most one payout per milestone.

May import: ``rewards.plans``, ``rewards.money``, ``rewards.validators``, ``rewards.notifications``, ``audit``,
the models and the session; not editing, the overview or the reminders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

import audit
from errors import Conflict, Forbidden, NotFound, ValidationError
from extensions import db
from people.models import Person
from rewards.models import FINAL_STATES, Milestone, MilestoneEvent, MilestonePlan, Payout
from rewards.money import decimal_text
from rewards.notifications import notify
from rewards.plans import can_view, get_milestone, terms_version
from rewards.validators import MAX_REFERENCE, MAX_TEXT, clean_text, clean_url, clean_version, join_notes, local_today

STATE_LABELS = {
    "draft": _l("Draft"), "agreed": _l("Agreed"), "submitted": _l("Submitted"),
    "changes_requested": _l("Changes requested"), "approved": _l("Approved"), "paid": _l("Paid"),
    "cancelled": _l("Cancelled"),
}
ACTION_LABELS = {
    "create": _l("Planned"), "agree": _l("Agreed to the terms"), "submit": _l("Submitted evidence"),
    "approve": _l("Approved"), "request-changes": _l("Requested changes"), "pay": _l("Recorded the payout"),
    "cancel": _l("Cancelled"), "edit": _l("Edited the terms"),
}


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


@dataclass(frozen=True)
class Transition:
    """Who may take an action ("party" = recipient or approver), from which states, to which state."""

    from_states: tuple[str, ...]
    to_state: str
    actor: str


MACHINE: dict[str, Transition] = {
    "agree": Transition(("draft",), "agreed", "party"),
    "submit": Transition(("agreed", "changes_requested"), "submitted", "recipient"),
    "approve": Transition(("submitted",), "approved", "approver"),
    "request-changes": Transition(("submitted",), "changes_requested", "approver"),
    "pay": Transition(("approved",), "paid", "hr"),
    "cancel": Transition(("draft", "agreed"), "cancelled", "hr"),
}
ACTIONS = tuple(MACHINE)
AUDIT_ACTIONS = {"agree": "milestone.agreed", "submit": "milestone.submitted", "approve": "milestone.approved",
                 "request-changes": "milestone.changes_requested", "pay": "milestone.paid",
                 "cancel": "milestone.cancelled"}


def _check_actor(action: str, plan: MilestonePlan, actor: Person) -> None:
    who = MACHINE[action].actor
    if who == "party" and actor.id not in (plan.recipient_id, plan.approver_id):
        raise Forbidden(_("Only the recipient and the approver agree to the terms of a milestone."))
    if who == "recipient" and actor.id != plan.recipient_id:
        raise Forbidden(_("Only the recipient, %(name)s, submits evidence for this milestone.",
                          name=plan.recipient.name))
    if who == "approver":
        if actor.id == plan.recipient_id:
            raise Forbidden(_("You cannot approve your own milestone: %(name)s decides.", name=plan.approver.name))
        if actor.id != plan.approver_id:
            raise Forbidden(_("Only the approver, %(name)s, decides on this milestone.", name=plan.approver.name))
    if who == "hr":
        if not actor.is_hr:
            raise Forbidden(_("Only HR records payouts.") if action == "pay"
                            else _("Only HR cancels milestones."))
        if action == "pay" and actor.id == plan.recipient_id:
            raise Forbidden(_("You cannot record a payout to yourself; another HR administrator must."))


def _check_state(action: str, milestone: Milestone, actor: Person) -> None:
    state = milestone.state
    if state in MACHINE[action].from_states:
        if action == "agree":
            mine = (milestone.recipient_agreed_at if actor.id == milestone.plan.recipient_id
                    else milestone.approver_agreed_at)
            if mine is not None:
                raise Conflict(_("You have already agreed to this milestone."))
        return
    label = state_label(state).lower()
    if action == "agree":
        message = _("Terms can be agreed only while the milestone is a draft; it is %(state)s.", state=label)
    elif action == "submit":
        message = _("Evidence can be submitted once the terms are agreed, or after changes were requested; "
                    "this milestone is %(state)s.", state=label)
    elif action in ("approve", "request-changes"):
        message = _("Only a submitted milestone can be approved or sent back; this one is %(state)s.", state=label)
    elif action == "pay":
        message = (_("This milestone is already paid.") if state == "paid"
                   else _("Only an approved milestone can be paid; this one is %(state)s.", state=label))
    else:
        message = _("Only a draft or agreed milestone can be cancelled; this one is %(state)s.", state=label)
    raise Conflict(message)


def _check_sequence(milestone: Milestone) -> None:
    """Milestone n is paid only after every earlier, not cancelled, milestone of the plan is paid."""
    earlier = db.session.scalar(
        sa.select(Milestone).where(Milestone.plan_id == milestone.plan_id, Milestone.position < milestone.position,
                                   Milestone.state.not_in(FINAL_STATES))
        .order_by(Milestone.position).limit(1))
    if earlier is not None:
        raise Conflict(_("Milestones are paid in order: milestone %(position)s, “%(title)s”, is not paid yet.",
                         position=earlier.position, title=earlier.title))


def _clean_action(action: str, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    known = {"note", "evidence_url", "reference"} | ({"terms_version"} if action == "agree" else set())
    for name in sorted(set(data) - known):
        errors[name] = _("Unknown field.")
    values: dict[str, Any] = {}
    if action == "submit":
        values["note"] = clean_text(data.get("note"), "note", errors, limit=MAX_TEXT,
                                    required=_("Describe what was achieved against the criteria."))
        values["evidence_url"] = clean_url(data.get("evidence_url"), "evidence_url", errors,
                                           required=_("Link to the evidence (a document, a report, a dashboard)."))
    elif action == "request-changes":
        values["note"] = clean_text(data.get("note"), "note", errors, limit=MAX_TEXT,
                                    required=_("Say what needs to change."))
    elif action == "pay":
        values["reference"] = clean_text(data.get("reference"), "reference", errors, limit=MAX_REFERENCE,
                                         required=_("A payment reference is required (payroll run or transfer)."))
        values["note"] = clean_text(data.get("note"), "note", errors, required=None, limit=MAX_TEXT)
    else:
        values["note"] = clean_text(data.get("note"), "note", errors, required=None, limit=MAX_TEXT)
    if action == "agree":
        values["terms_version"] = clean_version(data.get("terms_version"), "terms_version", errors)
    for name in ("evidence_url", "reference"):
        if name in data and name not in values and name not in errors:
            errors[name] = _("Not used by this action.")
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    return values


def _lock(milestone_id: int) -> Milestone:
    # FOR UPDATE makes a concurrent request on PostgreSQL wait here and then see the new state;
    # SQLite ignores it and serialises the writers at the conditional UPDATE below instead.
    milestone = db.session.scalar(sa.select(Milestone).where(Milestone.id == milestone_id).with_for_update()
                                  .execution_options(populate_existing=True))
    if milestone is None:
        raise NotFound(_("No such milestone."))
    return milestone


def milestone_to_act_on(milestone_id: int, action: str, person: Person) -> Milestone:
    """The milestone ``person`` asks to take ``action`` on, before anything about the request's fields.

    :raise NotFound: no such action (the message lists them) or no such milestone.
    :raise Forbidden: ``person`` is not the plan's recipient, its approver or HR.
    Whether this person may take this action now is :func:`perform`'s to say.
    """
    if action not in ACTIONS:
        raise NotFound(_("No such action; use one of: %(actions)s.", actions=", ".join(ACTIONS)))
    milestone = get_milestone(milestone_id)
    if not can_view(milestone.plan, person):
        raise Forbidden(_("Only the recipient, the approver and HR act on this milestone."))
    return milestone


def perform(milestone_id: int, action: str, actor: Person, data: Mapping[str, Any] | None,
            now: datetime) -> Milestone:
    """Take ``action`` (agree, submit, approve, request-changes, pay, cancel) on a milestone as ``actor``.

    Appends an event (and, for ``pay``, one payout row) and queues the e-mail in the same transaction.
    :raise NotFound: no such milestone or action. :raise Forbidden: the wrong person (self-approval
    and paying oneself included). :raise Conflict: the state machine does not allow it, an earlier
    milestone is unpaid, or a concurrent request got there first. :raise ValidationError: bad fields.
    """
    if action not in MACHINE:
        raise NotFound(_("No such action."))
    try:
        milestone = _lock(milestone_id)
        plan = milestone.plan
        _check_actor(action, plan, actor)
        _check_state(action, milestone, actor)
        if action == "pay":
            _check_sequence(milestone)
        values = _clean_action(action, data or {})
        seen = values.pop("terms_version", None)
        _check_terms_seen(plan.id, seen)
        event = _apply(milestone, plan, action, actor, values, now)
        # Again now that this transaction has written (on SQLite it holds the write lock from here):
        # an edit may have committed between the check above and the agreement.
        _check_terms_seen(plan.id, seen)
        notify(milestone, plan, event, actor, now)
        _audit(milestone, plan, event, actor, values, now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return db.session.get(Milestone, milestone_id, populate_existing=True)


def _claim(milestone: Milestone, from_state: str, **values: Any) -> bool:
    result = db.session.execute(
        sa.update(Milestone).where(Milestone.id == milestone.id, Milestone.state == from_state)
        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _apply(milestone: Milestone, plan: MilestonePlan, action: str, actor: Person, values: dict[str, Any],
           now: datetime) -> MilestoneEvent:
    from_state = milestone.state
    to_state = MACHINE[action].to_state
    changed_meanwhile = Conflict(_("This milestone was changed by someone else meanwhile; reload and try again."))
    if action == "agree":
        column = "recipient_agreed_at" if actor.id == plan.recipient_id else "approver_agreed_at"
        mine = getattr(Milestone, column)
        claimed = db.session.execute(
            sa.update(Milestone).where(Milestone.id == milestone.id, Milestone.state == "draft", mine.is_(None))
            .values({column: now}).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            raise changed_meanwhile
        both = db.session.execute(
            sa.update(Milestone).where(Milestone.id == milestone.id, Milestone.state == "draft",
                                       Milestone.recipient_agreed_at.is_not(None),
                                       Milestone.approver_agreed_at.is_not(None))
            .values(state="agreed", state_changed_at=now).execution_options(synchronize_session=False))
        to_state = "agreed" if both.rowcount == 1 else "draft"
    else:
        extra: dict[str, Any] = {}
        if action == "submit":
            extra = {"evidence_note": values["note"], "evidence_url": values["evidence_url"]}
        elif action == "approve":
            extra = {"approved_at": now}
        if not _claim(milestone, from_state, state=to_state, state_changed_at=now, **extra):
            raise changed_meanwhile
        if action == "pay":
            recipient = plan.recipient
            db.session.add(Payout(milestone_id=milestone.id, amount_minor=milestone.amount_minor,
                                  currency=plan.currency, paid_on=local_today(actor, now), paid_at=now,
                                  reference=values["reference"], department_id=recipient.department_id,
                                  recorded_by_id=actor.id))
            try:
                db.session.flush()
            except IntegrityError:
                raise Conflict(_("This milestone is already paid.")) from None
    event = MilestoneEvent(milestone_id=milestone.id, actor_id=actor.id, at=now, action=action,
                           from_state=from_state, to_state=to_state,
                           note=values.get("note") if action != "pay" else
                           join_notes(values.get("reference"), values.get("note")),
                           evidence_url=values.get("evidence_url"))
    db.session.add(event)
    db.session.flush()
    return event


def _audit(milestone: Milestone, plan: MilestonePlan, event: MilestoneEvent, actor: Person,
           values: dict[str, Any], now: datetime) -> None:
    # States, the amount and the payment reference; never the evidence or the approver's note.
    summary = (f"plan {plan.id}, milestone {milestone.position} “{milestone.title}”: "
               f"{event.from_state} → {event.to_state}")
    if event.action == "pay":
        summary += (f"; {decimal_text(milestone.amount_minor, plan.currency)} {plan.currency}, "
                    f"reference {values['reference']}")
    audit.record(AUDIT_ACTIONS[event.action], actor=actor, target=milestone, summary=summary, now=now)


def _check_terms_seen(plan_id: int, seen: int | None) -> None:
    if seen is not None and seen != terms_version(plan_id):
        raise Conflict(_("HR changed the terms after you opened them. Read them again, then agree."))


def agree_to_plan(plan: MilestonePlan, actor: Person, now: datetime, *, terms_seen: int | None = None) -> int:
    """Agree, as recipient or approver, to every draft milestone of the plan not yet agreed by ``actor``.

    ``terms_seen`` is the ``terms_version`` the caller was shown, if known. Returns how many milestones
    were agreed to. :raise Forbidden: not a party to the plan. :raise Conflict: nothing is waiting for
    the caller's agreement, or the terms changed since ``terms_seen``.
    """
    if actor.id not in (plan.recipient_id, plan.approver_id):
        raise Forbidden(_("Only the recipient and the approver agree to the terms of a milestone."))
    _check_terms_seen(plan.id, terms_seen)
    column = Milestone.recipient_agreed_at if actor.id == plan.recipient_id else Milestone.approver_agreed_at
    pending = db.session.scalars(sa.select(Milestone.id).where(
        Milestone.plan_id == plan.id, Milestone.state == "draft", column.is_(None)).order_by(Milestone.position)).all()
    if not pending:
        raise Conflict(_("Nothing in this plan is waiting for your agreement."))
    for milestone_id in pending:
        perform(milestone_id, "agree", actor, {} if terms_seen is None else {"terms_version": terms_seen}, now)
    return len(pending)


def cancel_plan(plan: MilestonePlan, actor: Person, now: datetime, note: str | None = None) -> int:
    """HR cancels every milestone of the plan that is still draft or agreed; returns how many.

    Submitted, approved and paid milestones are left as they are (they go through approval and payment).
    :raise Forbidden: not HR. :raise Conflict: nothing left to cancel.
    """
    if not actor.is_hr:
        raise Forbidden(_("Only HR cancels milestones."))
    pending = db.session.scalars(sa.select(Milestone.id).where(
        Milestone.plan_id == plan.id, Milestone.state.in_(MACHINE["cancel"].from_states))
        .order_by(Milestone.position)).all()
    if not pending:
        raise Conflict(_("No milestone of this plan can be cancelled: only draft or agreed ones can."))
    for milestone_id in pending:
        perform(milestone_id, "cancel", actor, {"note": note} if note else {}, now)
    return len(pending)


def allowed_actions(milestone: Milestone, person: Person) -> list[str]:
    """The actions ``person`` could take on the milestone now (for showing the right buttons)."""
    allowed = []
    for action in ACTIONS:
        try:
            _check_actor(action, milestone.plan, person)
            _check_state(action, milestone, person)
        except (Forbidden, Conflict):
            continue
        allowed.append(action)
    return allowed


def payment_blockers(plan: MilestonePlan) -> dict[int, Milestone | None]:
    """For each milestone (by id), the earlier milestone that must be paid before it can be, if any.

    The rule ``_check_sequence`` enforces, for showing it: the first earlier milestone that is
    neither paid nor cancelled. The plan's milestones must be loaded in position order.
    """
    blockers: dict[int, Milestone | None] = {}
    unpaid = None
    for milestone in plan.milestones:
        blockers[milestone.id] = unpaid
        if unpaid is None and milestone.state not in FINAL_STATES:
            unpaid = milestone
    return blockers


def can_cancel(plan: MilestonePlan, person: Person) -> bool:
    """Whether ``person`` may cancel what is left of the plan (``cancel_plan`` would not refuse)."""
    return person.is_hr and any(m.state in MACHINE["cancel"].from_states for m in plan.milestones)
