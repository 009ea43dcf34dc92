"""API v1: round results and trends, under the same guard and access rules as the pages."""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

import inputs
from api import bp, core
from api.openapi import error_responses
from dashboards import services
from dashboards import trend as trends
from errors import ValidationError


def enps_json(result) -> dict:
    return {"n": result.n, "promoters": result.promoters, "passives": result.passives,
            "detractors": result.detractors, "score": result.score, "ci_low": result.ci_low,
            "ci_high": result.ci_high, "margin_of_error": result.margin_of_error}


def group_json(group: services.GroupResult, k: int) -> dict:
    """A group's results, or ``{suppressed: true, reason}`` with no number at all."""
    if not group.shown:
        return {"suppressed": True, "reason": group.reason, "min_group_size": k}
    questions = []
    for q in group.questions:
        item = {"question_id": q.question.id, "kind": q.question.kind}
        if q.hidden:
            item.update(suppressed=True, reason="below_k")
        elif q.favorability is not None:
            f = q.favorability
            item.update(suppressed=False, n=f.n, favorable=f.favorable, neutral=f.neutral,
                        unfavorable=f.unfavorable, mean=f.mean)
        else:
            item.update(suppressed=False, counts=q.histogram)
        questions.append(item)
    body = {"suppressed": False, "n": group.n, "enps": enps_json(group.enps) if group.enps else None,
            "questions": questions}
    if group.participation:
        body["participation"] = {"responses": group.participation.responses,
                                 "invited": group.participation.invited, "rate": group.participation.rate}
    return body


def _int_arg(name: str) -> int | None:
    return inputs.read_id(request.args.get(name), name, required=False)


@bp.get("/rounds/<int:round_id>/results")
@core.token_required()
def round_results(round_id: int):
    round_ = services.get_round(round_id)
    scope = services.scope_for(g.api_user, _int_arg("department_id"), _int_arg("manager_id"), round_=round_)
    if round_.status != "closed":
        return jsonify({"round_id": round_id, "suppressed": True, "reason": "round_open"})
    survey = round_.survey
    group = services.results_for_round(survey, round_, scope)
    return jsonify({"round_id": round_id, **group_json(group, survey.min_group_size)})


@bp.get("/surveys/<int:survey_id>/trend")
@core.token_required()
def survey_trend(survey_id: int):
    survey = services.get_survey(survey_id)
    group_by = request.args.get("group_by")
    if group_by not in (None, "", "department"):
        raise ValidationError(_("Some fields are not valid."), {"group_by": _("Must be department or empty.")})
    trend = trends.survey_trend(survey, g.api_user, by_department=group_by == "department")
    k = survey.min_group_size
    points = []
    for point in trend.points:
        item = {"round_id": point.round.id, "closes_at": point.round.closes_at.isoformat(),
                "company": group_json(point.company, k), "significant_change": point.significant_change}
        if point.departments is not None:
            item["departments"] = [{"department_id": d.key, "name": d.label, **group_json(d, k)}
                                   for d in point.departments]
        points.append(item)
    return jsonify({"survey_id": survey.id, "min_group_size": survey.min_group_size, "points": points})


_GROUP = {"type": "object", "description": "Results, or {suppressed: true, reason} with no numbers.",
          "properties": {"suppressed": {"type": "boolean"}, "reason": {"type": "string"},
                         "n": {"type": "integer"}, "enps": {"$ref": "#/components/schemas/ENPSResult"},
                         "questions": {"type": "array", "items": {"type": "object"}},
                         "participation": {"type": "object"}}}
OPENAPI_SCHEMAS = {
    "ENPSResult": {"type": ["object", "null"], "properties": {
        k: {"type": ["number", "null"]} for k in ("n", "promoters", "passives", "detractors", "score", "ci_low",
                                                  "ci_high", "margin_of_error")}},
    "GroupResult": _GROUP,
}
_ERR = error_responses(401, 403, 404, 422, e403="Not allowed to see these results")
OPENAPI_PATHS = {
    "/rounds/{round_id}/results": {"get": {
        "summary": "Results of a closed round for the company, a department subtree or a manager's team",
        "parameters": [{"name": "round_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                       {"name": "department_id", "in": "query", "schema": {"type": "integer"}},
                       {"name": "manager_id", "in": "query", "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "Results or suppressed", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/GroupResult"}}}}, **_ERR}}},
    "/surveys/{survey_id}/trend": {"get": {
        "summary": "Company eNPS per closed round, optionally by department (hr_admin)",
        "parameters": [{"name": "survey_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                       {"name": "group_by", "in": "query", "schema": {"enum": ["department"]}}],
        "responses": {"200": {"description": "Points", "content": {"application/json": {
            "schema": {"type": "object"}}}}, **_ERR}}},
}
