"""Action plans: who may plan, see and change them, and the one place that reads and stores them.

The promise:

- HR plans an action for any group; a manager for their own team or a team below it
  (``dashboards.services.team_choices``, which the results page offers them too). Nobody else plans.
- HR and the managers of the group change it; so does its owner (an update, a new status).
- Everyone sees the company's actions and their own group's: the team they are in (their manager's),
  the departments they belong to, and teams they manage; never another team's. What each sees of a
  driver's figures is what ``actions.figures`` lets them, through the anonymity guard.
- Every value is read here, for the pages and the API alike; a refused request stores nothing.
  Creating and changing an action are in the audit log (``action.created``, ``action.updated``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

import audit
from actions.models import MAX_TEXT, MAX_TITLE, OPEN_STATUSES, STATUSES, Action, ActionUpdate
from dashboards import services as results
from errors import Forbidden, NotFound, ValidationError
from extensions import db
from inputs import collect, email_key, read_choice, read_date, read_id, read_text
from people import org
from people.models import Department, Person
from surveys.models import Question

CREATE_FIELDS = ("title", "description", "survey_id", "question_id", "department_id", "manager_id", "owner_email",
                 "due_on", "status")
CHANGE_FIELDS = ("title", "description", "owner_email", "due_on", "status", "note")


# --- Who ---------------------------------------------------------------------------------


def team_ids(viewer: Person) -> set[int]:
    """The teams (managers' ids) ``viewer`` may plan for and change: their own and those below; HR: all."""
    return {manager_id for manager_id, _name in results.team_choices(viewer)}


def require_can_plan(viewer: Person, department_id: int | None, manager_id: int | None) -> None:
    """:raise Forbidden: ``viewer`` may not plan for this group (HR: any; a manager: a team in ``team_ids``)."""
    if viewer.is_hr:
        return
    if department_id is not None or manager_id is None or manager_id not in team_ids(viewer):
        raise Forbidden(_("You can plan actions only for your own team or the teams below it."))


def can_manage(viewer: Person, action: Action) -> bool:
    """HR, or a manager of the action's team (or above it)."""
    if viewer.is_hr:
        return True
    return action.department_id is None and action.manager_id is not None and action.manager_id in team_ids(viewer)


def can_change(viewer: Person, action: Action) -> bool:
    return can_manage(viewer, action) or action.owner_id == viewer.id


def _visible(viewer: Person):
    """The condition on ``Action`` for what ``viewer`` sees (everything, for HR)."""
    if viewer.is_hr:
        return sa.true()
    departments = org.ancestors(org.department_parents(), viewer.department_id)
    teams = team_ids(viewer) | ({viewer.manager_id} if viewer.manager_id else set())
    return sa.or_(
        sa.and_(Action.department_id.is_(None), Action.manager_id.is_(None)),
        Action.manager_id.in_(teams), Action.department_id.in_(departments),
        Action.owner_id == viewer.id, Action.created_by_id == viewer.id)


def visible_actions(viewer: Person, *, status: str | None = None) -> list[Action]:
    """The actions ``viewer`` sees, open ones first, then by due date and newest."""
    stmt = sa.select(Action).where(_visible(viewer))
    if status in STATUSES:
        stmt = stmt.where(Action.status == status)
    stmt = stmt.order_by(Action.status.in_(OPEN_STATUSES).desc(), Action.due_on.is_(None), Action.due_on,
                         Action.created_at.desc(), Action.id.desc())
    return list(db.session.scalars(stmt))


def get_action(action_id: int, viewer: Person) -> Action:
    """:raise NotFound: no such action, or one ``viewer`` does not see (as if there were none)."""
    action = db.session.scalar(sa.select(Action).where(Action.id == action_id, _visible(viewer)))
    if action is None:
        raise NotFound(_("No such action."))
    return action


def group_label(action: Action) -> str:
    if action.department is not None:
        return action.department.name
    if action.manager is not None:
        return _("Team of %(name)s", name=action.manager.name)
    return _("Whole company")


def _logged_group(action: Action) -> str:
    """The group in the audit log's words: data, the same in every reader's language (no translation)."""
    if action.department_id is not None:
        return f"department {action.department_id}"
    if action.manager_id is not None:
        return f"team of person {action.manager_id}"
    return "company"


# --- Reading values ----------------------------------------------------------------------


def _owner(value: Any, errors: dict[str, str]) -> Person | None:
    if "owner_email" in errors:
        return None
    owner = db.session.scalar(sa.select(Person).where(Person.email == email_key(value), Person.active))
    if owner is None:
        errors["owner_email"] = _("No active person has this e-mail address.")
    return owner


def _question(survey_id: int | None, question_id: int | None, errors: dict[str, str]) -> Question | None:
    """The Likert driver, or None for eNPS (the survey's eNPS question, given by id, is eNPS too)."""
    if survey_id is None:
        return None
    survey = db.session.get(results.Survey, survey_id)
    if survey is None:
        errors["survey_id"] = _("No such survey.")
        return None
    question = db.session.get(Question, question_id) if question_id is not None else None
    if question_id is not None and (question is None or question.survey_id != survey_id
                                    or question.kind not in ("likert", "enps")):
        errors["question_id"] = _("Choose eNPS or one of this survey's rating statements.")
        return None
    if question is not None and question.kind == "likert":
        return question
    if not any(q.kind == "enps" for q in survey.questions):
        errors["question_id"] = _("This survey has no eNPS question: choose one of its rating statements.")
    return None


def _common(data: Mapping[str, Any], errors: dict[str, str], *, creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if creating or "title" in data:
        values["title"] = collect(errors, read_text, data.get("title"), "title", max_length=MAX_TITLE,
                                  single_line=True)
    if "description" in data:
        values["description"] = collect(errors, read_text, data.get("description"), "description",
                                        max_length=MAX_TEXT, required=False)
    if creating or "owner_email" in data:
        email = collect(errors, read_text, data.get("owner_email"), "owner_email", max_length=254, single_line=True)
        values["owner"] = _owner(email, errors)
    if "due_on" in data:
        values["due_on"] = collect(errors, read_date, data.get("due_on"), "due_on", required=False)
    if "status" in data or creating:
        values["status"] = collect(errors, read_choice, data.get("status") or ("planned" if creating else None),
                                   "status", STATUSES)
    return values


def _unknown(data: Mapping[str, Any], allowed: tuple[str, ...], errors: dict[str, str]) -> None:
    for name in data:
        if name not in allowed:
            errors[name] = _("Not a field of an action.")


# --- Writing -----------------------------------------------------------------------------


def create_action(viewer: Person, data: Mapping[str, Any], now: datetime) -> Action:
    """Plan an action from ``data`` (the API's fields); the baseline is the survey's latest closed round.

    :raise ValidationError: naming each bad field (an unknown survey, driver, group or owner too).
    :raise Forbidden: not HR or a manager, or not a group ``viewer`` may plan for.
    """
    if not (viewer.is_hr or viewer.is_manager):
        raise Forbidden(_("Only HR and managers plan actions."))
    errors: dict[str, str] = {}
    _unknown(data, CREATE_FIELDS, errors)
    survey_id = collect(errors, read_id, data.get("survey_id"), "survey_id")
    question_id = collect(errors, read_id, data.get("question_id"), "question_id", required=False)
    department_id = collect(errors, read_id, data.get("department_id"), "department_id", required=False)
    manager_id = collect(errors, read_id, data.get("manager_id"), "manager_id", required=False)
    if department_id is not None and manager_id is not None:
        errors["manager_id"] = _("Choose a department or a team, not both.")
    if department_id is not None and db.session.get(Department, department_id) is None:
        errors["department_id"] = _("No such department.")
    if manager_id is not None and db.session.get(Person, manager_id) is None:
        errors["manager_id"] = _("No such manager.")
    question = _question(survey_id, question_id, errors)
    values = _common(data, errors, creating=True)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    require_can_plan(viewer, department_id, manager_id)
    survey = db.session.get(results.Survey, survey_id)
    closed = results.closed_rounds(survey)
    action = Action(title=values["title"], description=values.get("description"), survey_id=survey.id,
                    question_id=question.id if question else None, department_id=department_id,
                    manager_id=manager_id, owner_id=values["owner"].id, due_on=values.get("due_on"),
                    status=values["status"], created_by_id=viewer.id, created_at=now, updated_at=now,
                    baseline_round_id=closed[-1].id if closed else None)
    db.session.add(action)
    db.session.flush()
    audit.record("action.created", actor=viewer, target=action, now=now,
                 summary=f"“{action.title}”, survey {survey.id}, {_logged_group(action)}, "
                         f"owner {values['owner'].email}")
    db.session.commit()
    return action


def update_action(action: Action, viewer: Person, data: Mapping[str, Any], now: datetime) -> Action:
    """Change an action's title, description, owner, due date or status, and/or add a ``note``.

    A status change or a note is kept as an :class:`ActionUpdate`. Nothing changes when nothing differs.
    :raise Forbidden: not HR, a manager of its team or its owner. :raise ValidationError: naming each bad field.
    """
    if not can_change(viewer, action):
        raise Forbidden(_("Only HR, the team's managers and the action's owner can change it."))
    errors: dict[str, str] = {}
    _unknown(data, CHANGE_FIELDS, errors)
    values = _common(data, errors, creating=False)
    note = collect(errors, read_text, data.get("note"), "note", max_length=MAX_TEXT, required=False)
    if "title" in values and values["title"] is None:
        errors.setdefault("title", _("This field is required."))
    if "status" in values and values["status"] is None:
        errors.setdefault("status", _("This field is required."))
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    changed = []
    for name in ("title", "description", "due_on"):
        if name in values and values[name] != getattr(action, name):
            setattr(action, name, values[name])
            changed.append(name)
    if values.get("owner") is not None and values["owner"].id != action.owner_id:
        action.owner_id = values["owner"].id
        changed.append("owner")
    before = action.status
    if values.get("status") and values["status"] != before:
        action.status = values["status"]
        changed.append("status")
    if not changed and not note:
        return action
    if note or action.status != before:
        action.updates.append(ActionUpdate(author_id=viewer.id, body=note, created_at=now,
                                           from_status=before if action.status != before else None,
                                           to_status=action.status if action.status != before else None))
    action.updated_at = now
    summary = ", ".join(changed + (["note"] if note else []))
    if action.status != before:
        summary += f" ({before} → {action.status})"
    audit.record("action.updated", actor=viewer, target=action, now=now, summary=f"“{action.title}”: {summary}")
    db.session.commit()
    return action


def read_form_id(raw: Any) -> int | None:
    """An id from a query string or a hidden field; None when it is not one (the page then uses its default)."""
    try:
        return read_id(raw, "id", required=False)
    except ValidationError:
        return None


def plan_defaults(args: Mapping[str, Any]) -> dict[str, int | None]:
    """What the results page's "Plan an action" link fills in: survey, driver and group, as ids."""
    return {name: read_form_id(args.get(name)) for name in ("survey", "question", "department", "team")}
