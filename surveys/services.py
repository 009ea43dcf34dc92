"""Business rules for pulse surveys.

The HTML pages, the JSON API and ``pulses tick`` all call these functions,
so they accept and refuse alike. Each refusal raises from ``errors`` before
anything is written. Functions that depend on time take ``now`` (UTC).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_datetime
from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import gettext as _

import inputs
from dashboards.results import published_rows, store_round_results
from errors import Conflict, Forbidden, NotFound, ValidationError
from extensions import db
from mail import services as mail
from people.models import Department, Person
from surveys import ballots, links, membership
from surveys.models import (
    CADENCES,
    MAX_COMMENT_LENGTH,
    MAX_QUESTIONS,
    QUESTION_KINDS,
    Invitation,
    LibraryQuestion,
    Question,
    Round,
    Survey,
)

logger = logging.getLogger("polso.surveys")
OPENING_TIME = time(9, 0)
CADENCE_STEP = {
    "weekly": relativedelta(weeks=1),
    "biweekly": relativedelta(weeks=2),
    "monthly": relativedelta(months=1),
    "quarterly": relativedelta(months=3),
}
MAX_OPEN_DAYS = {"weekly": 7, "biweekly": 14, "monthly": 28, "quarterly": 28, "once": 28}
ENPS_RANGE = (0, 10)
LIKERT_RANGE = (1, 5)
_DIGITS = re.compile(r"^\s*-?\d+\s*$")


# --- Schedules --------------------------------------------------------------------------


def occurrence(survey: Survey, index: int) -> date:
    """The date of the ``index``-th round (0-based).

    Months are added to the start date, not to the previous occurrence, so a
    monthly survey started on 31 January runs on 28/29 February, then 31 March.
    """
    if survey.cadence == "once":
        if index:
            raise ValueError("a survey that runs once has one occurrence")
        return survey.starts_on
    return survey.starts_on + CADENCE_STEP[survey.cadence] * index


def window(survey: Survey, day: date) -> tuple[datetime, datetime, datetime | None]:
    """(opens_at, closes_at, remind_at) in UTC for the round held on ``day``.

    Times are 09:00 wall-clock in the survey's time zone, so a window that
    crosses a daylight-saving change still opens and closes at 09:00 local.
    """
    tz = ZoneInfo(survey.timezone)

    def at(d: date) -> datetime:
        return datetime.combine(d, OPENING_TIME, tzinfo=tz).astimezone(UTC)

    close_day = day + timedelta(days=survey.open_days)
    remind = survey.remind_days_before_close
    return at(day), at(close_day), (at(close_day - timedelta(days=remind)) if remind else None)


def due_occurrence(survey: Survey, now: datetime) -> date | None:
    """The occurrence whose window contains ``now``, if any (missed windows are not reopened)."""
    if survey.status != "active":
        return None
    index = 0
    while True:
        try:
            day = occurrence(survey, index)
        except ValueError:
            return None
        opens, closes, _remind = window(survey, day)
        if opens > now:
            return None
        if now < closes:
            return day
        index += 1


# --- Validation -------------------------------------------------------------------------


def _int_in(name: str, value: Any, low: int, high: int, errors: dict[str, str]) -> int | None:
    return inputs.collect(errors, inputs.read_int, value, name, low=low, high=high, from_text=False)


def _clean_question(raw: Any, prefix: str, errors: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        errors[prefix] = _("Must be an object with kind and text.")
        return None
    out: dict[str, Any] = {}
    library_key = raw.get("library_key")
    if library_key is not None:
        entry = db.session.scalar(sa.select(LibraryQuestion).where(LibraryQuestion.key == library_key)) \
            if isinstance(library_key, str) else None
        if entry is None:
            errors[f"{prefix}.library_key"] = _("Not a question of the library.")
            return None
        out.update(kind=entry.kind, text=entry.text_en, text_it=entry.text_it,
                   library_key=library_key, driver=entry.driver, options=None)
    else:
        kind = raw.get("kind")
        if kind not in QUESTION_KINDS:
            errors[f"{prefix}.kind"] = _("Must be one of: %(choices)s.", choices=", ".join(QUESTION_KINDS))
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip():
            errors[f"{prefix}.text"] = _("A question needs its text.")
        elif len(text.strip()) > 300:
            errors[f"{prefix}.text"] = _("At most %(max)s characters.", max=300)
        text_it = raw.get("text_it")
        if text_it is not None and (not isinstance(text_it, str) or len(text_it.strip()) > 300):
            errors[f"{prefix}.text_it"] = _("At most %(max)s characters.", max=300)
        options = raw.get("options")
        if kind == "choice":
            if (not isinstance(options, list) or not 2 <= len(options) <= 10
                    or not all(isinstance(o, str) and o.strip() for o in options)):
                errors[f"{prefix}.options"] = _("A choice question needs 2 to 10 non-empty options.")
            elif len({o.strip().lower() for o in options}) != len(options):
                errors[f"{prefix}.options"] = _("Options must be different from each other.")
            elif any(len(o.strip()) > 100 for o in options):
                errors[f"{prefix}.options"] = _("At most %(max)s characters.", max=100)
            else:
                options = [o.strip() for o in options]
        elif options not in (None, []):
            errors[f"{prefix}.options"] = _("Only choice questions have options.")
        out.update(kind=kind, text=text.strip() if isinstance(text, str) else text,
                   text_it=(text_it or "").strip() or None if isinstance(text_it, str | None) else None,
                   options=options if kind == "choice" else None, library_key=None, driver=None)
    required = raw.get("required", False)
    if not isinstance(required, bool):
        errors[f"{prefix}.required"] = _("Must be true or false.")
    out["required"] = required is True
    return out


def clean_questions(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    """Check a list of questions against the survey rules (at most 10, at most one eNPS)."""
    if not isinstance(raw, list) or not raw:
        errors["questions"] = _("A survey needs at least one question.")
        return []
    if len(raw) > MAX_QUESTIONS:
        errors["questions"] = _("A survey has at most %(max)s questions.", max=MAX_QUESTIONS)
        return []
    cleaned = [_clean_question(q, f"questions.{i}", errors) for i, q in enumerate(raw)]
    cleaned = [q for q in cleaned if q is not None]
    if sum(q["kind"] == "enps" for q in cleaned) > 1:
        errors["questions"] = _("A survey has at most one eNPS question.")
    return cleaned


def _clean_settings(data: Mapping[str, Any], survey: Survey | None, now: datetime) -> tuple[dict, dict]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if survey is None or "title" in data:
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            errors["title"] = _("A title is required.")
        else:
            values["title"] = inputs.collect(errors, inputs.read_text, title, "title", max_length=200,
                                             single_line=True)
    cadence = data.get("cadence", survey.cadence if survey else None)
    values["cadence"] = inputs.collect(errors, inputs.read_choice, cadence, "cadence", CADENCES)
    if "starts_on" in data or survey is None:
        starts = data.get("starts_on")
        starts = now.date() if starts in (None, "") else inputs.collect(errors, inputs.read_date, starts, "starts_on")
        if starts is not None:
            values["starts_on"] = starts
    for name, default in (("open_days", 5), ("remind_days_before_close", 2)):
        if name in data or survey is None:
            raw = data.get(name, default)
            values[name] = _int_in(name, raw, 0 if name.startswith("remind") else 1, 28, errors)
        else:
            values[name] = getattr(survey, name)
    if "open_days" not in errors and cadence in MAX_OPEN_DAYS and values["open_days"] \
            and values["open_days"] > MAX_OPEN_DAYS[cadence]:
        errors["open_days"] = _("With this cadence a round can stay open at most %(max)s days.",
                                max=MAX_OPEN_DAYS[cadence])
    if not errors.keys() & {"open_days", "remind_days_before_close"} \
            and values["remind_days_before_close"] >= values["open_days"]:
        errors["remind_days_before_close"] = _("The reminder must come before the round closes.")
    if "audience_department_id" in data:
        dep = data.get("audience_department_id")
        if dep is not None:
            dep = inputs.collect(errors, inputs.read_id, dep, "audience_department_id")
            if dep is not None and db.session.get(Department, dep) is None:
                errors["audience_department_id"] = _("No department with this id.")
        values["audience_department_id"] = dep
    if "min_group_size" in data or survey is None:
        k = data.get("min_group_size")
        if k is None:
            k = current_app.config["POLSO_MIN_GROUP_SIZE"]
        values["min_group_size"] = _int_in("min_group_size", k, 3, 10, errors)
    if "timezone" in data:
        values["timezone"] = inputs.collect(errors, inputs.read_timezone, data["timezone"], "timezone")
    return values, errors


def create_survey(data: Mapping[str, Any], now: datetime) -> Survey:
    """Create an active survey with its questions.

    :raise ValidationError: naming each bad field; nothing is stored.
    """
    values, errors = _clean_settings(data, None, now)
    questions = clean_questions(data.get("questions"), errors)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    survey = Survey(**values, status="active", timezone=values.get("timezone")
                    or current_app.config["POLSO_DEFAULT_TIMEZONE"])
    survey.questions = [Question(position=i + 1, **q) for i, q in enumerate(questions)]
    db.session.add(survey)
    db.session.commit()
    return survey


def has_rounds(survey: Survey) -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Round).where(Round.survey_id == survey.id)) > 0


def _require_editable(survey: Survey) -> None:
    if survey.status == "archived":
        raise Conflict(_("This survey is archived."))
    if has_rounds(survey):
        raise Conflict(_("Questions and the group size are locked once the first round has opened."))


def update_survey(survey: Survey, data: Mapping[str, Any], now: datetime) -> Survey:
    """Change a survey's settings; the group size, the audience (and questions) only before its first round."""
    if survey.status == "archived":
        raise Conflict(_("This survey is archived."))
    locked = has_rounds(survey)
    values, errors = _clean_settings(data, survey, now)
    if locked and values.get("min_group_size") not in (None, survey.min_group_size):
        errors["min_group_size"] = _("The group size is locked once the first round has opened.")
    if locked and "audience_department_id" in values \
            and (values["audience_department_id"] or None) != survey.audience_department_id:
        # Two rounds of one survey to audiences a few people apart could be subtracted.
        errors["audience_department_id"] = _("The audience is locked once the first round has opened.")
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    for name, value in values.items():
        setattr(survey, name, value)
    db.session.commit()
    return survey


def add_question(survey: Survey, raw: Mapping[str, Any]) -> Question:
    """Append a question (from the library with ``library_key``, or written by HR)."""
    _require_editable(survey)
    errors: dict[str, str] = {}
    current = [{"kind": q.kind} for q in survey.questions]
    if len(current) >= MAX_QUESTIONS:
        raise ValidationError(_("Some fields are not valid."),
                              {"questions": _("A survey has at most %(max)s questions.", max=MAX_QUESTIONS)})
    question = _clean_question(raw, "question", errors)
    if question and question["kind"] == "enps" and any(q["kind"] == "enps" for q in current):
        errors["question.kind"] = _("A survey has at most one eNPS question.")
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    created = Question(position=len(current) + 1, **question)
    survey.questions.append(created)
    db.session.commit()
    return created


def _renumber(survey: Survey, ordered: list[Question]) -> None:
    # Positions are checked 1..10 by the database; renumber in place and flush once.
    for index, question in enumerate(ordered, start=1):
        question.position = index
    survey.questions = ordered


def move_question(survey: Survey, question_id: int, offset: int) -> None:
    _require_editable(survey)
    ordered = list(survey.questions)
    index = next((i for i, q in enumerate(ordered) if q.id == question_id), None)
    if index is None:
        raise NotFound(_("No such question in this survey."))
    target = index + offset
    if 0 <= target < len(ordered):
        ordered[index], ordered[target] = ordered[target], ordered[index]
        _renumber(survey, ordered)
        db.session.commit()


def remove_question(survey: Survey, question_id: int) -> None:
    _require_editable(survey)
    ordered = [q for q in survey.questions if q.id != question_id]
    if len(ordered) == len(survey.questions):
        raise NotFound(_("No such question in this survey."))
    if not ordered:
        raise ValidationError(_("Some fields are not valid."),
                              {"questions": _("A survey needs at least one question.")})
    _renumber(survey, ordered)
    db.session.commit()


def archive_survey(survey: Survey) -> None:
    """Stop a survey: no new rounds open; its results stay."""
    survey.status = "archived"
    db.session.commit()


def get_survey(survey_id: int) -> Survey:
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        raise NotFound(_("No such survey."))
    return survey


def list_surveys() -> list[Survey]:
    return list(db.session.scalars(sa.select(Survey).order_by(Survey.status, Survey.created_at.desc())))


def recent_rounds(survey: Survey, limit: int = 20) -> list[Round]:
    return list(db.session.scalars(sa.select(Round).where(Round.survey_id == survey.id)
                                   .order_by(Round.opens_at.desc()).limit(limit)))


def library() -> list[LibraryQuestion]:
    return list(db.session.scalars(sa.select(LibraryQuestion).order_by(LibraryQuestion.id)))


# --- Rounds and invitations -------------------------------------------------------------


def department_subtree(root_id: int) -> set[int]:
    """The ids of a department and every department below it."""
    children: dict[int | None, list[int]] = {}
    for dept_id, parent_id in db.session.execute(sa.select(Department.id, Department.parent_id)):
        children.setdefault(parent_id, []).append(dept_id)
    found, stack = set(), [root_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, ()))
    return found


def audience(survey: Survey, opens_on: date) -> list[Person]:
    """Active employees (never contractors) in the survey's audience, hired by ``opens_on``."""
    stmt = sa.select(Person).where(
        Person.active, Person.kind == "employee",
        sa.or_(Person.hired_on.is_(None), Person.hired_on <= opens_on))
    if survey.audience_department_id is not None:
        stmt = stmt.where(Person.department_id.in_(department_subtree(survey.audience_department_id)))
    return list(db.session.scalars(stmt.order_by(Person.id)))


def _insert_round(survey: Survey, opens: datetime, closes: datetime, remind: datetime | None) -> int | None:
    """Insert the round unless another tick already did; return its id only to the winner."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (insert(Round)
            .values(survey_id=survey.id, opens_at=opens, closes_at=closes, remind_at=remind, status="open",
                    invited_count=0, reminders_queued=False)
            .on_conflict_do_nothing(index_elements=["survey_id", "opens_at"])
            .returning(Round.id))
    return db.session.execute(stmt).scalar()


NEARBY_ROUND_DAYS = 14


def check_audience_apart(survey: Survey, people: Iterable[Person], now: datetime) -> None:
    """Refuse a round whose invited people differ by 1..k-1 from those of another survey's round that is
    open now or closed in the last 14 days: subtracting the two results would give those few answers.

    Rounds of the same survey are its trend, not compared this way (its audience is locked).
    :raise Conflict: naming the other survey.
    """
    invited = {p.id for p in people}
    since = now - timedelta(days=NEARBY_ROUND_DAYS)
    nearby = db.session.execute(
        sa.select(Round.id, Survey.title, Survey.min_group_size).join(Survey)
        .where(Round.survey_id != survey.id, sa.or_(Round.status == "open", Round.closes_at >= since))
        .order_by(Round.id)).all()
    for round_id, title, other_k in nearby:
        others = set(db.session.scalars(sa.select(Invitation.person_id).where(Invitation.round_id == round_id)))
        apart = len(invited ^ others)
        k = max(survey.min_group_size, other_k)
        if 0 < apart < k:
            raise Conflict(_(
                "This round would invite people who differ by %(n)s from a round of “%(title)s” open now or "
                "closed in the last %(days)s days. Comparing the two could reveal their answers: change the "
                "audience by at least %(k)s people, or wait.", n=apart, title=title, days=NEARBY_ROUND_DAYS, k=k))


def _start_round(survey: Survey, opens: datetime, closes: datetime, remind: datetime | None,
                 now: datetime) -> Round | None:
    round_id = _insert_round(survey, opens, closes, remind)
    if round_id is None:
        db.session.rollback()
        return None
    opens_on = opens.astimezone(ZoneInfo(survey.timezone)).date()
    people = audience(survey, opens_on)
    try:
        check_audience_apart(survey, people, now)
    except Conflict:
        db.session.rollback()
        raise
    trees = membership.org_trees()
    cells = membership.cells(people, opens_on, trees, survey.min_group_size)
    if people:
        db.session.execute(sa.insert(Invitation), [
            {"round_id": round_id, "person_id": p.id, "answered": False, "cell_department_id": cells[p.id][0],
             "cell_manager_id": cells[p.id][1], "cell_tenure_band": cells[p.id][2]} for p in people])
    # A round opened late (tick did not run for a while) gets no reminder on the heels of its invitation.
    late = remind is not None and remind <= now
    db.session.execute(sa.update(Round).where(Round.id == round_id).values(
        invited_count=len(people), reminders_queued=late, snapshot=membership.trees_to_json(trees)))
    invitations = dict(db.session.execute(
        sa.select(Invitation.person_id, Invitation.id).where(Invitation.round_id == round_id)).all())
    round_ = db.session.get(Round, round_id)
    for person in people:
        _queue_invitation_mail(person, invitations[person.id], round_, "invitation", now)
    db.session.commit()
    return round_


def _has_open_round(survey: Survey) -> bool:
    return db.session.scalar(
        sa.select(Round.id).where(Round.survey_id == survey.id, Round.status == "open").limit(1)) is not None


def open_round_now(survey: Survey, now: datetime) -> Round:
    """Open a round immediately (HR's "open now"), for the survey's usual window length.

    :raise Conflict: if the survey is archived or already has an open round.
    """
    if survey.status != "active":
        raise Conflict(_("This survey is archived."))
    if _has_open_round(survey):
        raise Conflict(_("This survey already has an open round."))
    opens = now.replace(microsecond=0)
    closes = opens + timedelta(days=survey.open_days)
    remind = closes - timedelta(days=survey.remind_days_before_close) if survey.remind_days_before_close else None
    round_ = _start_round(survey, opens, closes, remind, now)
    if round_ is None:
        raise Conflict(_("This survey already has an open round."))
    return round_


@dataclass
class TickReport:
    opened: list[int] = field(default_factory=list)
    invited: int = 0
    reminded: int = 0
    closed: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    mixed: int = 0
    mail: Any = None


def tick(now: datetime, *, send_mail: bool = True) -> TickReport:
    """Do all periodic work that is due at ``now``; idempotent and safe to run concurrently.

    Closes rounds whose window has ended, opens due rounds and invites their
    audience, queues reminders, then (unless ``send_mail`` is false, as when
    ``tasks.tick`` runs every feature's work first) sends the outbox. Every step claims
    its work with a conditional write, so a second tick (at the same time or
    later) finds nothing left to do.
    """
    report = TickReport()
    for round_id in db.session.scalars(sa.select(Round.id).where(Round.status == "open",
                                                                 Round.closes_at <= now)).all():
        # Waits for answers being submitted (they hold the round FOR SHARE), so none arrives after this.
        closed = db.session.execute(sa.update(Round).where(Round.id == round_id, Round.status == "open")
                                    .values(status="closed"))
        if closed.rowcount == 1:
            # The last ballots, however few, then the results, which never change again: one
            # transaction that writes nothing about people.
            k = db.session.scalar(sa.select(Survey.min_group_size).join(Round).where(Round.id == round_id))
            ballots.mix(round_id, k, final=True)
            store_round_results(round_id)
            report.closed.append(round_id)
        db.session.commit()
        if closed.rowcount == 1:
            forget_answering_order(round_id)
            db.session.commit()
    report.mixed = mix_ballots()

    for survey in db.session.scalars(sa.select(Survey).where(Survey.status == "active")).all():
        day = due_occurrence(survey, now)
        if day is None or _has_open_round(survey) or (survey.cadence == "once" and has_rounds(survey)):
            continue
        opens, closes, remind = window(survey, day)
        try:
            round_ = _start_round(survey, opens, closes, remind, now)
        except Conflict as refusal:
            report.refused.append((survey.id, refusal.message))
            logger.warning("Round of survey %s not opened: %s", survey.id, refusal.message)
            continue
        if round_ is not None:
            report.opened.append(round_.id)
            report.invited += round_.invited_count

    for round_ in db.session.scalars(sa.select(Round).where(
            Round.status == "open", Round.reminders_queued.is_(False), Round.remind_at <= now,
            Round.closes_at > now)).all():
        claimed = db.session.execute(sa.update(Round).where(
            Round.id == round_.id, Round.reminders_queued.is_(False)).values(reminders_queued=True))
        if claimed.rowcount != 1:
            db.session.rollback()
            continue
        pending = db.session.execute(sa.select(Invitation, Person).join(Person, Invitation.person_id == Person.id)
                                     .where(Invitation.round_id == round_.id, Invitation.answered.is_(False),
                                            Person.active)).all()
        for invitation, person in pending:
            _queue_invitation_mail(person, invitation.id, round_, "reminder", now)
        db.session.commit()
        report.reminded += len(pending)

    if send_mail:
        report.mail = mail.send_all_pending(now)
    return report


# --- E-mail and personal links ----------------------------------------------------------


def forget_answering_order(round_id: int) -> None:
    """After a round closes: delete its personal links, and on PostgreSQL rewrite its invitations so
    their transaction ids no longer say in which order people answered. The caller commits."""
    links.delete_round_links(round_id)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.update(Invitation).where(Invitation.round_id == round_id)
                           .values(answered=Invitation.answered))


def mix_ballots() -> int:
    """Move waiting ballots into the response store, one round per transaction; return how many moved.

    Open rounds in batches of at least k; closed rounds (left by a crash between
    closing and mixing) all at once, and their stored results are counted again.
    """
    moved = 0
    for round_id, k, final in ballots.rounds_to_mix():
        count = ballots.mix(round_id, k, final=final)
        if count and final:
            # Its results may have been seen: a group whose figures these late ballots change is hidden.
            store_round_results(round_id, published=published_rows(round_id) or None)
        db.session.commit()
        moved += count
    return moved


def _queue_invitation_mail(person: Person, invitation_id: int, round_: Round, kind: str, now: datetime) -> None:
    locale = person.locale or "en"
    survey = round_.survey
    # Formatted here: the e-mail is rendered outside the person's session, in their time zone.
    closes_text = format_datetime(round_.closes_at, "medium", tzinfo=ZoneInfo(person.timezone or survey.timezone),
                                  locale=locale)
    link = links.personal_link(links.new_token(invitation_id))
    subject, text, html = mail.render(
        f"survey_{kind}", locale, person=person, survey=survey, link=link,
        closes_text=closes_text, company=current_app.config["POLSO_COMPANY_NAME"])
    mail.queue(person.email, subject, text, body_html=html, kind=kind,
               dedupe_key=f"{kind}:{invitation_id}", now=now)


# --- Answering --------------------------------------------------------------------------


def _parse_int(value: Any, *, from_form: bool) -> int | None:
    if from_form and isinstance(value, str) and _DIGITS.match(value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def validate_answers(questions: Sequence[Question], raw: Mapping[Any, Any], *,
                     from_form: bool) -> dict[int, tuple[int | None, str | None]]:
    """Check answers against their questions; return question id → (int value, text value).

    ``raw`` maps question ids (ints, or their decimal strings) to values.
    Skipped questions (no value, or an empty one) are left out, unless required.
    :raise ValidationError: with a field ``answers.<question id>`` for each problem.
    """
    by_id = {q.id: q for q in questions}
    errors: dict[str, str] = {}
    values: dict[int, tuple[int | None, str | None]] = {}
    given: dict[int, Any] = {}
    for key, value in raw.items():
        qid = _parse_int(key, from_form=True)
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
            number = _parse_int(value, from_form=from_form)
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


def submit_response(invitation: Invitation, raw: Mapping[Any, Any], now: datetime, *, from_form: bool) -> None:
    """Cast one anonymous ballot for this invitation and mark the invitation used, atomically.

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
    values = validate_answers(round_.survey.questions, raw, from_form=from_form)
    try:
        claimed = db.session.execute(sa.update(Invitation).where(
            Invitation.id == invitation.id, Invitation.answered.is_(False)).values(answered=True))
        if claimed.rowcount != 1:
            raise Conflict(_("You have already answered this survey."))
        status = db.session.scalar(sa.select(Round.status).where(Round.id == round_.id).with_for_update(read=True))
        if status != "open":
            raise Conflict(_("This survey round is closed."))
        ballots.cast(invitation, values)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def open_invitations(person: Person, now: datetime) -> list[Invitation]:
    """The person's invitations to rounds open now that they have not answered."""
    return list(db.session.scalars(
        sa.select(Invitation).join(Round).where(
            Invitation.person_id == person.id, Invitation.answered.is_(False), Round.status == "open",
            Round.opens_at <= now, Round.closes_at > now).order_by(Round.closes_at)))


def invitation_for(person: Person, round_id: int) -> Invitation:
    """:raise NotFound: no such round. :raise Forbidden: the person was not invited to it."""
    if db.session.get(Round, round_id) is None:
        raise NotFound(_("No such round."))
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.round_id == round_id,
                                                               Invitation.person_id == person.id))
    if invitation is None:
        raise Forbidden(_("You are not invited to this round."))
    return invitation


def surveys_visible_to(person: Person) -> Iterable[Survey]:
    if person.is_hr:
        return list_surveys()
    return list(db.session.scalars(
        sa.select(Survey).join(Round).join(Invitation).where(Invitation.person_id == person.id).distinct()))
