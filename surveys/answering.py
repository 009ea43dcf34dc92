"""Answering: checking answers against their questions and casting one anonymous ballot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask_babel import gettext as _

import inputs
from errors import Conflict, Forbidden, NotFound, ValidationError
from extensions import db
from surveys import ballots, reply_links
from surveys.models import MAX_COMMENT_LENGTH, Invitation, Question, Round, Survey

ENPS_RANGE = (0, 10)
LIKERT_RANGE = (1, 5)


class Ticket(NamedTuple):
    """What casting a ballot needs of an invitation and its round, as plain values: every answer takes this
    path, and reading it as one Core row costs a fraction of loading the ORM objects."""

    id: int
    round_id: int
    survey_id: int
    answered: bool
    cell_department_id: int | None
    cell_manager_id: int | None
    cell_tenure_band: str | None
    status: str
    opens_at: datetime
    closes_at: datetime

    @classmethod
    def of(cls, invitation: Invitation) -> Ticket:
        round_ = invitation.round
        return cls(invitation.id, invitation.round_id, round_.survey_id, invitation.answered,
                   invitation.cell_department_id, invitation.cell_manager_id, invitation.cell_tenure_band,
                   round_.status, round_.opens_at, round_.closes_at)

    def is_open(self, now: datetime) -> bool:
        return self.status == "open" and self.opens_at <= now < self.closes_at


class PageQuestion(NamedTuple):
    """A question as the answer page shows it and answering checks it."""

    id: int
    kind: str
    text: str
    text_it: str | None
    options: list[str] | None
    required: bool

    def text_for(self, locale: str) -> str:
        return Question.text_for(self, locale)


class PageSurvey(NamedTuple):
    title: str
    min_group_size: int
    questions: list[PageQuestion]


class PageRound(NamedTuple):
    id: int
    closes_at: datetime


class AnswerPage(NamedTuple):
    """What the answer page and its submission read: the invitation's ticket, the survey and its questions,
    and the invitee's language and time zone (the page opens in them)."""

    ticket: Ticket
    survey: PageSurvey
    round: PageRound
    locale: str | None
    timezone: str

    @classmethod
    def of(cls, invitation: Invitation) -> AnswerPage:
        survey, person = invitation.round.survey, invitation.person
        questions = [PageQuestion(q.id, q.kind, q.text, q.text_it, q.options, q.required) for q in survey.questions]
        return cls(Ticket.of(invitation), PageSurvey(survey.title, survey.min_group_size, questions),
                   PageRound(invitation.round_id, invitation.round.closes_at), person.locale,
                   person.timezone or survey.timezone)


def page_of(row: Sequence[Any]) -> AnswerPage:
    """An ``AnswerPage`` from a row of ``PAGE_COLUMNS`` (``links.page_from_token`` selects them)."""
    ticket = Ticket(*row[:len(Ticket._fields)])
    title, min_group_size, survey_timezone, locale, timezone = row[len(Ticket._fields):]
    questions = questions_of(ticket.survey_id)
    return AnswerPage(ticket, PageSurvey(title, min_group_size, questions),
                      PageRound(ticket.round_id, ticket.closes_at), locale, timezone or survey_timezone)


def questions_of(survey_id: int) -> list[PageQuestion]:
    """The questions of a survey that has a round (callers hold its ticket), in order.

    Such a survey cannot change its questions (``building._require_editable``) and cannot be deleted (its
    rounds restrict it), so they are kept with the database connection they were read on: each connection
    (a pool holds a few per worker) reads them once, and one of another database never sees them.
    """
    connection = db.session.connection()
    frozen = connection.info.setdefault("polso.frozen_questions", {})
    questions = frozen.get(survey_id)
    if questions is None:
        if len(frozen) >= 64:
            frozen.clear()
        questions = frozen[survey_id] = [PageQuestion(*row) for row in connection.execute(
            _QUESTIONS, {"survey_id": survey_id})]
    return questions


def round_is_open(round_id: int, now: datetime) -> bool:
    """Whether the round is open now, as the database says (after a refused answer: did it close meanwhile?)."""
    row = db.session.connection().execute(_WINDOW, {"round_id": round_id}).first()
    return row is not None and row.status == "open" and row.opens_at <= now < row.closes_at


# The answering path's statements, built once: building a statement costs more than running it here.
_TICKET = (sa.select(Invitation.id, Invitation.round_id, Round.survey_id, Invitation.answered,
                     Invitation.cell_department_id, Invitation.cell_manager_id, Invitation.cell_tenure_band,
                     Round.status, Round.opens_at, Round.closes_at)
           .join(Round, Round.id == Invitation.round_id)
           .where(Invitation.round_id == sa.bindparam("round_id"), Invitation.person_id == sa.bindparam("person_id")))
_TICKET_COLUMNS = _TICKET.selected_columns
#: What ``page_of`` reads: a ticket's columns, then the survey's title, group size and time zone; the caller
#: adds the invitee's language and time zone (``Person.locale``, ``Person.timezone``) and picks the invitation.
PAGE_COLUMNS = (*_TICKET_COLUMNS, Survey.title, Survey.min_group_size, Survey.timezone)
_ROUND = sa.select(Round.id).where(Round.id == sa.bindparam("round_id"))
_WINDOW = sa.select(Round.status, Round.opens_at, Round.closes_at).where(Round.id == sa.bindparam("round_id"))
_QUESTIONS = (sa.select(Question.id, Question.kind, Question.text, Question.text_it, Question.options,
                        Question.required)
              .where(Question.survey_id == sa.bindparam("survey_id")).order_by(Question.position))
# The claim, and the round read FOR KEY SHARE in the same statement (one round trip): a round that closed
# meanwhile refuses it, and closing, which locks the round's row FOR UPDATE first, waits for the answers being
# written. KEY SHARE, not SHARE: other updates of the round (its reminders being queued, for seconds at a large
# company) leave answers alone.
_CLAIM = (sa.update(Invitation).where(
    Invitation.id == sa.bindparam("invitation_id"), Invitation.answered.is_(False),
    sa.exists(sa.select(1).where(Round.id == sa.bindparam("open_round"), Round.status == "open")
              .with_for_update(read=True, key_share=True)))
          .values(answered=True))


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


def answer_round(person_id: int, round_id: int, answers: Mapping[Any, Any], now: datetime) -> None:
    """The API's answer: ``person_id``'s invitation to ``round_id`` answered, as ``submit_response`` does.

    :raise NotFound: no such round. :raise Forbidden: the person was not invited to it.
    :raise Conflict: round closed, or already answered. :raise ValidationError: bad answers.
    """
    connection = db.session.connection()
    row = connection.execute(_TICKET, {"round_id": round_id, "person_id": person_id}).first()
    if row is None:
        if connection.execute(_ROUND, {"round_id": round_id}).first() is None:
            raise NotFound(_("No such round."))
        raise Forbidden(_("You are not invited to this round."))
    submit(Ticket(*row), answers, now)


def submit_response(invitation: Invitation, answers: Mapping[Any, Any], now: datetime, *,
                    replies: bool = False) -> dict[int, str]:
    """Cast one anonymous ballot for this invitation and mark the invitation used, atomically (``submit``)."""
    return submit(Ticket.of(invitation), answers, now, replies=replies)


def submit(ticket: Ticket, answers: Mapping[Any, Any], now: datetime, *, replies: bool = False,
           questions: Sequence[PageQuestion] | None = None) -> dict[int, str]:
    """Cast one anonymous ballot for this invitation and mark the invitation used, atomically.

    With ``replies``, each comment gets a secret reply link: returns question id → secret, to be
    shown once and then forgotten (only its hash is sealed in the ballot); else an empty dict.

    The invitation is claimed with a conditional update (``answered`` false →
    true) in the same transaction as the ballot, so of two concurrent
    submits exactly one casts a ballot. The same statement reads the round FOR
    KEY SHARE: a round that closed meanwhile refuses the answer, and closing
    (which locks the round FOR UPDATE) waits for answers being written, so none
    is left behind a closed round.
    :raise Conflict: round closed, or already answered. :raise ValidationError: bad answers.
    """
    if not ticket.is_open(now):
        raise Conflict(_("This survey round is closed."))
    if ticket.answered:
        raise Conflict(_("You have already answered this survey."))
    try:
        connection = db.session.connection()
        if questions is None:
            questions = questions_of(ticket.survey_id)
        values = validate_answers(questions, answers)
        kinds = {q.id: q.kind for q in questions}
        issued = {qid: reply_links.new_secret() for qid in values if replies and kinds[qid] == "text"}
        if connection.execute(_CLAIM, {"invitation_id": ticket.id, "open_round": ticket.round_id}).rowcount != 1:
            if connection.execute(_WINDOW, {"round_id": ticket.round_id}).first().status != "open":
                raise Conflict(_("This survey round is closed."))
            raise Conflict(_("You have already answered this survey."))
        ballots.cast(ticket, values, {qid: hashed for qid, (_secret, hashed) in issued.items()})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {qid: secret for qid, (secret, _hashed) in issued.items()}
