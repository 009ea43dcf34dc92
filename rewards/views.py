"""Milestone reward pages: my plans, the approver's queue, HR's overview, a plan, the history chart, the CSV."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import SelectChoice

import audit
import inputs
from dashboards.display import score_text
from dashboards.services import company_enps_trend, enps_surveys_by_rounds
from errors import Conflict, ValidationError
from extensions import db
from form_errors import place_errors
from people.auth import hr_required
from people.forms import EmptyForm
from rewards import charts, editing, ledger, money, payout_history, plans, transitions, validators
from rewards import overview as plan_overview  # aliased: the HR overview page's view is called overview
from rewards.forms import ActionForm, HistoryForm, PlanEditForm, PlanForm
from rewards.models import STATES
from spreadsheets import download, file_name, write_csv

bp = Blueprint("rewards", __name__)

bp.add_app_template_global(transitions.state_label, "reward_state_label")
bp.add_app_template_global(transitions.action_label, "reward_action_label")
bp.add_app_template_global(plan_overview.plan_status_label, "reward_plan_status_label")
bp.add_app_template_global(ledger.payment_due, "reward_payment_due")
bp.add_app_template_global(STATES, "reward_states")


def _now() -> datetime:
    return datetime.now(UTC)


def _locale() -> str:
    return str(get_locale() or "en")


def _action_prefix(milestone_id: int, action: str) -> str:
    return f"c{milestone_id}" if action == "cancel" else f"m{milestone_id}"


@bp.route("/rewards")
@login_required
def index():
    """The recipient's plans, each with what happens next."""
    now = _now()
    mine = plan_overview.plans_for_recipient(current_user)
    return render_template("rewards/index.html", plans=mine, now=now,
                           steps={p.id: plan_overview.next_step(p, current_user, now) for p in mine},
                           paid=ledger.paid_totals(p.id for p in mine),
                           planned={p.id: ledger.planned_total(p) for p in mine},
                           queue=plan_overview.approval_queue(current_user))


@bp.route("/rewards/approvals")
@login_required
def approvals():
    """The approver's queue: submissions to decide on, terms to agree to, and the plans they approve."""
    now = _now()
    approving = plan_overview.plans_for_approver(current_user)
    return render_template("rewards/approvals.html", queue=plan_overview.approval_queue(current_user),
                           plans=approving,
                           steps={p.id: plan_overview.next_step(p, current_user, now) for p in approving}, now=now)


@bp.route("/rewards/overview")
@hr_required
def overview():
    """HR's overview: overdue and payable milestones, every plan with its ledger totals."""
    now = _now()
    query = request.args.get("q", "").strip()
    page = inputs.read_int(request.args.get("page"), "page", low=1, required=False) or 1
    pagination, rows = plan_overview.search_plans(query, page, current_app.config.get("PEOPLE_PER_PAGE", 25))
    approved = plan_overview.approved_unpaid(now)
    year_start = date(now.year, 1, 1)
    return render_template("rewards/overview.html", pagination=pagination, rows=rows, query=query, now=now,
                           default_terms=validators.default_payment_terms(),
                           overdue=[a for a in approved if a[1]], payable=[a for a in approved if not a[1]],
                           year_totals=ledger.totals_by_currency(year_start),
                           all_totals=ledger.totals_by_currency(), year=now.year)


@bp.route("/rewards/plans/new", methods=["GET", "POST"])
@hr_required
def plan_new():
    form = PlanForm()
    if request.method == "GET":
        form.starts_on.data = validators.local_today(current_user, _now())
        form.currency.data = current_app.config.get("REWARDS_DEFAULT_CURRENCY", "EUR")
        form.payment_terms_days.data = validators.default_payment_terms()
    elif form.add_row.data:
        if len(form.milestones) < plans.MAX_MILESTONES:
            form.milestones.append_entry()
            form.milestones[-1].form.title.render_kw = {"autofocus": True}
        return render_template("rewards/new.html", form=form, currencies=money.currencies())
    elif form.validate_on_submit():
        data, unread = form.to_data(_locale())
        try:
            plan = plans.create_plan(data, current_user, _now())
        except ValidationError as error:
            _form_errors(form, error, unread)
        else:
            flash(_("The plan was created; the recipient and the approver were asked to agree."), "success")
            return redirect(url_for("rewards.plan_detail", plan_id=plan.id))
    status = 422 if form.is_submitted() else 200
    return render_template("rewards/new.html", form=form, currencies=money.currencies(),
                           errors_summary=status == 422), status


def _form_errors(form: PlanForm | PlanEditForm, error: ValidationError,
                 unread: dict[str, str | None]) -> None:
    """Put each of the service's field errors on the form field shown for it; the rest above the form.

    For an amount the page could not read (``unread``), what was typed wrong is said instead of the
    service's "not a number of minor units", or nothing when the currency is what is wrong.
    """
    fields = dict(error.fields)
    for name, message in unread.items():
        fields.pop(name, None)
        if message:
            fields[name] = message

    def field_for(name: str):
        parts = name.split(".")
        if parts[0] == "milestones":
            if len(parts) != 3:
                return None  # about the milestones as a whole
            row = form.milestones[form.row_index(int(parts[1]))].form
            # A milestone's id is a hidden field: its error can only be shown above the form.
            return None if parts[2] == "id" else getattr(row, "amount" if parts[2] == "amount_minor" else parts[2])
        return getattr(form, parts[0], None)

    form.form_errors.extend(place_errors(form, fields, field_for=field_for))


@bp.route("/rewards/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@hr_required
def plan_edit(plan_id: int):
    """HR corrects a plan's milestones; refused (409, with the reason) once anyone has agreed to them."""
    plan = plans.get_plan(plan_id)
    try:
        editing.check_editable(plan, current_user)
    except Conflict as error:
        return render_template("rewards/edit.html", plan=plan, form=None, locked=error.message), 409
    if request.method == "GET":
        form = PlanEditForm(data={"terms_version": str(plans.terms_version(plan.id)), "milestones": [
            {"milestone_id": str(m.id), "title": m.title, "criteria": m.criteria, "due_on": m.due_on,
             "amount": money.typed_amount(m.amount_minor, plan.currency, _locale())}
            for m in plan.milestones if m.state == "draft"]})
        form.milestones.append_entry()  # a blank row for a new milestone
        return render_template("rewards/edit.html", plan=plan, form=form)
    form = PlanEditForm()
    if form.add_row.data:
        if len(form.milestones) < form.milestones.max_entries:
            form.milestones.append_entry()
            form.milestones[-1].form.title.render_kw = {"autofocus": True}
        return render_template("rewards/edit.html", plan=plan, form=form)
    if form.validate_on_submit():
        data, unread = form.to_data(plan.currency, _locale())
        try:
            changes = editing.edit_plan(plan.id, data, current_user, _now())
        except ValidationError as error:
            _form_errors(form, error, unread)
        except Conflict as error:
            plan = plans.get_plan(plan_id)
            if editing.can_edit(plan, current_user):  # changed by someone else meanwhile: start again
                flash(error.message, "warning")
                return redirect(url_for("rewards.plan_edit", plan_id=plan_id))
            return render_template("rewards/edit.html", plan=plan, form=None, locked=error.message), 409
        else:
            if changes:
                flash(_("The milestones were changed."), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("rewards.plan_detail", plan_id=plan_id))
    return render_template("rewards/edit.html", plan=plan, form=form, errors_summary=True), 422


def _render_plan(plan, failed: tuple[int, str, ActionForm, str | None] | None = None, status: int = 200):
    now = _now()
    forms: dict[str, ActionForm] = {}
    actions = {}
    for milestone in plan.milestones:
        actions[milestone.id] = transitions.allowed_actions(milestone, current_user)
        for prefix in {_action_prefix(milestone.id, a) for a in actions[milestone.id]}:
            forms[prefix] = ActionForm(prefix=prefix, formdata=None)
    failed_message = None
    if failed is not None:
        milestone_id, action, form, failed_message = failed
        forms[_action_prefix(milestone_id, action)] = form
    events = ledger.plan_events(plan)
    events_by_milestone = defaultdict(list)
    for event in events:
        events_by_milestone[event.milestone_id].append(event)
    payouts = ledger.plan_payouts(plan)
    return render_template(
        "rewards/plan.html", plan=plan, now=now, actions=actions, forms=forms,
        failed_id=failed[0] if failed else None, failed_message=failed_message,
        events=events, events_by_milestone=events_by_milestone, payouts=payouts,
        payout_by_milestone={p.milestone_id: p for p in payouts}, blockers=transitions.payment_blockers(plan),
        paid=ledger.paid_total(plan), planned=ledger.planned_total(plan),
        step=plan_overview.next_step(plan, current_user, now), is_overdue=ledger.is_overdue,
        payment_due=ledger.payment_due, status=plan_overview.plan_status(m.state for m in plan.milestones),
        plan_form=EmptyForm(), can_edit=editing.can_edit(plan, current_user),
        terms_version=plans.terms_version(plan.id),
        can_cancel=transitions.can_cancel(plan, current_user),
        can_agree=any("agree" in a for a in actions.values())), status


@bp.route("/rewards/plans/<int:plan_id>")
@login_required
def plan_detail(plan_id: int):
    """A plan as its recipient, its approver or HR sees it: milestones, actions, history, ledger."""
    return _render_plan(plans.visible_plan(plan_id, current_user))


@bp.route("/rewards/milestones/<int:milestone_id>/<any(agree, submit, approve, 'request-changes', pay, cancel):action>",
          methods=["POST"])
@login_required
def milestone_action(milestone_id: int, action: str):
    milestone = plans.get_milestone(milestone_id)
    plan = plans.visible_plan(milestone.plan_id, current_user)
    form = ActionForm(prefix=_action_prefix(milestone_id, action))
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _render_plan(plan, (milestone_id, action, form, None), 422)
    try:
        transitions.perform(milestone_id, action, current_user, form.to_data(action), _now())
    except ValidationError as error:
        place_errors(form, error.fields)  # the rest is said by error.message above the form
        return _render_plan(plans.get_plan(plan.id), (milestone_id, action, form, error.message), 422)
    except Conflict as error:
        return _render_plan(plans.get_plan(plan.id), (milestone_id, action, form, error.message), 409)
    flash(str(_DONE[action]), "success")
    return redirect(url_for("rewards.plan_detail", plan_id=plan.id, _anchor=f"milestone-{milestone_id}"))


_DONE = {
    "agree": _l("Your agreement was recorded."),
    "submit": _l("Your evidence was submitted to the approver."),
    "approve": _l("The milestone was approved."),
    "request-changes": _l("Changes were requested from the recipient."),
    "pay": _l("The payout was recorded in the ledger."),
    "cancel": _l("The milestone was cancelled."),
}


@bp.route("/rewards/plans/<int:plan_id>/agree", methods=["POST"])
@login_required
def plan_agree(plan_id: int):
    """Agree to every draft milestone of the plan at once (recipient or approver)."""
    plan = plans.visible_plan(plan_id, current_user)
    if EmptyForm().validate_on_submit():
        try:
            count = transitions.agree_to_plan(plan, current_user, _now(),
                                           terms_seen=validators.parse_terms_version(inputs.form_int(request.form.get("terms_version"))))
        except (Conflict, ValidationError) as error:
            flash(error.fields.get("terms_version", error.message), "danger")
        else:
            flash(_("You agreed to the terms of %(count)s milestones.", count=count), "success")
    return redirect(url_for("rewards.plan_detail", plan_id=plan_id))


@bp.route("/rewards/plans/<int:plan_id>/cancel", methods=["POST"])
@hr_required
def plan_cancel(plan_id: int):
    """HR cancels every milestone of the plan that has not been submitted yet."""
    plan = plans.get_plan(plan_id)
    if EmptyForm().validate_on_submit():
        try:
            count = transitions.cancel_plan(plan, current_user, _now(), request.form.get("note") or None)
        except Conflict as error:
            flash(error.message, "danger")
        else:
            flash(_("%(count)s milestones were cancelled.", count=count), "success")
    return redirect(url_for("rewards.plan_detail", plan_id=plan_id))


def _enps_text(result) -> str:
    if result is None:
        return _("hidden: fewer responses than the minimum group size")
    return _("%(score)s (95%% interval %(low)s to %(high)s)", score=score_text(result.score),
             low=score_text(result.ci_low), high=score_text(result.ci_high))


@bp.route("/rewards/history")
@hr_required
def history():
    """Payouts per month and the cumulative total, on the same time axis as the company eNPS trend.

    The eNPS line is one survey's: the one asked for, else the one with the most closed rounds.
    """
    in_ledger = payout_history.payout_currencies()
    form = HistoryForm(request.args)
    surveys = enps_surveys_by_rounds()
    form.survey.choices = [SelectChoice(str(s.id), ngettext("%(title)s (%(num)s round)", "%(title)s (%(num)s rounds)",
                                                            count, title=s.title)) for s, count in surveys]
    survey = next((s for s, _count in surveys if str(s.id) == form.survey.data), surveys[0][0] if surveys else None)
    form.survey.data = str(survey.id) if survey else None
    form.currency.choices = [SelectChoice(c, c) for c in in_ledger] or [SelectChoice("EUR", "EUR")]
    form.group_by.choices = [SelectChoice("department", _("Department")), SelectChoice("plan", _("Plan"))]
    currency = form.currency.data if form.currency.data in in_ledger else (in_ledger[0] if in_ledger else "EUR")
    group_by = form.group_by.data if form.group_by.data in ("department", "plan") else "department"
    form.currency.data, form.group_by.data = currency, group_by
    digits = money.minor_digits(currency)
    monthly = payout_history.monthly_payouts(currency, group_by)
    trend = company_enps_trend(survey.id) if survey else []
    words = {"enps": _("Company eNPS"), "enps_axis": _("eNPS"), "paid_title": _("Milestone payouts per month"),
             "paid_axis": _("Paid"), "cumulative": _("Cumulative paid"), "cumulative_axis": _("Cumulative"),
             "significant": _("Significant change"), "interval": _("%(level)s interval", level="95%"),
             "empty": _("Nothing to draw yet: no payouts and no closed eNPS round.")}
    figure = charts.history_figure(monthly, trend, currency=currency, digits=digits, text=words,
                                   money=lambda minor: money.money(minor, currency), score=score_text)
    table = charts.history_table(monthly, trend)
    rows = [[format_date(row.month, "LLLL yyyy"), money.money(row.paid_minor, currency),
             money.money(row.cumulative_minor, currency),
             "; ".join(f"{format_date(r.closes_on)}: {_enps_text(r.result)}" for r in row.rounds) or "—"]
            for row in table]
    shown = [r for r in trend if r.result is not None]
    total = table[-1].cumulative_minor if table else 0
    hidden = len(trend) - len(shown)
    summary = " ".join([
        ngettext("%(total)s paid in %(currency)s over %(num)s month.",
                 "%(total)s paid in %(currency)s over %(num)s months.",
                 len(table), total=money.money(total, currency), currency=currency),
        ngettext("%(num)s eNPS round closed.", "%(num)s eNPS rounds closed.", len(trend)),
        *([ngettext("%(num)s of them is hidden for anonymity.", "%(num)s of them are hidden for anonymity.", hidden)]
          if hidden else [])])
    if shown:
        summary += " " + _("Latest eNPS: %(text)s.", text=_enps_text(shown[-1].result))
    return render_template("rewards/history.html", form=form, figure=figure, table=rows, summary=summary,
                           currency=currency, has_payouts=bool(monthly), has_trend=bool(trend), survey=survey,
                           totals=ledger.totals_by_currency())


@bp.route("/rewards/payouts.csv")
@hr_required
def payouts_csv():
    """The payouts ledger as CSV for payroll; ``from`` and ``to`` (YYYY-MM-DD) limit it by payment date."""
    try:
        start, end = payout_history.parse_period(request.args.get("from"), request.args.get("to"))
    except ValidationError as error:
        return Response("\n".join(f"{k}: {v}" for k, v in error.fields.items()) + "\n", status=422,
                        mimetype="text/plain")
    table = payout_history.payouts_table(start, end)
    body = write_csv(table, str(get_locale() or "en"))
    period = [*(("from", start) if start else ()), *(("to", end) if end else ())]
    audit.record("export.downloaded", actor=current_user._get_current_object(), now=_now(),
                 summary=", ".join([f"payouts CSV: rows={len(table.rows)}", *([f"from={start}"] if start else []),
                                     *([f"to={end}"] if end else [])]))
    db.session.commit()
    return download(body, file_name("payouts", *period, extension="csv"))

