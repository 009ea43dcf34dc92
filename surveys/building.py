"""Building surveys: their settings and questions, checked against the survey rules.

The HTML pages and the JSON API both call these functions, so they accept and
refuse alike. Each refusal raises from ``errors`` before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

import audit
import inputs
from errors import Conflict, NotFound, ValidationError, get_or_raise
from extensions import db
from people.models import Department, Person
from people.timezones import default_timezone
from surveys.models import CADENCES, MAX_QUESTIONS, QUESTION_KINDS, Invitation, LibraryQuestion, Question, Round, Survey
from surveys.schedule import MAX_OPEN_DAYS


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
    raw = inputs.collect(errors, inputs.read_list, raw, "questions", most=MAX_QUESTIONS,
                         empty=_("A survey needs at least one question."),
                         too_many=_("A survey has at most %(max)s questions.", max=MAX_QUESTIONS))
    if raw is None:
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
        starts = _today(data, survey, now) if starts in (None, "") \
            else inputs.collect(errors, inputs.read_date, starts, "starts_on")
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
            dep = inputs.collect(errors, inputs.read_id, dep, "audience_department_id", from_text=False)
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


def _today(data: Mapping[str, Any], survey: Survey | None, now: datetime) -> date:
    """Today where the survey's rounds open (the time zone given, else the survey's, else the company's).

    Not the UTC date: just after midnight in Rome, UTC is still on the day before.
    """
    given = inputs.collect({}, inputs.read_timezone, data.get("timezone"), "timezone", required=False)
    zone = given or (survey.timezone if survey is not None else default_timezone())
    return now.astimezone(ZoneInfo(zone)).date()


def create_survey(data: Mapping[str, Any], now: datetime, *, by: Person | None = None) -> Survey:
    """Create an active survey with its questions; with ``by`` (who does it), in the audit log.

    :raise ValidationError: naming each bad field; nothing is stored.
    """
    values, errors = _clean_settings(data, None, now)
    questions = clean_questions(data.get("questions"), errors)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    # Given, or the company's (a bad name is already an error above); passed once, not twice.
    values["timezone"] = values.get("timezone") or default_timezone()
    survey = Survey(**values, status="active")
    survey.questions = [Question(position=i + 1, **q) for i, q in enumerate(questions)]
    db.session.add(survey)
    if by is not None:
        audit.record("survey.created", actor=by, target=survey, now=now,
                     summary=f"“{survey.title}”, {len(survey.questions)} questions, {survey.cadence}")
    db.session.commit()
    return survey


def has_rounds(survey: Survey) -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Round).where(Round.survey_id == survey.id)) > 0


def _require_editable(survey: Survey) -> None:
    # The survey's row, locked until the edit commits: a round being opened meanwhile (its insert holds the
    # row FOR KEY SHARE) is waited for and then seen, and one opened after waits for the edit. Without it, an
    # edit could check "no rounds", and then change the questions of a survey whose first round just opened.
    db.session.execute(sa.select(Survey.id).where(Survey.id == survey.id).with_for_update())
    if survey.status == "archived":
        raise Conflict(_("This survey is archived."))
    if has_rounds(survey):
        raise Conflict(_("Questions and the group size are locked once the first round has opened."))


def update_survey(survey: Survey, data: Mapping[str, Any], now: datetime, *, by: Person | None = None) -> Survey:
    """Change a survey's settings; the group size, the audience (and questions) only before its first round.

    With ``by`` (who does it), the change and the settings it touched are in the audit log."""
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
    changed = sorted(name for name, value in values.items() if getattr(survey, name) != value)
    for name, value in values.items():
        setattr(survey, name, value)
    if by is not None and changed:
        audit.record("survey.updated", actor=by, target=survey, now=now,
                     summary=f"“{survey.title}”: {', '.join(changed)}")
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


def unarchive_survey(survey: Survey) -> None:
    """Start an archived survey again: rounds open from its next due date on; its history stays."""
    survey.status = "active"
    db.session.commit()


def get_survey(survey_id: int) -> Survey:
    """:raise NotFound: no such survey."""
    return get_or_raise(Survey, survey_id, _("No such survey."))


def list_surveys() -> list[Survey]:
    return list(db.session.scalars(sa.select(Survey).order_by(Survey.status, Survey.created_at.desc())))


def recent_rounds(survey: Survey, limit: int = 20) -> list[Round]:
    return list(db.session.scalars(sa.select(Round).where(Round.survey_id == survey.id)
                                   .order_by(Round.opens_at.desc()).limit(limit)))


def library() -> list[LibraryQuestion]:
    return list(db.session.scalars(sa.select(LibraryQuestion).order_by(LibraryQuestion.id)))


def surveys_visible_to(person: Person) -> Iterable[Survey]:
    if person.is_hr:
        return list_surveys()
    return list(db.session.scalars(
        sa.select(Survey).join(Round).join(Invitation).where(Invitation.person_id == person.id).distinct()))
