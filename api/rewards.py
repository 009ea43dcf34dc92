"""API v1: milestone plans (create, list, read, edit before agreement) and milestone actions.

Each handler calls the rewards service that owns the rule (``rewards.plans``, ``rewards.editing``,
``rewards.transitions``) and serialises the plan with its milestones, events, payouts and totals
(``rewards.ledger``, ``rewards.overview``). The services decide who may do what (403), which
transitions the state machine allows (409) and which fields are valid (422).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, jsonify, request, url_for
from flask_babel import gettext as _

from api import bp, core
from api.openapi import error_responses, json_content, ref
from errors import ValidationError
from rewards import editing, ledger, money, overview, plans, transitions
from rewards.models import Milestone, MilestoneEvent, MilestonePlan, Payout


def _money(amount_minor: int, currency: str) -> dict:
    return {"amount_minor": amount_minor, "amount": money.decimal_text(amount_minor, currency),
            "currency": currency}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def milestone_json(milestone: Milestone, now: datetime) -> dict:
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


def event_json(event: MilestoneEvent) -> dict:
    return {"id": event.id, "milestone_id": event.milestone_id, "action": event.action,
            "from_state": event.from_state, "to_state": event.to_state, "actor_email": event.actor.email,
            "at": event.at.isoformat(), "note": event.note, "evidence_url": event.evidence_url}


def payout_json(payout: Payout) -> dict:
    return {"id": payout.id, "milestone_id": payout.milestone_id, **_money(payout.amount_minor, payout.currency),
            "paid_on": payout.paid_on.isoformat(), "paid_at": payout.paid_at.isoformat(),
            "reference": payout.reference, "recorded_by_email": payout.recorded_by.email}


def plan_json(plan: MilestonePlan, now: datetime, *, full: bool = True, paid: int | None = None) -> dict:
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
def milestone_plans_create():
    data = core.json_body()
    now = datetime.now(UTC)
    plan = plans.create_plan(data, g.api_user, now)
    response = jsonify(plan_json(plan, now))
    response.status_code = 201
    response.headers["Location"] = url_for("api.milestone_plans_get", plan_id=plan.id)
    return response


@bp.get("/milestone-plans")
@core.token_required()
def milestone_plans_list():
    """Plans the caller may see, oldest first, a page at a time: all for hr_admin, else those they receive or
    approve; ``role`` narrows them to the caller's as recipient or approver."""
    person = g.api_user
    errors: dict[str, str] = {}
    role = request.args.get("role") or None
    if role not in (None, "recipient", "approver"):
        errors["role"] = _("Must be one of: %(choices)s.", choices="recipient, approver")
    try:
        page, per_page = core.page_args()
    except ValidationError as error:
        errors |= error.fields
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    pagination = plans.visible_plans(person, role, page, per_page)
    paid = ledger.paid_totals(p.id for p in pagination.items)
    now = datetime.now(UTC)
    return jsonify(core.paginated(pagination, [plan_json(p, now, full=False, paid=paid[p.id])
                                               for p in pagination.items]))


@bp.get("/milestone-plans/<int:plan_id>")
@core.token_required()
def milestone_plans_get(plan_id: int):
    plan = plans.visible_plan(plan_id, g.api_user)
    return jsonify(plan_json(plan, datetime.now(UTC)))


@bp.put("/milestone-plans/<int:plan_id>/milestones")
@core.token_required("hr_admin")
def milestone_plans_edit(plan_id: int):
    """Replace a plan's milestones while nobody has agreed to them (``rewards.editing.edit_plan``)."""
    plans.get_plan(plan_id)  # 404 before anything about the body
    data = core.json_body()
    editing.edit_plan(plan_id, data, g.api_user, datetime.now(UTC))
    return jsonify(plan_json(plans.get_plan(plan_id), datetime.now(UTC)))


@bp.post("/milestones/<int:milestone_id>/<action>")
@core.token_required()
def milestone_action(milestone_id: int, action: str):
    transitions.milestone_to_act_on(milestone_id, action, g.api_user)
    data = _optional_body()
    now = datetime.now(UTC)
    milestone = transitions.perform(milestone_id, action, g.api_user, data, now)
    return jsonify(milestone_json(milestone, now))


# --- OpenAPI ----------------------------------------------------------------------------


def _errors(*codes: int) -> dict:
    return error_responses(
        *codes, e403="Not allowed for the caller (wrong role or wrong person, self-approval included)",
        e409="The state machine does not allow this now (the message says why)")


def _id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


STATE_ENUM = {"enum": ["draft", "agreed", "submitted", "changes_requested", "approved", "paid", "cancelled"]}

OPENAPI_SCHEMAS: dict = {
    "MilestoneInput": {
        "type": "object", "required": ["title", "criteria", "amount_minor", "due_on"],
        "properties": {
            "title": {"type": "string", "maxLength": 200},
            "criteria": {"type": "string", "maxLength": 5000, "description": "Measurable acceptance criteria."},
            "amount_minor": {"type": "integer", "minimum": 1, "maximum": 10**12,
                             "description": "Minor units of the plan currency (cents for EUR): 150000 is 1,500.00."},
            "due_on": {"type": "string", "format": "date", "description": "Not before the plan's starts_on."},
        },
    },
    "MilestonePlanInput": {
        "type": "object", "required": ["recipient_email", "approver_email", "currency", "milestones"],
        "additionalProperties": False,
        "properties": {
            "recipient_email": {"type": "string", "format": "email", "description": "An employee or contractor."},
            "approver_email": {"type": "string", "format": "email", "description": "Not the recipient."},
            "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$",
                         "description": "ISO 4217 code; lower case is read as upper case."},
            "title": {"type": ["string", "null"], "maxLength": 200},
            "starts_on": {"type": "string", "format": "date", "description": "Default: today."},
            "payment_terms_days": {"type": "integer", "minimum": 0, "maximum": 365, "default": 14},
            "milestones": {"type": "array", "items": ref("MilestoneInput"), "minItems": 1, "maxItems": 24,
                           "description": "In payment order."},
        },
    },
    "Milestone": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "plan_id": {"type": "integer"}, "position": {"type": "integer"},
            "title": {"type": "string"}, "criteria": {"type": "string"}, "amount_minor": {"type": "integer"},
            "amount": {"type": "string"}, "currency": {"type": "string"},
            "due_on": {"type": "string", "format": "date"}, "state": STATE_ENUM,
            "recipient_agreed": {"type": "boolean"}, "approver_agreed": {"type": "boolean"},
            "evidence_note": {"type": ["string", "null"]}, "evidence_url": {"type": ["string", "null"]},
            "approved_at": {"type": ["string", "null"], "format": "date-time"},
            "payment_due_at": {"type": ["string", "null"], "format": "date-time"},
            "overdue": {"type": "boolean", "description": "Approved and unpaid past the payment terms."},
            "state_changed_at": {"type": "string", "format": "date-time"},
        },
    },
    "MilestoneEvent": {
        "type": "object", "description": "One append-only history row.",
        "properties": {"id": {"type": "integer"}, "milestone_id": {"type": "integer"},
                       "action": {"enum": ["create", "agree", "submit", "approve", "request-changes", "pay",
                                           "cancel", "edit"],
                                  "description": "edit: HR changed the draft terms; the note says what changed, "
                                                 "old → new."},
                       "from_state": {"oneOf": [STATE_ENUM, {"type": "null"}]}, "to_state": STATE_ENUM,
                       "actor_email": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                       "note": {"type": ["string", "null"]}, "evidence_url": {"type": ["string", "null"]}},
    },
    "MilestonePayout": {
        "type": "object", "description": "One append-only ledger row.",
        "properties": {"id": {"type": "integer"}, "milestone_id": {"type": "integer"},
                       "amount_minor": {"type": "integer"}, "amount": {"type": "string"},
                       "currency": {"type": "string"}, "paid_on": {"type": "string", "format": "date"},
                       "paid_at": {"type": "string", "format": "date-time"}, "reference": {"type": "string"},
                       "recorded_by_email": {"type": "string"}},
    },
    "MilestonePlan": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "title": {"type": ["string", "null"]}, "label": {"type": "string"},
            "recipient_email": {"type": "string"}, "recipient_name": {"type": "string"},
            "recipient_kind": {"enum": ["employee", "contractor"]},
            "approver_email": {"type": "string"}, "approver_name": {"type": "string"},
            "currency": {"type": "string"}, "starts_on": {"type": "string", "format": "date"},
            "payment_terms_days": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"},
            "status": {"enum": ["awaiting_agreement", "active", "completed", "cancelled"]},
            "milestones": {"type": "array", "items": ref("Milestone")},
            "terms_version": {"type": "integer", "description": "Changes whenever HR sets the terms (create, edit, "
                              "cancel). Send it with agree: if the terms changed since, the agreement is refused "
                              "(409). Only in the single-plan answers."},
            "events": {"type": "array", "items": ref("MilestoneEvent"), "description": "Oldest first."},
            "payouts": {"type": "array", "items": ref("MilestonePayout")},
            "paid_total": {"type": "integer", "description": "Sum of the plan's payouts (the ledger), in minor "
                                                             "units of the plan currency."},
            "paid_total_amount": {"type": "string", "description": "The same as a decimal, e.g. \"3000.00\"."},
            "planned_total": {"type": "integer", "description": "Sum of the milestones not cancelled, minor units."},
            "planned_total_amount": {"type": "string"},
        },
    },
}
# An edited milestone is a new one that may name the draft it changes: its own schema, not an allOf,
# so that a misspelt field is refused here as it is when creating.
OPENAPI_SCHEMAS["MilestoneEditInput"] = {
    **OPENAPI_SCHEMAS["MilestoneInput"],
    "properties": {**OPENAPI_SCHEMAS["MilestoneInput"]["properties"],
                   "id": {"type": "integer", "description": "A draft milestone of the plan to change; "
                                                            "leave it out to add a milestone."}},
}
OPENAPI_SCHEMAS |= {
    "MilestonePlanEditInput": {
        "type": "object", "required": ["milestones"], "additionalProperties": False,
        "properties": {
            "milestones": {"type": "array", "items": ref("MilestoneEditInput"), "minItems": 1, "maxItems": 24,
                           "description": "Every milestone the plan keeps, in payment order. Draft milestones "
                                          "left out are cancelled (milestones are never deleted)."},
            "note": {"type": "string", "maxLength": 5000, "description": "Why; kept on every event written."},
            "terms_version": {"type": "integer", "minimum": 0,
                              "description": "The plan's terms_version as read; 409 if someone changed it since."},
        },
    },
    "MilestoneActionInput": {
        "type": "object", "additionalProperties": False,
        "description": "submit: note and evidence_url required; request-changes: note (the reason) required; "
                       "pay: reference required; agree, approve, cancel: note optional; agree: terms_version "
                       "optional (the plan's, as read: 409 if HR changed the terms since). An empty body is {}.",
        "properties": {"note": {"type": "string", "maxLength": 5000},
                       "terms_version": {"type": "integer", "minimum": 0},
                       "evidence_url": {"type": "string", "format": "uri", "maxLength": 2000},
                       "reference": {"type": "string", "maxLength": 200}},
    },
}

OPENAPI_PATHS: dict = {
    "/milestone-plans": {
        "post": {"summary": "Create a milestone plan in draft (hr_admin); the recipient and approver then agree",
                 "requestBody": {"required": True, **json_content(ref("MilestonePlanInput"))},
                 "responses": {"201": {"description": "The plan with its milestone ids",
                                       **json_content(ref("MilestonePlan"))},
                               **_errors(400, 401, 403, 422)}},
        "get": {"summary": "Plans the caller may see, oldest first, paginated (all for hr_admin; else those they "
                           "receive or approve)",
                "parameters": [
                    {"name": "role", "in": "query", "schema": {"enum": ["recipient", "approver"]}},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200,
                                                                    "default": 50}}],
                "responses": {"200": {"description": "A page of plans, without events and payouts; a page past "
                                                     "the last one has no items", **json_content({
                    "type": "object", "properties": {
                        "items": {"type": "array", "items": ref("MilestonePlan")},
                        "page": {"type": "integer"}, "per_page": {"type": "integer"},
                        "total": {"type": "integer"}, "pages": {"type": "integer"}}})},
                    **_errors(401, 422)}},
    },
    "/milestone-plans/{plan_id}": {"get": {
        "summary": "A plan with its milestones, events, payouts and paid total (recipient, approver, hr_admin)",
        "parameters": [_id("plan_id")],
        "responses": {"200": {"description": "The plan", **json_content(ref("MilestonePlan"))},
                      **_errors(401, 403, 404)}}},
    "/milestone-plans/{plan_id}/milestones": {"put": {
        "summary": "Correct a plan's milestones before anyone has agreed to them (hr_admin)",
        "description": "Replaces the plan's milestones with the list sent, validated as when the plan is created: "
                       "an item with an id changes that draft milestone, one without adds a milestone, a draft "
                       "milestone left out is cancelled. Each change appends an event (edit, create or cancel). "
                       "Once the recipient or the approver has agreed to any milestone of the plan its terms are "
                       "locked and this is 409; an HR administrator cannot edit a plan they receive (403).",
        "parameters": [_id("plan_id")],
        "requestBody": {"required": True, **json_content(ref("MilestonePlanEditInput"))},
        "responses": {"200": {"description": "The plan as it now is", **json_content(ref("MilestonePlan"))},
                      **error_responses(400, 401, 403, 404, 409, 422, e403="Not hr_admin, or the caller's own plan",
                                        e409="The terms are locked: the recipient or the approver has agreed")}}},
    "/milestones/{milestone_id}/{action}": {"post": {
        "summary": "Move a milestone through the state machine",
        "description": "agree (recipient or approver; agreed once both have), submit (recipient, from agreed or "
                       "changes_requested), approve and request-changes (approver, from submitted), pay (hr_admin, "
                       "from approved, after every earlier milestone is paid), cancel (hr_admin, from draft or "
                       "agreed). The wrong person gets 403, a transition the machine does not allow 409.",
        "parameters": [_id("milestone_id"), {"name": "action", "in": "path", "required": True, "schema": {
            "enum": ["agree", "submit", "approve", "request-changes", "pay", "cancel"]}}],
        "requestBody": {"required": False, **json_content(ref("MilestoneActionInput"))},
        "responses": {"200": {"description": "The milestone in its new state", **json_content(ref("Milestone"))},
                      **_errors(400, 401, 403, 404, 409, 422)}}},
}

