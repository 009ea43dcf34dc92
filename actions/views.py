"""Action pages: the list ("you said, we did"), planning from a driver, an action with its figures, updates,
and raising it in the owner's next one-on-one."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from actions import figures, services
from actions.forms import STATUS_LABELS, ActionForm, EditForm, UpdateForm
from actions.models import STATUSES, Action
from actions.reminders import is_overdue
from dashboards import services as results
from errors import ValidationError
from extensions import db
from form_errors import place_errors
from oneonones.access import can_write
from oneonones.agenda import add_agenda_item
from oneonones.models import MAX_ITEM_LENGTH, Series
from oneonones.occurrences import Occurrence, next_occurrence
from people.auth import manager_required
from people.directory import department_choices
from people.forms import EmptyForm
from people.models import Person

bp = Blueprint("actions", __name__)

FIELDS = {"survey_id": "survey", "question_id": "question", "department_id": "group", "manager_id": "group"}


@bp.context_processor
def helpers():
    return {"status_label": lambda status: STATUS_LABELS.get(status, status), "group_label": services.group_label,
            "driver_label": _driver_label, "is_overdue": lambda action: is_overdue(action, _now())}


def _driver_label(action: Action) -> str:
    return action.question.text_for(str(get_locale() or "en")) if action.question else _("eNPS")


def _now() -> datetime:
    return datetime.now(UTC)


@bp.route("/actions")
@login_required
def index():
    status = request.args.get("status")
    found = services.visible_actions(current_user, status=status if status in STATUSES else None)
    return render_template("actions/index.html", actions=found, status=status, statuses=STATUSES,
                           can_plan=current_user.is_hr or current_user.is_manager)


def _group_choices(viewer: Person) -> list[SelectChoice]:
    teams = [SelectChoice(f"team:{m}", _("Team of %(name)s", name=name)) for m, name in results.team_choices(viewer)]
    if not viewer.is_hr:
        return teams
    departments = [SelectChoice(f"department:{d}", path) for d, path in department_choices()]
    return [SelectChoice("company", _("Whole company")), *departments, *teams]


def _question_choices(survey) -> list[SelectChoice]:
    locale = str(get_locale() or "en")
    choices = [SelectChoice("", _("eNPS"))] if any(q.kind == "enps" for q in survey.questions) else []
    return choices + [SelectChoice(str(q.id), q.text_for(locale)) for q in survey.questions if q.kind == "likert"]


@bp.route("/actions/new", methods=["GET", "POST"])
@manager_required
def new():
    """Plan an action; the results page's "Plan an action" links fill in survey, driver and group."""
    form = ActionForm()
    defaults = services.plan_defaults(request.args)
    survey_id = defaults["survey"] if request.method == "GET" else services.read_form_id(form.survey.data)
    survey = db.session.get(results.Survey, survey_id) if survey_id else results.enps_survey()
    if survey is None:
        abort(404)
    form.question.choices = _question_choices(survey)
    form.group.choices = _group_choices(current_user)
    if request.method == "GET":
        form.survey.data = str(survey.id)
        form.question.data = str(defaults["question"]) if defaults["question"] else ""
        if defaults["department"]:
            form.group.data = f"department:{defaults['department']}"
        elif defaults["team"]:
            form.group.data = f"team:{defaults['team']}"
        elif not current_user.is_hr:
            form.group.data = f"team:{current_user.id}"
    elif form.validate_on_submit():
        try:
            action = services.create_action(current_user, form.to_data(), _now())
        except ValidationError as error:
            form.form_errors = place_errors(form, error.fields, aliases=FIELDS)
        else:
            flash(_("The action was planned."), "success")
            return redirect(url_for("actions.detail", action_id=action.id))
    status = 422 if form.is_submitted() else 200
    return render_template("actions/new.html", form=form, survey=survey, surveys=results.surveys_with_results(),
                           errors_summary=status == 422), status


@bp.route("/actions/<int:action_id>")
@login_required
def detail(action_id: int):
    action = services.get_action(action_id, current_user)
    shown = figures.figures(action, current_user)
    update_form = UpdateForm(status=action.status)
    return render_template("actions/detail.html", action=action, figures=shown, change=figures.change(action, shown),
                           can_change=services.can_change(current_user, action),
                           can_manage=services.can_manage(current_user, action), update_form=update_form,
                           raise_form=EmptyForm(), not_yours=figures.NOT_YOURS)


@bp.route("/actions/<int:action_id>/edit", methods=["GET", "POST"])
@login_required
def edit(action_id: int):
    action = services.get_action(action_id, current_user)
    if not services.can_change(current_user, action):
        abort(403)
    form = EditForm(obj=action)
    if request.method == "GET":
        form.owner_email.data = action.owner.email
    elif form.validate_on_submit():
        try:
            services.update_action(action, current_user, form.to_data(), _now())
        except ValidationError as error:
            form.form_errors = place_errors(form, error.fields)
        else:
            flash(_("The action was saved."), "success")
            return redirect(url_for("actions.detail", action_id=action.id))
    status = 422 if form.is_submitted() else 200
    return render_template("actions/edit.html", form=form, action=action, errors_summary=status == 422), status


@bp.route("/actions/<int:action_id>/updates", methods=["POST"])
@login_required
def post_update(action_id: int):
    action = services.get_action(action_id, current_user)
    if not services.can_change(current_user, action):
        abort(403)
    form = UpdateForm()
    if form.validate_on_submit():
        before = (action.status, len(action.updates))
        try:
            services.update_action(action, current_user, form.to_data(), _now())
        except ValidationError as error:
            for message in error.fields.values():
                flash(message, "danger")
        else:
            if (action.status, len(action.updates)) != before:
                flash(_("The update was posted."), "success")
    return redirect(url_for("actions.detail", action_id=action.id, _anchor="updates"))


def next_meeting(person: Person, now: datetime) -> tuple[Series, Occurrence] | None:
    """``person``'s soonest upcoming one-on-one they can add to, as manager or report.

    Here, on the web layer, because actions and one-on-ones are peers: only a page may use both.
    """
    found = []
    for series in db.session.scalars(sa.select(Series).where(
            Series.status == "active", sa.or_(Series.manager_id == person.id, Series.report_id == person.id))):
        occurrence = next_occurrence(series, now) if can_write(series, person) else None
        if occurrence is not None:
            found.append((occurrence.starts_at, series.id, series, occurrence))
    return min(found, key=lambda item: item[:2])[2:] if found else None


@bp.route("/actions/<int:action_id>/raise", methods=["POST"])
@login_required
def raise_in_one_on_one(action_id: int):
    """Add the action to the agenda of its owner's next one-on-one (only the owner, for their own meetings)."""
    action = services.get_action(action_id, current_user)
    if action.owner_id != current_user.id:
        abort(403)
    if EmptyForm().validate_on_submit():
        now = _now()
        meeting = next_meeting(current_user, now)
        if meeting is None:
            flash(_("You have no upcoming one-on-one to raise it in."), "warning")
        else:
            series, occurrence = meeting
            text = _("Action: %(title)s", title=action.title)
            add_agenda_item(series, occurrence, current_user, text[:MAX_ITEM_LENGTH], now)
            flash(_("Added to the agenda of your next one-on-one."), "success")
            return redirect(url_for("oneonones.occurrence", series_id=series.id, key=occurrence.key))
    return redirect(url_for("actions.detail", action_id=action.id))
