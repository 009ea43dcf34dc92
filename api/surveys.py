"""API v1: surveys, rounds, invitations and responses."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, jsonify, request
from flask_babel import gettext as _

from api import bp, core
from errors import ValidationError
from surveys import services
from surveys.models import Question, Round, Survey


def question_json(question: Question, locale: str | None = None) -> dict:
    return {"id": question.id, "position": question.position, "kind": question.kind,
            "text": question.text_for(locale) if locale else question.text, "text_it": question.text_it,
            "options": question.options, "required": question.required, "library_key": question.library_key}


def survey_json(survey: Survey) -> dict:
    return {"id": survey.id, "title": survey.title, "cadence": survey.cadence,
            "starts_on": survey.starts_on.isoformat(), "open_days": survey.open_days,
            "remind_days_before_close": survey.remind_days_before_close, "timezone": survey.timezone,
            "audience_department_id": survey.audience_department_id, "min_group_size": survey.min_group_size,
            "status": survey.status, "questions": [question_json(q) for q in survey.questions]}


def round_json(round_: Round) -> dict:
    return {"id": round_.id, "survey_id": round_.survey_id, "opens_at": round_.opens_at.isoformat(),
            "closes_at": round_.closes_at.isoformat(), "status": round_.status,
            "invited": round_.invited_count}


@bp.get("/surveys")
@core.token_required()
def surveys_list():
    return jsonify({"items": [survey_json(s) for s in services.surveys_visible_to(g.api_user)]})


@bp.post("/surveys")
@core.token_required("hr_admin")
def surveys_create():
    survey = services.create_survey(core.json_body(), datetime.now(UTC))
    return jsonify(survey_json(survey)), 201


@bp.get("/surveys/<int:survey_id>")
@core.token_required("hr_admin")
def surveys_get(survey_id: int):
    return jsonify(survey_json(services.get_survey(survey_id)))


@bp.post("/surveys/<int:survey_id>/rounds")
@core.token_required("hr_admin")
def rounds_open(survey_id: int):
    round_ = services.open_round_now(services.get_survey(survey_id), datetime.now(UTC))
    return jsonify(round_json(round_)), 201


@bp.get("/me/invitations")
@core.token_required()
def my_invitations():
    locale = g.api_user.locale or request.accept_languages.best_match(("en", "it")) or "en"
    items = []
    for invitation in services.open_invitations(g.api_user, datetime.now(UTC)):
        round_ = invitation.round
        items.append({
            "round_id": round_.id, "survey_id": round_.survey_id, "title": round_.survey.title,
            "closes_at": round_.closes_at.isoformat(),
            "questions": [question_json(q, locale) for q in round_.survey.questions],
        })
    return jsonify({"items": items})


@bp.post("/rounds/<int:round_id>/responses")
@core.token_required()
def responses_create(round_id: int):
    data = core.json_body()
    answers = data.get("answers")
    if not isinstance(answers, list):
        raise ValidationError(_("Some answers are not valid."), {"answers": _("Must be a list of answers.")})
    raw: dict = {}
    errors: dict[str, str] = {}
    for index, item in enumerate(answers):
        qid = item.get("question_id") if isinstance(item, dict) else None
        if isinstance(qid, bool) or not isinstance(qid, int):
            errors[f"answers.{index}.question_id"] = _("Must be a question id.")
        elif qid in raw:
            errors[f"answers.{qid}"] = _("Answered twice.")
        else:
            raw[qid] = item.get("value")
    if errors:
        raise ValidationError(_("Some answers are not valid."), errors)
    invitation = services.invitation_for(g.api_user, round_id)
    services.submit_response(invitation, raw, datetime.now(UTC), from_form=False)
    return jsonify({"status": "recorded"}), 201
