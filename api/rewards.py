"""API v1: milestone plans (create, list, read, edit before agreement) and milestone actions.

Each handler calls the rewards service that owns the rule (``rewards.plans``, ``rewards.editing``,
``rewards.transitions``) and serialises the plan with its milestones, events, payouts and totals
(``rewards.ledger``, ``rewards.overview``). The services decide who may do what (403), which
transitions the state machine allows (409) and which fields are valid (422).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from flask import g, jsonify, request, url_for
from pydantic import Field

from api import bp, core
from api.people import Page, PageQuery
from api.spec import Input, Int, Output, operation, responses
from rewards import editing, ledger, money, overview, plans, transitions
from rewards import models as rows

STATE = Literal["draft", "agreed", "submitted", "changes_requested", "approved", "paid", "cancelled"]
Date = Annotated[str, Field(json_schema_extra={"format": "date"})]
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Text = Annotated[str, Field(max_length=5000)]
Title = Annotated[str, Field(max_length=200)]
Version = Annotated[Int, Field(ge=0)]


class MilestoneInput(Input):
    title: Title
    criteria: Text = Field(description="Measurable acceptance criteria.")
    amount_minor: Annotated[int, Field(ge=1, le=10**12)] = Field(
        description="Minor units of the plan currency (cents for EUR): 150000 is 1,500.00.")
    due_on: Date = Field(description="Not before the plan's starts_on.")


class MilestonePlanInput(Input):
    recipient_email: str = Field(json_schema_extra={"format": "email"}, description="An employee or contractor.")
    approver_email: str = Field(json_schema_extra={"format": "email"}, description="Not the recipient.")
    currency: str = Field(pattern="^[A-Za-z]{3}$", description="ISO 4217 code; lower case is read as upper case.")
    title: Title | None = None
    starts_on: Date = Field(None, description="Default: today.")
    payment_terms_days: Annotated[int, Field(ge=0, le=365)] = 14
    milestones: Annotated[list[MilestoneInput], Field(min_length=1, max_length=24)] = Field(
        description="In payment order.")


class MilestoneEditInput(MilestoneInput):
    """An edited milestone is a new one that may name the draft it changes."""

    id: Int = Field(None, description="A draft milestone of the plan to change; leave it out to add a milestone.")


class MilestonePlanEditInput(Input):
    milestones: Annotated[list[MilestoneEditInput], Field(min_length=1, max_length=24)] = Field(
        description="Every milestone the plan keeps, in payment order. Draft milestones left out are cancelled "
                    "(milestones are never deleted).")
    note: Text = Field(None, description="Why; kept on every event written.")
    terms_version: Version = Field(None, description="The plan's terms_version as read; 409 if someone changed it "
                                                     "since.")


class MilestoneActionInput(Input):
    """submit: note and evidence_url required; request-changes: note (the reason) required; pay: reference required;
    agree, approve, cancel: note optional; agree: terms_version optional (the plan's, as read: 409 if HR changed the
    terms since). An empty body is {}."""

    note: Text = None
    terms_version: Version = None
    evidence_url: Annotated[str, Field(max_length=2000)] = Field(None, json_schema_extra={"format": "uri"})
    reference: Title = None


class Milestone(Output):
    id: int
    plan_id: int
    position: int
    title: str
    criteria: str
    amount_minor: int
    amount: str
    currency: str
    due_on: Date
    state: STATE
    recipient_agreed: bool
    approver_agreed: bool
    evidence_note: str | None
    evidence_url: str | None
    approved_at: DateTime | None
    payment_due_at: DateTime | None
    overdue: bool = Field(description="Approved and unpaid past the payment terms.")
    state_changed_at: DateTime


class MilestoneEvent(Output):
    """One append-only history row."""

    id: int
    milestone_id: int
    action: Literal["create", "agree", "submit", "approve", "request-changes", "pay", "cancel", "edit"] = Field(
        description="edit: HR changed the draft terms; the note says what changed, old → new.")
    from_state: STATE | None
    to_state: STATE
    actor_email: str
    at: DateTime
    note: str | None
    evidence_url: str | None


class MilestonePayout(Output):
    """One append-only ledger row."""

    id: int
    milestone_id: int
    amount_minor: int
    amount: str
    currency: str
    paid_on: Date
    paid_at: DateTime
    reference: str
    recorded_by_email: str


class MilestonePlan(Output):
    id: int
    title: str | None
    label: str
    recipient_email: str
    recipient_name: str
    recipient_kind: Literal["employee", "contractor"]
    approver_email: str
    approver_name: str
    currency: str
    starts_on: Date
    payment_terms_days: int
    created_at: DateTime
    status: Literal["awaiting_agreement", "active", "completed", "cancelled"]
    milestones: list[Milestone]
    paid_total: int = Field(description="Sum of the plan's payouts (the ledger), in minor units of the plan currency.")
    paid_total_amount: str = Field(description='The same as a decimal, e.g. "3000.00".')
    planned_total: int = Field(description="Sum of the milestones not cancelled, minor units.")
    planned_total_amount: str
    terms_version: int = Field(None, description="Changes whenever HR sets the terms (create, edit, cancel). Send it "
                                                 "with agree: if the terms changed since, the agreement is refused "
                                                 "(409). Only in the single-plan answers.")
    events: list[MilestoneEvent] = Field(None, description="Oldest first. Only in the single-plan answers.")
    payouts: list[MilestonePayout] = Field(None, description="Only in the single-plan answers.")


class MilestonePlanPage(Page):
    items: list[MilestonePlan]


class MilestonePlansQuery(PageQuery):
    role: Literal["recipient", "approver"] = None


_403 = "Not allowed for the caller (wrong role or wrong person, self-approval included)"
_409 = "The state machine does not allow this now (the message says why)"


def _money(amount_minor: int, currency: str) -> dict:
    return {"amount_minor": amount_minor, "amount": money.decimal_text(amount_minor, currency),
            "currency": currency}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def milestone_json(milestone: rows.Milestone, now: datetime) -> dict:
    plan = milestone.plan
    return {
        "id": milestone.id, "plan_id": plan.id, "position": milestone.position, "title": milestone.title,
        "criteria": milestone.criteria, "amount_minor": milestone.amount_minor,
        "amount": money.decimal_text(milestone.amount_minor, plan.currency), "currency": plan.currency,
        "due_on": milestone.due_on.isoformat(), "state": milestone.state,
        "recipient_agreed": milestone.recipient_agreed_at is not None,
        "approver_agreed": milestone.approver_agreed_at is not None,
        "evidence_note": milestone.evidence_note, "evidence_url": milestone.evidence_url,
        "approved_at": _time(milestone.approved_at),
        "payment_due_at": _time(ledger.payment_due(milestone)) if milestone.state == "approved" else None,
        "overdue": ledger.is_overdue(milestone, now),
        "state_changed_at": _time(milestone.state_changed_at),
    }


def event_json(event: rows.MilestoneEvent) -> dict:
    return {"id": event.id, "milestone_id": event.milestone_id, "action": event.action,
            "from_state": event.from_state, "to_state": event.to_state, "actor_email": event.actor.email,
            "at": event.at.isoformat(), "note": event.note, "evidence_url": event.evidence_url}


def payout_json(payout: rows.Payout) -> dict:
    return {"id": payout.id, "milestone_id": payout.milestone_id, **_money(payout.amount_minor, payout.currency),
            "paid_on": payout.paid_on.isoformat(), "paid_at": payout.paid_at.isoformat(),
            "reference": payout.reference, "recorded_by_email": payout.recorded_by.email}


def plan_json(plan: rows.MilestonePlan, now: datetime, *, full: bool = True, paid: int | None = None) -> dict:
    paid = ledger.paid_total(plan) if paid is None else paid
    planned = ledger.planned_total(plan)
    body = {
        "id": plan.id, "title": plan.title, "label": plans.plan_label(plan),
        "recipient_email": plan.recipient.email, "recipient_name": plan.recipient.name,
        "recipient_kind": plan.recipient.kind,
        "approver_email": plan.approver.email, "approver_name": plan.approver.name,
        "currency": plan.currency, "starts_on": plan.starts_on.isoformat(),
        "payment_terms_days": plan.payment_terms_days, "created_at": plan.created_at.isoformat(),
        "status": overview.plan_status(m.state for m in plan.milestones),
        "milestones": [milestone_json(m, now) for m in plan.milestones],
        "paid_total": paid, "paid_total_amount": money.decimal_text(paid, plan.currency),
        "planned_total": planned, "planned_total_amount": money.decimal_text(planned, plan.currency),
    }
    if full:
        body["terms_version"] = plans.terms_version(plan.id)
        body["events"] = [event_json(e) for e in ledger.plan_events(plan)]
        body["payouts"] = [payout_json(p) for p in ledger.plan_payouts(plan)]
    return body


def _optional_body() -> dict:
    """The JSON object sent, or {} for an empty body (agree, approve and cancel need no fields)."""
    if not request.get_data(cache=True):
        return {}
    return core.json_body()


@bp.post("/milestone-plans")
@core.token_required("hr_admin")
@operation(json=MilestonePlanInput, responses=responses(
    {201: MilestonePlan}, 400, 401, 403, e403=_403, d201="The plan with its milestone ids"))
def milestone_plans_create():
    """Create a milestone plan in draft (hr_admin); the recipient and approver then agree"""
    data = core.json_body()
    now = datetime.now(UTC)
    plan = plans.create_plan(data, g.api_user, now)
    response = jsonify(plan_json(plan, now))
    response.status_code = 201
    response.headers["Location"] = url_for("api.milestone_plans_get", plan_id=plan.id)
    return response


@bp.get("/milestone-plans")
@core.token_required()
@operation(query=MilestonePlansQuery, responses=responses(
    {200: MilestonePlanPage}, 401, d200="A page of plans, without events and payouts; a page past the last one has "
                                        "no items"))
def milestone_plans_list():
    """Plans the caller may see, oldest first, paginated (all for hr_admin; else those they receive or approve)

    ``role`` narrows them to the caller's plans as recipient or approver.
    """
    person = g.api_user
    page, per_page = core.page_args()
    pagination = plans.visible_plans(person, core.query().role, page, per_page)
    paid = ledger.paid_totals(p.id for p in pagination.items)
    now = datetime.now(UTC)
    return jsonify(core.paginated(pagination, [plan_json(p, now, full=False, paid=paid[p.id])
                                               for p in pagination.items]))


@bp.get("/milestone-plans/<int:plan_id>")
@core.token_required()
@operation(responses=responses({200: MilestonePlan}, 401, 403, 404, e403=_403))
def milestone_plans_get(plan_id: int):
    """A plan with its milestones, events, payouts and paid total (recipient, approver, hr_admin)"""
    plan = plans.visible_plan(plan_id, g.api_user)
    return jsonify(plan_json(plan, datetime.now(UTC)))


@bp.put("/milestone-plans/<int:plan_id>/milestones")
@core.token_required("hr_admin")
@operation(json=MilestonePlanEditInput, responses=responses(
    {200: MilestonePlan}, 400, 401, 403, 404, 409, e403="Not hr_admin, or the caller's own plan",
    e409="The terms are locked: the recipient or the approver has agreed", d200="The plan as it now is"))
def milestone_plans_edit(plan_id: int):
    """Correct a plan's milestones before anyone has agreed to them (hr_admin)

    Replaces the plan's milestones with the list sent, validated as when the plan is created: an item with an id
    changes that draft milestone, one without adds a milestone, a draft milestone left out is cancelled. Each change
    appends an event (edit, create or cancel). Once the recipient or the approver has agreed to any milestone of the
    plan its terms are locked and this is 409; an HR administrator cannot edit a plan they receive (403).
    """
    plans.get_plan(plan_id)  # 404 before anything about the body
    data = core.json_body()
    editing.edit_plan(plan_id, data, g.api_user, datetime.now(UTC))
    return jsonify(plan_json(plans.get_plan(plan_id), datetime.now(UTC)))


@bp.post("/milestones/<int:milestone_id>/<action>")
@core.token_required()
@operation(json=MilestoneActionInput, body_required=False, responses=responses(
    {200: Milestone}, 400, 401, 403, 404, 409, e403=_403, e409=_409, d200="The milestone in its new state"))
def milestone_action(milestone_id: int, action: str):
    """Move a milestone through the state machine

    agree (recipient or approver; agreed once both have), submit (recipient, from agreed or changes_requested),
    approve and request-changes (approver, from submitted), pay (hr_admin, from approved, after every earlier
    milestone is paid), cancel (hr_admin, from draft or agreed). The wrong person gets 403, a transition the machine
    does not allow 409.
    """
    transitions.milestone_to_act_on(milestone_id, action, g.api_user)
    data = _optional_body()
    now = datetime.now(UTC)
    milestone = transitions.perform(milestone_id, action, g.api_user, data, now)
    return jsonify(milestone_json(milestone, now))
