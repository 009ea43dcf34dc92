"""API v1: pulse surveys, opening their rounds, the caller's invitations and anonymous responses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from flask import g, jsonify, request
from flask_babel import gettext as _
from pydantic import Field

from api import bp, core
from api.spec import Input, Int, Output, operation, responses
from errors import ValidationError
from surveys import answering, building, invitations, rounds
from surveys import models as rows

KINDS = Literal["enps", "likert", "choice", "text"]


class QuestionInput(Input):
    """A question written here (kind and text) or taken from the library (library_key)."""

    kind: KINDS = None
    text: Annotated[str, Field(max_length=300)] = None
    text_it: Annotated[str, Field(max_length=300)] | None = None
    options: Annotated[list[str], Field(min_length=2, max_length=10)] | None = None
    required: bool = None
    library_key: str = None


class Question(Output):
    id: int
    position: int
    kind: KINDS
    text: str
    text_it: str | None
    options: list[str] | None
    required: bool
    library_key: str | None


class SurveyInput(Input):
    title: Annotated[str, Field(max_length=200)]
    cadence: Literal["weekly", "biweekly", "monthly", "quarterly", "once"]
    starts_on: str = Field(None, json_schema_extra={"format": "date"})
    open_days: Annotated[int, Field(ge=1, le=28)] = None
    remind_days_before_close: Annotated[Int, Field(ge=0)] = None
    audience_department_id: Int | None = None
    min_group_size: Annotated[int, Field(ge=3, le=10)] = None
    timezone: str = None
    questions: Annotated[list[QuestionInput], Field(min_length=1, max_length=10,
                                                    description="At most 10, at most one of kind enps.")]


class Survey(Output):
    id: int
    title: str
    cadence: str
    starts_on: str = Field(json_schema_extra={"format": "date"})
    open_days: int
    remind_days_before_close: int
    timezone: str
    audience_department_id: int | None
    min_group_size: int
    status: Literal["active", "archived"]
    questions: list[Question]


class SurveyList(Output):
    items: list[Survey]


class Round(Output):
    id: int
    survey_id: int
    opens_at: str = Field(json_schema_extra={"format": "date-time"})
    closes_at: str = Field(json_schema_extra={"format": "date-time"})
    status: Literal["open", "closed"]
    invited: int


class Invitation(Output):
    round_id: int
    survey_id: int
    title: str
    closes_at: str = Field(json_schema_extra={"format": "date-time"})
    questions: list[Question]


class InvitationList(Output):
    items: list[Invitation]


class AnswerInput(Input):
    question_id: Int
    value: Any = Field(description="eNPS: integer 0..10; likert: integer 1..5; choice: one of the options "
                                   "(string); text: string of at most 2000 characters. Omit a question to skip it.")


class ResponseInput(Input):
    answers: list[AnswerInput]


class Recorded(Output):
    status: Literal["recorded"]


def question_json(question: rows.Question, locale: str | None = None) -> dict:
    return {"id": question.id, "position": question.position, "kind": question.kind,
            "text": question.text_for(locale) if locale else question.text, "text_it": question.text_it,
            "options": question.options, "required": question.required, "library_key": question.library_key}


def survey_json(survey: rows.Survey) -> dict:
    return {"id": survey.id, "title": survey.title, "cadence": survey.cadence,
            "starts_on": survey.starts_on.isoformat(), "open_days": survey.open_days,
            "remind_days_before_close": survey.remind_days_before_close, "timezone": survey.timezone,
            "audience_department_id": survey.audience_department_id, "min_group_size": survey.min_group_size,
            "status": survey.status, "questions": [question_json(q) for q in survey.questions]}


def round_json(round_: rows.Round) -> dict:
    return {"id": round_.id, "survey_id": round_.survey_id, "opens_at": round_.opens_at.isoformat(),
            "closes_at": round_.closes_at.isoformat(), "status": round_.status,
            "invited": round_.invited_count}


@bp.get("/surveys")
@core.token_required()
@operation(responses=responses({200: SurveyList}, 401))
def surveys_list():
    """Surveys: all for hr_admin, those one was invited to for others"""
    return jsonify({"items": [survey_json(s) for s in building.surveys_visible_to(g.api_user)]})


@bp.post("/surveys")
@core.token_required("hr_admin")
@operation(json=SurveyInput, responses=responses({201: Survey}, 400, 401, 403))
def surveys_create():
    """Create a pulse survey (hr_admin)"""
    survey = building.create_survey(core.json_body(), datetime.now(UTC), by=g.api_user)
    return jsonify(survey_json(survey)), 201


@bp.get("/surveys/<int:survey_id>")
@core.token_required("hr_admin")
@operation(responses=responses({200: Survey}, 401, 403, 404))
def surveys_get(survey_id: int):
    """One survey (hr_admin)"""
    return jsonify(survey_json(building.get_survey(survey_id)))


@bp.post("/surveys/<int:survey_id>/rounds")
@core.token_required("hr_admin")
@operation(responses=responses({201: Round}, 401, 403, 404, 409))
def rounds_open(survey_id: int):
    """Open a round now and invite the audience (hr_admin)"""
    round_ = rounds.open_round_now(building.get_survey(survey_id), datetime.now(UTC), by=g.api_user)
    return jsonify(round_json(round_)), 201


@bp.get("/me/invitations")
@core.token_required()
@operation(responses=responses({200: InvitationList}, 401))
def my_invitations():
    """Open rounds the caller is invited to and has not answered, with their questions"""
    locale = g.api_user.locale or request.accept_languages.best_match(("en", "it")) or "en"
    items = []
    for invitation in invitations.open_invitations(g.api_user, datetime.now(UTC)):
        round_ = invitation.round
        items.append({
            "round_id": round_.id, "survey_id": round_.survey_id, "title": round_.survey.title,
            "closes_at": round_.closes_at.isoformat(),
            "questions": [question_json(q, locale) for q in round_.survey.questions],
        })
    return jsonify({"items": items})


@bp.post("/rounds/<int:round_id>/responses")
@core.token_required(load_person=False)
@operation(json=ResponseInput, responses=responses({201: Recorded}, 400, 401, 403, 404, 409))
def responses_create(round_id: int):
    """Answer a round as the invited employee; stored anonymously"""
    raw: dict = {}
    errors: dict[str, str] = {}
    for item in core.json_body()["answers"]:  # each one {question_id, value}: checked by ResponseInput
        qid = item["question_id"]
        if qid in raw:
            errors[f"answers.{qid}"] = _("Answered twice.")
        else:
            raw[qid] = item["value"]
    if errors:
        raise ValidationError(_("Some answers are not valid."), errors)
    answering.answer_round(g.api_user_id, round_id, raw, datetime.now(UTC))
    return jsonify({"status": "recorded"}), 201
