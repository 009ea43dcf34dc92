"""API v1: round results and trends, under the same guard and access rules as the pages."""

from __future__ import annotations

from typing import Literal

from flask import g, jsonify, request
from flask_babel import get_locale
from pydantic import Field

import inputs
from api import bp, core
from api.spec import Output, Query, QueryInt, operation, responses
from dashboards import heatmap, services
from dashboards import trend as trends


class ENPSResult(Output):
    """eNPS on the -100..100 scale with its confidence interval; the floats are null when n is 0."""

    n: int
    promoters: int
    passives: int
    detractors: int
    score: float | None
    ci_low: float | None
    ci_high: float | None
    margin_of_error: float | None


class QuestionResult(Output):
    """A likert question's favourability, a choice question's counts per option, or suppressed (no numbers)."""

    question_id: int
    kind: Literal["enps", "likert", "choice", "text"]
    suppressed: bool
    reason: str = Field(None, description="Why it is suppressed: below_k.")
    n: int = None
    favorable: float | None = None
    neutral: float | None = None
    unfavorable: float | None = None
    mean: float | None = None
    counts: list[int] = Field(None, description="Choice questions: answers per option, in the options' order.")


class ParticipationResult(Output):
    responses: int
    invited: int
    rate: float | None = Field(description="0..100, null when nobody was invited.")


class GroupResult(Output):
    """Results, or {suppressed: true, reason, min_group_size} with no numbers at all."""

    suppressed: bool
    reason: str = Field(None, description="Why nothing is shown: below_k, round_open, ...")
    min_group_size: int = Field(None, description="The survey's k, when suppressed.")
    n: int = None
    enps: ENPSResult | None = None
    questions: list[QuestionResult] = None
    participation: ParticipationResult = None


class RoundResults(GroupResult):
    round_id: int


class DepartmentResult(GroupResult):
    department_id: int
    name: str


class TrendPoint(Output):
    round_id: int
    closes_at: str = Field(json_schema_extra={"format": "date-time"})
    company: GroupResult
    significant_change: bool = Field(description="The company eNPS changed significantly since the round before.")
    departments: list[DepartmentResult] = Field(None, description="With group_by=department.")


class Trend(Output):
    survey_id: int
    min_group_size: int
    points: list[TrendPoint]


class HeatmapColumn(Output):
    id: str = Field(description="enps, or q<question id> for a likert question's favorability.")
    kind: Literal["enps", "likert"]
    label: str = Field(description="Short label: the question's driver, in the caller's language.")
    text: str
    question_id: int = None


class HeatmapGroup(Output):
    kind: Literal["department", "manager"]
    id: int
    name: str


class HeatmapCell(Output):
    """A shown cell's value (eNPS, or % favorable) with its significance; a suppressed cell: the reason only."""

    column: str
    suppressed: bool
    value: float = Field(None, description="Absent when suppressed.")
    reason: str = Field(None, description="Why it is suppressed: below_k, too_few_invited, overlap, ...")
    significant: bool = Field(None, description="Shown cells: differs from the rest of the company after the "
                                                "Benjamini-Hochberg correction over every shown cell.")


class HeatmapRow(Output):
    group: HeatmapGroup
    cells: list[HeatmapCell]


class Heatmap(Output):
    columns: list[HeatmapColumn]
    rows: list[HeatmapRow]


class HeatmapQuery(Query):
    round_id: QueryInt = None


class ResultsQuery(Query):
    department_id: QueryInt = None
    manager_id: QueryInt = None


class TrendQuery(Query):
    group_by: Literal["department"] = None


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
@operation(query=ResultsQuery, responses=responses({200: RoundResults}, 401, 403, 404,
                                                   e403="Not allowed to see these results"))
def round_results(round_id: int):
    """Results of a closed round for the company, a department subtree or a manager's team"""
    round_ = services.get_round(round_id)
    scope = services.scope_for(g.api_user, _int_arg("department_id"), _int_arg("manager_id"), round_=round_)
    if round_.status != "closed":
        return jsonify({"round_id": round_id, "suppressed": True, "reason": "round_open"})
    survey = round_.survey
    group = services.results_for_round(survey, round_, scope)
    return jsonify({"round_id": round_id, **group_json(group, survey.min_group_size)})


@bp.get("/surveys/<int:survey_id>/trend")
@core.token_required()
@operation(query=TrendQuery, responses=responses({200: Trend}, 401, 403, 404,
                                                 e403="Not allowed to see these results"))
def survey_trend(survey_id: int):
    """Company eNPS per closed round, optionally by department (hr_admin)"""
    survey = services.get_survey(survey_id)
    trend = trends.survey_trend(survey, g.api_user, by_department=core.query().group_by == "department")
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


@bp.get("/surveys/<int:survey_id>/heatmap")
@core.token_required()
@operation(query=HeatmapQuery, responses=responses({200: Heatmap}, 401, 403, 404, 409,
                                                   e403="Neither HR nor a manager",
                                                   e409="The round is still open"))
def survey_heatmap(survey_id: int):
    """eNPS and driver favorability of every group the caller may see in one closed round (default: the latest)"""
    survey = services.get_survey(survey_id)
    round_ = heatmap.round_for(survey, core.query().round_id, g.api_user)
    hm = heatmap.heatmap(survey, round_, g.api_user, str(get_locale() or "en"))
    columns = []
    for c in hm.columns:
        item = {"id": c.id, "kind": c.kind, "label": c.short, "text": c.full}
        if c.question_id is not None:
            item["question_id"] = c.question_id
        columns.append(item)
    rows = []
    for row in hm.rows:
        cells = []
        for cell in row.cells:
            if cell.suppressed:
                cells.append({"column": cell.column, "suppressed": True, "reason": cell.reason})
            else:
                cells.append({"column": cell.column, "suppressed": False, "value": cell.value,
                              "significant": cell.significant})
        rows.append({"group": {"kind": row.kind, "id": row.key, "name": row.name}, "cells": cells})
    return jsonify({"columns": columns, "rows": rows})
