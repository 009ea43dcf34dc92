"""One-on-one pages: the overview, a series, one meeting, and the calendar feed."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import flask_babel
from babel import dates as babel_dates
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from dashboards.services import team_talking_points
from errors import Conflict, Forbidden, NotFound, ServiceError
from form_errors import place_errors
from inputs import read_id
from oneonones import feeds
from oneonones.access import can_schedule, can_write, direct_reports, get_series
from oneonones.agenda import (
    action_items,
    add_action_item,
    add_agenda_item,
    agenda,
    delete_action_item,
    delete_agenda_item,
    private_note,
    save_private_note,
    toggle_action_item,
    toggle_agenda_item,
)
from oneonones.forms import ActionForm, AgendaForm, MoveForm, NewSeriesForm, NoteForm, ScheduleForm
from oneonones.meetings import cancel_occurrence, move_occurrence, restore_occurrence
from oneonones.models import Series
from oneonones.occurrences import find_occurrence, neighbours, recent, upcoming
from oneonones.overview import NOT_MET_DAYS, manager_overview, past_series_as_manager, series_as_report, series_history
from oneonones.series import (
    create_series,
    end_series,
    pause_series,
    require_schedule_change,
    reschedule,
    resume_series,
    schedule_form_start,
)
from oneonones.wording import describe_slot
from people.forms import EmptyForm

bp = Blueprint("oneonones", __name__)


def _now() -> datetime:
    return datetime.now(UTC)


@bp.app_template_global()
def oneonone_schedule(series: Series) -> str:
    """The schedule in words, in the page's language: "Every two weeks on Monday at 10:00 (Europe/Rome), ..."."""
    local = series.starts_at.astimezone(ZoneInfo(series.timezone))
    locale = get_locale() or "en"
    weekday = babel_dates.format_date(local, "EEEE", locale=locale)
    at = babel_dates.format_time(local, "short", tzinfo=local.tzinfo, locale=locale)
    if series.cadence == "weekly":
        text = _("Every week on %(weekday)s at %(time)s", weekday=weekday, time=at)
    elif series.cadence == "biweekly":
        text = _("Every two weeks on %(weekday)s at %(time)s", weekday=weekday, time=at)
    else:
        # One whole sentence per position, so that translations can agree in gender ("la prima domenica").
        nth = (local.day - 1) // 7 + 1
        monthly = {1: _("Every month on the first %(weekday)s at %(time)s"),
                   2: _("Every month on the second %(weekday)s at %(time)s"),
                   3: _("Every month on the third %(weekday)s at %(time)s"),
                   4: _("Every month on the fourth %(weekday)s at %(time)s")}
        text = monthly.get(nth, _("Every month on the last %(weekday)s at %(time)s")) % {"weekday": weekday, "time": at}
    return _("%(schedule)s (%(timezone)s), %(minutes)s minutes", schedule=text, timezone=series.timezone,
             minutes=series.duration_minutes)


@bp.app_template_global()
def oneonone_when(occurrence, date_format: str = "full") -> str:
    """A meeting's date and time span in the viewer's time zone and language."""
    return _("%(date)s, %(start)s–%(end)s", date=flask_babel.format_date(occurrence.starts_at, date_format),
             start=flask_babel.format_time(occurrence.starts_at, "short"),
             end=flask_babel.format_time(occurrence.ends_at, "short"))


@bp.app_template_global()
def oneonone_status(status: str) -> str:
    return {"scheduled": _("Scheduled"), "moved": _("Moved"), "cancelled": _("Cancelled"),
            "active": _("Active"), "paused": _("Paused"), "ended": _("Ended")}.get(status, status)


def _apply_errors(form, error: ServiceError, aliases: dict[str, str] | None = None) -> None:
    """The service's field messages on the form; its message as a notice when no field shows one."""
    aliases = {"starts_at": "starts_on", "report_email": "report_id", **(aliases or {})}
    unplaced = place_errors(form, error.fields, aliases=aliases)
    if len(unplaced) == len(error.fields):
        flash(error.message, "danger")


def _talking_points(series_manager_id: int):
    return team_talking_points(series_manager_id, limit=3)


# --- Overview ---------------------------------------------------------------------------


@bp.route("/one-on-ones")
@login_required
def index():
    now = _now()
    team = manager_overview(current_user, now)
    return render_template(
        "oneonones/index.html", team=team, as_report=series_as_report(current_user, now),
        past=past_series_as_manager(current_user), now=now,
        talking=_talking_points(current_user.id) if team else None, not_met_days=NOT_MET_DAYS)


@bp.route("/one-on-ones/new", methods=["GET", "POST"])
@login_required
def series_new():
    reports = direct_reports(current_user)
    if not reports:
        abort(403)
    form = NewSeriesForm()
    form.report_id.choices = [SelectChoice(p.id, p.name) for p in reports]
    status = 200
    if request.method == "GET":
        try:
            chosen = read_id(request.args.get("report"), "report", required=False)
        except ServiceError:
            chosen = None  # a link with a bad ?report= still opens the form, on the first report
        form.report_id.data = str(chosen if chosen in {p.id for p in reports} else reports[0].id)
        form.timezone.data = current_user.timezone
        form.starts_on.data = (_now() + timedelta(days=1)).astimezone(ZoneInfo(current_user.timezone)).date()
        form.start_time.data = time(10, 0)
    if form.validate_on_submit():
        try:
            series = create_series(current_user, form.to_data({p.id: p.email for p in reports}), _now())
        except ServiceError as error:
            _apply_errors(form, error)
            status = error.status
        else:
            flash(_("The one-on-one with %(name)s is scheduled.", name=series.report.name), "success")
            return redirect(url_for("oneonones.series_detail", series_id=series.id))
    elif form.is_submitted():
        status = 422
    return render_template("oneonones/new.html", form=form), status


# --- A series ---------------------------------------------------------------------------


@bp.route("/one-on-ones/<int:series_id>")
@login_required
def series_detail(series_id: int):
    now = _now()
    series = get_series(series_id, current_user, now)
    schedulable = can_schedule(series, current_user)
    return render_template(
        "oneonones/series.html", series=series, upcoming=upcoming(series, now, limit=8),
        recent=recent(series, now, limit=8), actions=action_items(series),
        history=[s for s in series_history(series) if s.id != series.id],
        schedulable=schedulable, writable=can_write(series, current_user), form=EmptyForm(),
        talking=_talking_points(series.manager_id) if schedulable else None, now=now)


@bp.route("/one-on-ones/<int:series_id>/edit", methods=["GET", "POST"])
@login_required
def series_edit(series_id: int):
    now = _now()
    series = get_series(series_id, current_user, now)
    try:
        require_schedule_change(series, current_user)
    except Forbidden:
        abort(403)
    except Conflict as refusal:  # paused or ended: said on the series' page
        flash(refusal.message, "warning")
        return redirect(url_for("oneonones.series_detail", series_id=series.id))
    form = ScheduleForm(obj=series)
    status = 200
    if request.method == "GET":
        local = schedule_form_start(series, now)
        form.starts_on.data, form.start_time.data = local.date(), local.time()
    if form.validate_on_submit():
        try:
            result = reschedule(series, current_user, form.to_data(), now)
        except ServiceError as error:
            _apply_errors(form, error)
            status = error.status
        else:
            if result.changed:
                flash(_("The schedule is changed from the next meeting on; %(name)s was told by e-mail.",
                        name=result.series.report.name), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("oneonones.series_detail", series_id=result.series.id))
    elif form.is_submitted():
        status = 422
    return render_template("oneonones/edit.html", form=form, series=series), status


@bp.route("/one-on-ones/<int:series_id>/end", methods=["GET"])
@login_required
def series_end_confirm(series_id: int):
    """Asks before ending a series (it cannot be restarted); the page's form posts to ``series_action``."""
    series = get_series(series_id, current_user, _now())
    if current_user.id != series.manager_id:
        abort(403)
    if series.status == "ended":
        return redirect(url_for("oneonones.series_detail", series_id=series.id))
    return render_template("oneonones/end_confirm.html", series=series, form=EmptyForm())


@bp.route("/one-on-ones/<int:series_id>/<any(pause, resume, end):action>", methods=["POST"])
@login_required
def series_action(series_id: int, action: str):
    now = _now()
    series = get_series(series_id, current_user, now)
    if current_user.id != series.manager_id:
        abort(403)
    if EmptyForm().validate_on_submit():
        try:
            if action == "pause":
                pause_series(series, current_user, now)
                flash(_("The series is paused: no meetings until you resume it."), "success")
            elif action == "resume":
                resume_series(series, current_user, now)
                flash(_("The series is running again."), "success")
            else:
                end_series(series, current_user, now)
                flash(_("The series has ended. Its history stays here."), "success")
        except ServiceError as error:
            flash(error.message, "danger")
    return redirect(url_for("oneonones.series_detail", series_id=series.id))


# --- One meeting ------------------------------------------------------------------------


def _load(series_id: int, key: str):
    now = _now()
    series = get_series(series_id, current_user, now)
    return series, find_occurrence(series, key), now


def _move_form(series, occurrence, formdata=None) -> MoveForm:
    local = occurrence.starts_at.astimezone(ZoneInfo(series.timezone))
    minutes = int((occurrence.ends_at - occurrence.starts_at).total_seconds() // 60)
    return MoveForm(prefix="move", formdata=formdata, starts_on=local.date(),
                    start_time=local.time().replace(second=0, microsecond=0), duration_minutes=minutes)


def _action_form(series, formdata=None) -> ActionForm:
    form = ActionForm(prefix="action", formdata=formdata)
    form.owner_id.choices = [SelectChoice(series.report_id, series.report.name),
                             SelectChoice(series.manager_id, series.manager.name)]
    return form


def _occurrence_page(series, occurrence, now, *, move=None, agenda_form=None, action_form=None,
                     note_form=None, status=200):
    schedulable = can_schedule(series, current_user)
    note = private_note(series, occurrence, current_user)
    previous, following = neighbours(series, occurrence)
    return render_template(
        "oneonones/occurrence.html", series=series, occurrence=occurrence, now=now,
        agenda=agenda(series, occurrence), actions=action_items(series, occurrence),
        note=note, previous=previous, following=following, schedulable=schedulable,
        writable=can_write(series, current_user), form=EmptyForm(),
        move=move or (_move_form(series, occurrence) if schedulable else None),
        agenda_form=agenda_form or AgendaForm(prefix="agenda", formdata=None),
        action_form=action_form or _action_form(series),
        note_form=note_form or NoteForm(prefix="note", formdata=None, body=note.body if note else ""),
        talking=_talking_points(series.manager_id) if schedulable else None), status


def _back(series, occurrence, anchor: str = ""):
    return redirect(url_for("oneonones.occurrence", series_id=series.id, key=occurrence.key) + anchor)


@bp.route("/one-on-ones/<int:series_id>/meetings/<key>")
@login_required
def occurrence(series_id: int, key: str):
    series, found, now = _load(series_id, key)
    return _occurrence_page(series, found, now)


@bp.route("/one-on-ones/<int:series_id>/meetings/<key>/move", methods=["POST"])
@login_required
def occurrence_move(series_id: int, key: str):
    series, found, now = _load(series_id, key)
    if current_user.id != series.manager_id:
        abort(403)
    form = MoveForm(prefix="move")
    if form.validate_on_submit():
        try:
            moved = move_occurrence(series, current_user, key, form.to_data(), now)
        except ServiceError as error:
            _apply_errors(form, error)
            return _occurrence_page(series, found, now, move=form, status=error.status)
        flash(_("The meeting is moved to %(when)s.",
                when=describe_slot(moved.starts_at, moved.ends_at, current_user)), "success")
        return _back(series, moved)
    return _occurrence_page(series, found, now, move=form, status=422)


@bp.route("/one-on-ones/<int:series_id>/meetings/<key>/<any(cancel, restore):action>", methods=["POST"])
@login_required
def occurrence_action(series_id: int, key: str, action: str):
    series, found, now = _load(series_id, key)
    if current_user.id != series.manager_id:
        abort(403)
    if EmptyForm().validate_on_submit():
        try:
            if action == "cancel":
                cancel_occurrence(series, current_user, key, now)
                flash(_("This meeting is cancelled; its open agenda items carry over to the next one."), "success")
            else:
                restore_occurrence(series, current_user, key, now)
                flash(_("This meeting is back at its usual time."), "success")
        except ServiceError as error:
            flash(error.message, "danger")
    return _back(series, found)


@bp.route("/one-on-ones/<int:series_id>/meetings/<key>/agenda", methods=["POST"])
@login_required
def agenda_add(series_id: int, key: str):
    series, found, now = _load(series_id, key)
    form = AgendaForm(prefix="agenda")
    if form.validate_on_submit():
        try:
            add_agenda_item(series, found, current_user, form.text.data, now)
        except ServiceError as error:
            if error.status != 422:
                raise
            _apply_errors(form, error)
        else:
            return _back(series, found, "#agenda")
    return _occurrence_page(series, found, now, agenda_form=form, status=422)


@bp.route("/one-on-ones/<int:series_id>/meetings/<key>/agenda/<int:item_id>", methods=["POST"])
@login_required
def agenda_toggle(series_id: int, key: str, item_id: int):
    series, found, now = _load(series_id, key)
    if EmptyForm().validate_on_submit():
        try:
            toggle_agenda_item(series, found, current_user, item_id, now)
        except NotFound:
            abort(404)
    return _back(series, found, "#agenda")


@bp.route("/one-on-ones/<int:series_id>/meetings/<key>/agenda/<int:item_id>/delete", methods=["POST"])
@login_required
def agenda_delete(series_id: int, key: str, item_id: int):
    return _delete(delete_agenda_item, series_id, key, item_id, "#agenda")


@bp.route("/one-on-ones/<int:series_id>/meetings/<key>/actions", methods=["POST"])
@login_required
def action_add(series_id: int, key: str):
    series, found, now = _load(series_id, key)
    form = _action_form(series, formdata=request.form)
    if form.validate_on_submit():
        try:
            add_action_item(series, found, current_user, form.to_data(), now)
        except ServiceError as error:
            if error.status != 422:
                raise
            _apply_errors(form, error)
        else:
            return _back(series, found, "#actions")
    return _occurrence_page(series, found, now, action_form=form, status=422)


@bp.route("/one-on-ones/<int:series_id>/meetings/<key>/actions/<int:item_id>", methods=["POST"])
@login_required
def action_toggle(series_id: int, key: str, item_id: int):
    series, found, now = _load(series_id, key)
    if EmptyForm().validate_on_submit():
        try:
            toggle_action_item(series, current_user, item_id, now)
        except NotFound:
            abort(404)
    return _back(series, found, "#actions")


@bp.route("/one-on-ones/<int:series_id>/meetings/<key>/actions/<int:item_id>/delete", methods=["POST"])
@login_required
def action_delete(series_id: int, key: str, item_id: int):
    return _delete(delete_action_item, series_id, key, item_id, "#actions")


def _delete(remove, series_id: int, key: str, item_id: int, anchor: str):
    """Remove an item; a refusal (not the author: 403, ticked off: 409) is shown on the meeting's page."""
    series, found, now = _load(series_id, key)
    if EmptyForm().validate_on_submit():
        try:
            removed = remove(series, current_user, item_id)
        except NotFound:
            abort(404)
        except ServiceError as error:
            flash(error.message, "danger")
            return _occurrence_page(series, found, now, status=error.status)
        flash(_("Removed: “%(item)s”.", item=removed.text), "success")
    return _back(series, found, anchor)


@bp.route("/one-on-ones/<int:series_id>/meetings/<key>/note", methods=["POST"])
@login_required
def note_save(series_id: int, key: str):
    series, found, now = _load(series_id, key)
    form = NoteForm(prefix="note")
    if form.validate_on_submit():
        try:
            saved = save_private_note(series, found, current_user, form.body.data, now)
        except ServiceError as error:
            if error.status != 422:
                raise
            _apply_errors(form, error)
        else:
            flash(_("Your private note is saved.") if saved else _("Your private note is deleted."), "success")
            return _back(series, found, "#note")
    return _occurrence_page(series, found, now, note_form=form, status=422)


# --- Calendar feed ----------------------------------------------------------------------


@bp.route("/one-on-ones/calendar")
@login_required
def calendar():
    url = feeds.feed_url(current_user, _now())
    webcal = url.replace("https://", "webcal://").replace("http://", "webcal://") if url else None
    return render_template("oneonones/calendar.html", url=url, webcal=webcal, form=EmptyForm())


@bp.route("/one-on-ones/calendar/<any(create, regenerate, revoke):action>", methods=["POST"])
@login_required
def calendar_action(action: str):
    if EmptyForm().validate_on_submit():
        if action == "revoke":
            feeds.revoke_feed(current_user)
            flash(_("Your calendar link is switched off; calendars using it stop updating."), "success")
        elif action == "regenerate":
            feeds.regenerate_feed(current_user, _now())
            flash(_("Your calendar has a new private link; the old one no longer works."), "success")
        else:
            feeds.feed_url(current_user, _now(), create=True)
            flash(_("Your private calendar link is ready."), "success")
    return redirect(url_for("oneonones.calendar"))


@bp.route("/calendar/<token>.ics")
def feed(token: str):
    """The private feed: no sign-in, the secret in the URL is the credential.

    Answers ``If-None-Match`` (its ETag) and, without it, ``If-Modified-Since`` with a 304.
    """
    try:
        feed_row = feeds.feed_for_token(token)
    except NotFound:
        abort(404)
    document = feeds.document(feed_row, _now())
    response = Response(document.body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="one-on-ones.ics"'
    # Clients may keep it, but ask again each time: a 304 when nothing changed costs little.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Robots-Tag"] = "noindex"
    response.set_etag(document.etag)
    response.last_modified = document.modified_at
    return response.make_conditional(request)
