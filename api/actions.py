"""API v1: action plans on survey drivers, with the driver's figures since the baseline round.

Figures come from ``actions.figures``, which reads them through the anonymity guard: a suppressed
round carries its reason and no number. ``change_significant`` is ``scoring``'s test of the change
from the baseline to the latest round shown since (null until both are shown).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from flask import g, jsonify
from pydantic import Field

from actions import figures, services
from actions.models import STATUSES, Action
from actions.reminders import is_overdue
from api import bp, core
from api.spec import Input, Int, Output, Query, operation, responses

STATUS = Literal[STATUSES]  # type: ignore[valid-type]
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Date = Annotated[str, Field(json_schema_extra={"format": "date"})]
Email = Annotated[str, Field(json_schema_extra={"format": "email"})]


class ActionInput(Input):
    title: Annotated[str, Field(max_length=200)]
    description: str | None = Field(None, description="What will change.")
    survey_id: Int
    question_id: Int | None = Field(None, description="The driver: one of the survey's Likert questions; "
                                                      "absent or null for eNPS.")
    department_id: Int | None = Field(None, description="For a department subtree (HR only).")
    manager_id: Int | None = Field(None, description="For a manager's team; without either, the whole company "
                                                     "(HR only). Not both.")
    owner_email: Email = Field(description="An active person, who sees it through and is reminded when overdue.")
    due_on: Date | None = None
    status: STATUS = "planned"


class ActionPatch(Input):
    title: Annotated[str, Field(max_length=200)] = None
    description: str | None = None
    owner_email: Email = None
    due_on: Date | None = None
    status: STATUS = None
    note: str = Field(None, description="An update to post; kept with any status change.")


class ActionsQuery(Query):
    status: STATUS = None


class ActionFigure(Output):
    """The driver in one closed round: favorable % (Likert) or eNPS, or suppressed with no number."""

    round_id: int
    closes_on: Date
    baseline: bool
    suppressed: bool
    reason: str = Field(None, description="Why it is suppressed: below_k, too_few_invited, combined, no_results, "
                                          "not_yours (the caller may not see this group's results of this round).")
    n: int = None
    value: float = Field(None, description="Favorable % (0..100) or eNPS (-100..100).")
    ci_low: float = None
    ci_high: float = None


class ActionUpdateOut(Output):
    author_email: str
    body: str | None
    from_status: STATUS | None
    to_status: STATUS | None
    created_at: DateTime


class ActionSummary(Output):
    id: int
    title: str
    description: str | None
    survey_id: int
    question_id: int | None
    department_id: int | None
    manager_id: int | None
    owner_email: str
    due_on: Date | None
    status: STATUS
    overdue: bool
    created_by_email: str
    created_at: DateTime
    updated_at: DateTime
    baseline_round_id: int | None = Field(description="The survey's latest closed round when it was planned.")


class ActionDetail(ActionSummary):
    figures: list[ActionFigure] = Field(description="The baseline round and every closed round since, oldest first.")
    change_significant: bool | None = Field(description="Whether the driver moved beyond noise from the baseline to "
                                                        "the latest round shown since; null until both are shown.")
    change_delta: float | None = Field(description="That change, in percentage points or eNPS points.")
    updates: list[ActionUpdateOut]


class ActionList(Output):
    items: list[ActionSummary]


def summary_json(action: Action, now: datetime) -> dict:
    return {"id": action.id, "title": action.title, "description": action.description,
            "survey_id": action.survey_id, "question_id": action.question_id,
            "department_id": action.department_id, "manager_id": action.manager_id,
            "owner_email": action.owner.email, "due_on": action.due_on.isoformat() if action.due_on else None,
            "status": action.status, "overdue": is_overdue(action, now),
            "created_by_email": action.created_by.email, "created_at": action.created_at.isoformat(),
            "updated_at": action.updated_at.isoformat(), "baseline_round_id": action.baseline_round_id}


def figure_json(f: figures.RoundFigure) -> dict:
    out = {"round_id": f.round_id, "closes_on": f.closes_on.isoformat(), "baseline": f.baseline,
           "suppressed": not f.shown}
    if f.shown:
        out.update(n=f.n, value=f.value, ci_low=f.ci_low, ci_high=f.ci_high)
    else:
        out["reason"] = f.reason
    return out


def detail_json(action: Action, now: datetime) -> dict:
    shown = figures.figures(action, g.api_user)
    change = figures.change(action, shown)
    return {**summary_json(action, now), "figures": [figure_json(f) for f in shown],
            "change_significant": change.significant if change else None,
            "change_delta": change.delta if change else None,
            "updates": [{"author_email": u.author.email, "body": u.body, "from_status": u.from_status,
                         "to_status": u.to_status, "created_at": u.created_at.isoformat()} for u in action.updates]}


@bp.get("/actions")
@core.token_required()
@operation(query=ActionsQuery, responses=responses({200: ActionList}, 401))
def actions_list():
    """Actions the caller sees: HR all; others the company's, their own team's and departments', and teams they
    manage; open ones first"""
    now = datetime.now(UTC)
    found = services.visible_actions(g.api_user, status=core.query().status)
    return jsonify({"items": [summary_json(a, now) for a in found]})


@bp.post("/actions")
@core.token_required()
@operation(json=ActionInput, responses=responses(
    {201: ActionDetail}, 400, 401, 403,
    e403="Not HR, or a manager planning for a group other than their own team or one below it",
    e422="Invalid fields, each named with its message (an unknown survey, driver, group or owner too)"))
def actions_create():
    """Plan an action on a driver for a group (hr_admin; a manager for their own team or one below it)

    The survey's latest closed round is its baseline."""
    now = datetime.now(UTC)
    action = services.create_action(g.api_user, core.json_body(), now)
    return jsonify(detail_json(action, now)), 201


@bp.get("/actions/<int:action_id>")
@core.token_required()
@operation(responses=responses({200: ActionDetail}, 401, 404, e404="No such action, or not one the caller sees"))
def actions_get(action_id: int):
    """An action with its driver's figures since the baseline and whether it changed beyond noise"""
    now = datetime.now(UTC)
    return jsonify(detail_json(services.get_action(action_id, g.api_user), now))


@bp.patch("/actions/<int:action_id>")
@core.token_required()
@operation(json=ActionPatch, responses=responses(
    {200: ActionDetail}, 400, 401, 403, 404, e403="Not HR, a manager of the action's team or its owner",
    e404="No such action, or not one the caller sees"))
def actions_patch(action_id: int):
    """Change an action's title, description, owner, due date or status, and post an update note"""
    now = datetime.now(UTC)
    action = services.update_action(services.get_action(action_id, g.api_user), g.api_user, core.json_body(), now)
    return jsonify(detail_json(action, now))
