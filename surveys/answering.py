"""Answering: checking answers against their questions and casting one anonymous ballot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

import inputs
from errors import Conflict, ValidationError
from extensions import db
from surveys import ballots, reply_links
from surveys.models import MAX_COMMENT_LENGTH, Invitation, Question, Round

ENPS_RANGE = (0, 10)
LIKERT_RANGE = (1, 5)


def validate_answers(questions: Sequence[Question],
                     answers: Mapping[Any, Any]) -> dict[int, tuple[int | None, str | None]]:
    """Check answers against their questions; return question id → (int value, text value).

    ``answers`` maps question ids (ints) to values as the API sends them: an int for a scale
    question, text for a choice or a comment (the answer page turns its fields into the same,
    ``surveys.forms.answers_from_form``). Skipped questions (no value, or an empty one) are left
    out, unless required.
    :raise ValidationError: with a field ``answers.<question id>`` for each problem.
    """
    by_id = {q.id: q for q in questions}
    errors: dict[str, str] = {}
    values: dict[int, tuple[int | None, str | None]] = {}
    given: dict[int, Any] = {}
    for key, value in answers.items():
        qid = key if inputs.is_int(key) else None
        if qid is None or qid not in by_id:
            errors[f"answers.{key}"] = _("Not a question of this survey.")
        else:
            given[qid] = value
    for question in questions:
        name = f"answers.{question.id}"
        value = given.get(question.id)
        if value is None or (isinstance(value, str) and not value.strip()):
            if question.required:
                errors[name] = _("This question needs an answer.")
            continue
        if question.kind in ("enps", "likert"):
            low, high = ENPS_RANGE if question.kind == "enps" else LIKERT_RANGE
            number = value if inputs.is_int(value) else None
            if number is None or not low <= number <= high:
                errors[name] = _("Choose a whole number from %(low)s to %(high)s.", low=low, high=high)
            else:
                values[question.id] = (number, None)
        elif question.kind == "choice":
            options = question.options or []
            if isinstance(value, str) and value in options:
                values[question.id] = (options.index(value), None)
            else:
                errors[name] = _("Choose one of the listed options.")
        else:
            if not isinstance(value, str):
                errors[name] = _("Must be text.")
            elif len(value.strip()) > MAX_COMMENT_LENGTH:
                errors[name] = _("At most %(max)s characters.", max=MAX_COMMENT_LENGTH)
            else:
                values[question.id] = (None, value.strip())
    if not errors and not values:
        errors["answers"] = _("Answer at least one question.")
    if errors:
        raise ValidationError(_("Some answers are not valid."), errors)
    return values


def submit_response(invitation: Invitation, answers: Mapping[Any, Any], now: datetime, *,
                    replies: bool = False) -> dict[int, str]:
    """Cast one anonymous ballot for this invitation and mark the invitation used, atomically.

    With ``replies``, each comment gets a secret reply link: returns question id → secret, to be
    shown once and then forgotten (only its hash is sealed in the ballot); else an empty dict.

    The invitation is claimed with a conditional update (``answered`` false →
    true) in the same transaction as the ballot, so of two concurrent
    submits exactly one casts a ballot. The round is then read FOR SHARE: a
    round that closed meanwhile refuses the answer, and closing waits for
    answers being written, so none is left behind a closed round.
    :raise Conflict: round closed, or already answered. :raise ValidationError: bad answers.
    """
    round_ = invitation.round
    if not round_.is_open(now):
        raise Conflict(_("This survey round is closed."))
    if invitation.answered:
        raise Conflict(_("You have already answered this survey."))
    values = validate_answers(round_.survey.questions, answers)
    kinds = {q.id: q.kind for q in round_.survey.questions}
    issued = {qid: reply_links.new_secret() for qid in values if replies and kinds[qid] == "text"}
    try:
        claimed = db.session.execute(sa.update(Invitation).where(
            Invitation.id == invitation.id, Invitation.answered.is_(False)).values(answered=True))
        if claimed.rowcount != 1:
            raise Conflict(_("You have already answered this survey."))
        status = db.session.scalar(sa.select(Round.status).where(Round.id == round_.id).with_for_update(read=True))
        if status != "open":
            raise Conflict(_("This survey round is closed."))
        ballots.cast(invitation, values, {qid: hashed for qid, (_secret, hashed) in issued.items()})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {qid: secret for qid, (secret, _hashed) in issued.items()}
