"""HTML pages: HR's survey builder and the employee's answer page."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, get_timezone, refresh
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from wtforms import SelectChoice

import inputs
from errors import Conflict, NotFound, ValidationError
from form_errors import place_errors
from mail import services as mail
from people.auth import hr_required
from people.directory import department_choices
from people.forms import EmptyForm
from people.timezones import person_zone
from settings import LANGUAGES
from surveys import answering, building, invitations, links, reply_links, rounds
from surveys.forms import (
    LibraryPickForm,
    QuestionForm,
    SurveySettingsForm,
    answers_from_form,
    cadence_choices,
    kind_choices,
)
from surveys.library import ENPS_ANCHORS_EN, ENPS_ANCHORS_IT, LIKERT_LABELS_EN, LIKERT_LABELS_IT

bp = Blueprint("surveys", __name__)


@bp.app_template_global()
def cadence_label(cadence: str) -> str:
    return next(str(c.label) for c in cadence_choices() if c.value == cadence)


@bp.app_template_global()
def kind_label(kind: str) -> str:
    return next(str(c.label) for c in kind_choices() if c.value == kind)


def _now() -> datetime:
    return datetime.now(UTC)


def _locale() -> str:
    return str(get_locale() or "en")


def _flash_errors(error: ValidationError) -> None:
    for message in error.fields.values() or [error.message]:
        flash(message, "danger")


def _library_label(entry) -> str:
    return entry.text_for(_locale())


def _settings_form(survey=None) -> SurveySettingsForm:
    form = SurveySettingsForm(obj=survey)
    form.audience_department_id.choices = [SelectChoice(0, _("Everyone"))] + [
        SelectChoice(dept_id, path) for dept_id, path in department_choices()]
    if survey is not None and request.method == "GET":
        form.audience_department_id.data = survey.audience_department_id or 0
    form.library_keys.choices = [SelectChoice(q.key, _library_label(q)) for q in building.library()]
    return form


@bp.route("/surveys")
@hr_required
def survey_list():
    return render_template("surveys/list.html", surveys=building.list_surveys())


@bp.route("/surveys/new", methods=["GET", "POST"])
@hr_required
def survey_new():
    form = _settings_form()
    if request.method == "GET":
        form.starts_on.data = _now().astimezone(person_zone(current_user)).date()  # HR's today, not UTC's
        form.library_keys.data = ["enps"]
    if form.validate_on_submit():
        data = form.to_data()
        keys = form.library_keys.data or []
        data["questions"] = [{"library_key": key, "required": key == "enps"} for key in keys]
        try:
            survey = building.create_survey(data, _now(), by=current_user)
        except ValidationError as error:
            place_errors(form, error.fields, aliases={"questions": "library_keys"}, fallback=form.library_keys)
        else:
            flash(_("The survey was created."), "success")
            return redirect(url_for("surveys.survey_detail", survey_id=survey.id))
    return render_template("surveys/new.html", form=form)


@bp.route("/surveys/<int:survey_id>", methods=["GET", "POST"])
@hr_required
def survey_detail(survey_id: int):
    survey = building.get_survey(survey_id)
    locked = building.has_rounds(survey)
    settings = _settings_form(survey)
    del settings.library_keys
    if settings.validate_on_submit():
        try:
            building.update_survey(survey, settings.to_data(), _now(), by=current_user)
        except (ValidationError, Conflict) as error:
            place_errors(settings, error.fields or {"title": error.message}, fallback=settings.title)
        else:
            flash(_("The survey was saved."), "success")
            return redirect(url_for("surveys.survey_detail", survey_id=survey.id))
    question_form = QuestionForm(prefix="q")
    pick = LibraryPickForm(prefix="lib")
    used = {q.library_key for q in survey.questions}
    pick.library_key.choices = [SelectChoice(q.key, _library_label(q)) for q in building.library()
                                if q.key not in used]
    return render_template("surveys/detail.html", survey=survey, locked=locked, settings=settings,
                           question_form=question_form, pick=pick, rounds=building.recent_rounds(survey),
                           action=EmptyForm(), now=_now())


@bp.route("/surveys/<int:survey_id>/questions", methods=["POST"])
@hr_required
def question_add(survey_id: int):
    survey = building.get_survey(survey_id)
    form = QuestionForm(prefix="q")
    pick = LibraryPickForm(prefix="lib")
    pick.library_key.choices = [SelectChoice(q.key, q.key) for q in building.library()]
    if "lib-submit" in request.form and pick.validate_on_submit():
        data = {"library_key": pick.library_key.data, "required": pick.required.data}
    elif form.validate_on_submit():
        data = form.to_data()
    else:
        for errors in (form.errors | pick.errors).values():
            for message in errors:
                flash(message, "danger")
        return redirect(url_for("surveys.survey_detail", survey_id=survey.id))
    try:
        building.add_question(survey, data)
    except ValidationError as error:
        _flash_errors(error)
    except Conflict as error:
        flash(error.message, "danger")
    else:
        flash(_("The question was added."), "success")
    return redirect(url_for("surveys.survey_detail", survey_id=survey.id) + "#questions")


@bp.route("/surveys/<int:survey_id>/questions/<int:question_id>/<any(up, down, remove):action>",
          methods=["POST"])
@hr_required
def question_change(survey_id: int, question_id: int, action: str):
    survey = building.get_survey(survey_id)
    if EmptyForm().validate_on_submit():
        try:
            if action == "remove":
                building.remove_question(survey, question_id)
            else:
                building.move_question(survey, question_id, -1 if action == "up" else 1)
        except (ValidationError, Conflict) as error:
            if isinstance(error, ValidationError):
                _flash_errors(error)
            else:
                flash(error.message, "danger")
    return redirect(url_for("surveys.survey_detail", survey_id=survey.id) + "#questions")


SURVEY_ACTIONS = "<any(archive, unarchive, 'open-round'):action>"


@bp.route(f"/surveys/<int:survey_id>/{SURVEY_ACTIONS}", methods=["GET"])
@hr_required
def survey_action_confirm(survey_id: int, action: str):
    """The confirmation page of an action: what it will do (for a round, whom it invites and the e-mail).

    The survey page links here; the page's form posts to ``survey_action``. A page, not a script's dialog,
    so that it works without JavaScript and under the Content-Security-Policy.
    """
    survey = building.get_survey(survey_id)
    context = {"survey": survey, "action": action, "form": EmptyForm(),
               "cancel_url": url_for("surveys.survey_detail", survey_id=survey.id),
               "post_url": url_for("surveys.survey_action", survey_id=survey.id, action=action)}
    if action == "open-round":
        context["preview"] = _round_preview(survey)
    return render_template("surveys/confirm.html", **context)


@bp.route(f"/surveys/<int:survey_id>/{SURVEY_ACTIONS}", methods=["POST"])
@hr_required
def survey_action(survey_id: int, action: str):
    survey = building.get_survey(survey_id)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("surveys.survey_detail", survey_id=survey.id))
    if action == "archive":
        building.archive_survey(survey)
        flash(_("The survey was archived: no new rounds will open."), "success")
    elif action == "unarchive":
        building.unarchive_survey(survey)
        flash(_("The survey is active again: rounds open on its schedule."), "success")
    else:
        try:
            round_ = rounds.open_round_now(survey, _now(), by=current_user)
        except Conflict as error:
            flash(error.message, "danger")
        else:
            flash(_("A round is open; %(count)s people were invited.", count=round_.invited_count), "success")
    return redirect(url_for("surveys.survey_detail", survey_id=survey.id))


def _round_preview(survey) -> dict:
    """Who a round opened now would invite, and the first invitation e-mail as its first invitee gets it."""
    now = _now()
    zone = ZoneInfo(survey.timezone)
    people = rounds.audience(survey, now.astimezone(zone).date())
    preview: dict = {"count": len(people), "problem": None, "mail": None,
                     "closes_at": now + timedelta(days=survey.open_days)}
    if survey.status != "active":
        preview["problem"] = _("This survey is archived.")
    elif any(r.is_open(now) for r in building.recent_rounds(survey, limit=5)):
        preview["problem"] = _("This survey already has an open round.")
    else:
        try:
            rounds.check_audience_apart(survey, people, now)
        except Conflict as error:
            preview["problem"] = error.message
    if people:
        first = people[0]
        locale = first.locale or "en"
        closes_text = format_datetime(preview["closes_at"], "medium",
                                      tzinfo=ZoneInfo(first.timezone or survey.timezone), locale=locale)
        subject, text, _html = mail.render(
            "survey_invitation", locale, person=first, survey=survey, link=links.personal_link("…"),
            closes_text=closes_text, company=current_app.config["POLSO_COMPANY_NAME"])
        preview["mail"] = {"to": first.email, "subject": subject, "text": text, "locale": locale}
    return preview


# --- Answering ------------------------------------------------------------------------


def _labels() -> dict:
    italian = _locale() == "it"
    return {"likert": LIKERT_LABELS_IT if italian else LIKERT_LABELS_EN,
            "enps": ENPS_ANCHORS_IT if italian else ENPS_ANCHORS_EN}


def _answer_page(page: answering.AnswerPage, *, token: str | None = None):
    """The answer page, and on POST its submission.

    The page opens in the invitee's language and time zone. The form posts to
    ``/s/answer``, a URL with no token: a personal link's token travels in the
    form body, a signed-in person's round id with their session.
    """
    ticket, survey = page.ticket, page.survey
    # The invitee's language, unless a language was picked on this browser (the page's language switch).
    # Set (or cleared) on every page: ``g`` may outlive one request where an app context spans several.
    g.timezone = page.timezone
    g.locale_override = None if session.get("locale") in LANGUAGES else page.locale
    refresh()
    now = _now()
    if ticket.answered:
        return render_template("surveys/done.html", state="already"), 200
    if not ticket.is_open(now):
        return render_template("surveys/done.html", state="closed"), 410
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {key[1:]: value for key, value in request.form.items() if key.startswith("q") and key[1:].isdigit()}
        values["replies"] = request.form.get("replies", "")
    if request.method == "POST" and not _csrf_checked():
        # The form expired (its CSRF token is old or gone): nothing is stored, the page comes back as filled in.
        status = 400
    elif request.method == "POST":
        try:
            issued = answering.submit(ticket, answers_from_form(survey.questions, request.form), now,
                                      replies=bool(request.form.get("replies")), questions=survey.questions)
        except ValidationError as error:
            errors = error.fields
        except Conflict:
            state = "already" if answering.round_is_open(ticket.round_id, _now()) else "closed"
            return render_template("surveys/done.html", state=state), 409
        else:
            if issued:
                # Shown once on the thank-you page, through the browser's session cookie, encrypted (the
                # server keeps nothing): every answer, with replies or not, gets the same redirect.
                session[REPLY_LINKS] = reply_links.seal_for_browser(_reply_links(survey, issued))
            return redirect(url_for("surveys.thanks"))
    return render_template("surveys/answer.html", survey=survey, round=page.round, token=token, values=values,
                           errors=errors, questions_html=_questions_html(survey.questions, errors, values),
                           closes=_closing_time(page.round.closes_at, str(get_timezone()), _locale())), (
        422 if errors else status)


# Rendered question blocks of pages just opened, by survey content, language and company name (``_questions_html``).
_BLANK_QUESTIONS: dict[tuple, Markup] = {}


def _questions_html(questions: list[answering.PageQuestion], errors: dict, values: dict) -> Markup:
    """The page's questions. Those of a page just opened hold nothing of the invitee (no token, no answer),
    only the survey's questions in a language, so each process renders them once per survey and language:
    they are most of the page's work, and every invitee opens it."""
    locale, company = _locale(), current_app.config["POLSO_COMPANY_NAME"]

    def render() -> Markup:
        return Markup(render_template("surveys/_questions.html", survey_questions=questions, errors=errors,
                                      values=values, labels=_labels(), locale=locale, company=company))

    if errors or any(values.values()) or current_app.debug:
        return render()
    key = (tuple((q.id, q.kind, q.text, q.text_it, tuple(q.options or ()), q.required) for q in questions),
           locale, company)
    html = _BLANK_QUESTIONS.get(key)
    if html is None:
        if len(_BLANK_QUESTIONS) >= 256:
            _BLANK_QUESTIONS.clear()
        html = _BLANK_QUESTIONS[key] = render()
    return html


@functools.lru_cache(maxsize=512)
def _closing_time(closes_at: datetime, timezone: str, locale: str) -> str:
    """When the round closes, in the invitee's time zone and language (the same for all of a round's invitees
    in one zone and language: formatting it is a good part of the page's work)."""
    return format_datetime(closes_at, "medium", tzinfo=ZoneInfo(timezone), locale=locale)


def _csrf_checked() -> bool:
    """Whether this POST's CSRF token was found good, without building a form object (every answer posts):
    CSRFProtect checks it before any view and marks the request; an expired form's replay
    (``expired_forms``) clears the mark, so the page comes back with what was typed."""
    return not current_app.config["WTF_CSRF_ENABLED"] or bool(g.get("csrf_valid"))


def _page_from_token(token: object) -> answering.AnswerPage:
    try:
        return links.page_from_token(token)
    except NotFound:
        # Links are forgotten when their round closes, so "not valid" is often "closed".
        abort(make_response(render_template("surveys/done.html", state="invalid"), 404))


def _signed_in_page(round_id: int) -> answering.AnswerPage:
    return answering.AnswerPage.of(invitations.invitation_for(current_user, round_id))


@bp.route("/s/<token>")
def answer(token: str):
    """The personal survey link: no password; the random token opens only its own invitation."""
    return _answer_page(_page_from_token(token), token=token)


@bp.route("/s/answer", methods=["POST"])
def answer_submit():
    """Where every answer page posts: the token is in the body, never in this URL (or its logs)."""
    token = request.form.get("token")
    if token:
        return _answer_page(_page_from_token(token), token=token)
    try:
        round_id = inputs.read_id(request.form.get("round"), "round")
    except ValidationError:
        abort(404)  # as for a round one was not invited to: nothing to tell apart
    if not current_user.is_authenticated:
        abort(404)
    return _answer_page(_signed_in_page(round_id))


@bp.route("/my/surveys/<int:round_id>")
@login_required
def my_answer(round_id: int):
    """A signed-in person answers from their home page, without a personal link."""
    return _answer_page(_signed_in_page(round_id))


REPLY_LINKS = "reply_links"


def _reply_links(survey, secrets: dict[int, str]) -> list[tuple[str, str]]:
    texts = {q.id: q.text_for(_locale()).replace("{company}", current_app.config["POLSO_COMPANY_NAME"])
             for q in survey.questions}
    return [(texts[qid], reply_links.reply_link(secret)) for qid, secret in secrets.items()]


def _pending() -> list:
    if not current_user.is_authenticated:
        return []
    return [(inv, url_for("surveys.my_answer", round_id=inv.round_id))
            for inv in invitations.open_invitations(current_user, _now())]


@bp.route("/s/thanks")
def thanks():
    """After answering: where to go next (other open surveys, home, company results; else sign in)."""
    shown = reply_links.open_from_browser(session.pop(REPLY_LINKS, ""))
    response = make_response(render_template("surveys/done.html", state="thanks", pending=_pending(),
                                             reply_links=shown))
    # Once only, and the same size with links or without (``reply_links.padded``).
    response.headers["Cache-Control"] = "no-store"
    return reply_links.padded(response)


@bp.route("/my/surveys")
@login_required
def my_surveys():
    mine = invitations.open_invitations(current_user, _now())
    return render_template("surveys/mine.html",
                           links=[(inv, url_for("surveys.my_answer", round_id=inv.round_id)) for inv in mine])
