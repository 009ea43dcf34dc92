"""HTML pages for signing in, personal settings and HR's people administration (the home page is ``home``)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms import SelectChoice

import audit
import inputs
from errors import Conflict, Forbidden, TooManyAttempts, ValidationError
from extensions import db
from form_errors import place_errors
from people import auth, credentials, directory, importing, signin
from people.auth import hr_required
from people.forms import (
    EmptyForm,
    ForgotPasswordForm,
    ImportForm,
    LoginForm,
    NewPersonForm,
    PasswordChangeForm,
    PersonForm,
    SetPasswordForm,
    SettingsForm,
)
from people.models import Person
from settings import LANGUAGES

bp = Blueprint("people", __name__)


def _safe_next(target: str | None) -> str:
    if (target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//")
            and "\\" not in target):
        return target
    return url_for("home.index")


def _apply_field_errors(form, error: ValidationError) -> None:
    """Each field message on its field; one no field shows as a notice."""
    for message in place_errors(form, error.fields):
        flash(message, "danger")


def _demo_logins() -> dict | None:
    """In development only, the demo accounts that exist here, so that trying Polso needs no terminal."""
    config = current_app.config
    if config.get("POLSO_ENV") != "development" or not config.get("POLSO_DEMO_LOGINS"):
        return None
    demo_logins, demo_password = config["POLSO_DEMO_LOGINS"], config["POLSO_DEMO_PASSWORD"]
    labels = {"HR administrator": _("HR administrator"), "Manager of a team": _("Manager of a team"),
              "Employee": _("Employee")}
    existing = set(db.session.scalars(sa.select(Person.email).where(
        Person.email.in_([email for email, _label in demo_logins]), Person.active)))
    logins = [(email, labels.get(label, label)) for email, label in demo_logins if email in existing]
    return {"password": demo_password, "logins": logins} if logins else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    demo = _demo_logins()
    if form.validate_on_submit():
        try:
            person = signin.authenticate(form.email.data, form.password.data, request.remote_addr,
                                           datetime.now(UTC))
        except TooManyAttempts as exc:
            flash(exc.message, "danger")
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
            return render_template("people/login.html", form=form, demo=demo), 429, headers
        if person is None:
            flash(_("E-mail or password is not correct."), "danger")
            status = 401
        elif not signin.password_login_allowed(person):
            flash(_("Sign in with %(provider)s: only HR admins may sign in with a password here.",
                    provider=current_app.config["OIDC_PROVIDER_NAME"]), "danger")
            status = 403
        else:
            return redirect(auth.begin_sign_in(person, method="password", remember=form.remember_me.data,
                                               next_url=_safe_next(request.args.get("next")),
                                               now=datetime.now(UTC)))
    return render_template("people/login.html", form=form, demo=demo), status


@bp.route("/login/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a one-hour link that sets a new password; the answer is the same for any address."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            credentials.request_reset(form.email.data, request.remote_addr, datetime.now(UTC))
        except TooManyAttempts as exc:
            flash(exc.message, "danger")
            return render_template("people/forgot.html", form=form), 429, {"Retry-After": str(exc.retry_after)}
        return render_template("people/forgot_sent.html", email=form.email.data)
    return render_template("people/forgot.html", form=form), 422 if form.errors else 200


@bp.route("/password/<key>", methods=["GET", "POST"])
def set_password(key: str):
    """A link from an invitation or a reset e-mail: choose a password, then be signed in."""
    now = datetime.now(UTC)
    try:
        link = credentials.open_link(key, now)
    except credentials.LinkRefused as refused:
        return render_template("people/link_refused.html", message=refused.message), refused.status
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            person = credentials.use_link(key, form.password.data, now)
        except ValidationError as error:
            _apply_field_errors(form, error)
        except credentials.LinkRefused as refused:
            return render_template("people/link_refused.html", message=refused.message), refused.status
        else:
            target = auth.begin_sign_in(person, method="password", remember=False, next_url=None, now=now)
            flash(_("Your password is set. Welcome to Polso."), "success")  # after: signing in empties the cookie
            return redirect(target)
    return render_template("people/set_password.html", form=form, link=link), 422 if form.errors else 200


@bp.route("/logout", methods=["POST"])
def logout():
    if EmptyForm().validate_on_submit():
        auth.end_current_session()
        flash(_("You have signed out."), "info")
    return redirect(url_for("people.login"))


@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str):
    """The language switcher: remembered on the account, or in the session when signed out."""
    if code in LANGUAGES and EmptyForm().validate_on_submit():
        session["locale"] = code
        if current_user.is_authenticated:
            directory.update_settings(current_user, {"locale": code})
    return redirect(_safe_next(request.form.get("next")))


def _settings_page(form=None, password_form=None, status=200, new_token=None):
    now = datetime.now(UTC)
    form = form or SettingsForm(obj=current_user, formdata=None)
    form.locale.data = form.locale.data or ""
    current = auth.current_session()
    return render_template(
        "people/settings.html", form=form, password_form=password_form or PasswordChangeForm(formdata=None),
        sessions=auth.active_sessions(current_user, now), current_session_id=current.id if current else None,
        tokens=signin.active_api_tokens(current_user, now), revoke=EmptyForm(), new_token=new_token), status


@bp.route("/settings/tokens", methods=["POST"])
@login_required
def create_token():
    """Make an API token for the person signed in here (with both factors, where they have two); it is
    shown once, on this answer, and never stored (only its hash)."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("people.settings"))
    now = datetime.now(UTC)
    raw = signin.issue_api_token(current_user, now)
    audit.record("token.created", actor=current_user, target=current_user, summary=current_user.email, now=now)
    db.session.commit()
    return _settings_page(new_token=raw)


@bp.route("/settings/password", methods=["POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            signin.change_password(current_user, form.current_password.data, form.new_password.data,
                                   datetime.now(UTC), keep=auth.current_session())
        except ValidationError as error:
            _apply_field_errors(form, error)
        else:
            flash(_("Your password is changed. Every other session is signed out and your API tokens "
                    "are revoked."), "success")
            return redirect(url_for("people.settings"))
    return _settings_page(password_form=form, status=422)


@bp.route("/settings/sessions/<int:session_id>/revoke", methods=["POST"])
@login_required
def revoke_session(session_id: int):
    if EmptyForm().validate_on_submit():
        current = auth.current_session()
        current_id = current.id if current is not None else None
        if auth.revoke_session(current_user, session_id, datetime.now(UTC)):
            if current_id == session_id:
                auth.end_current_session()
                flash(_("You have signed out."), "info")
                return redirect(url_for("people.login"))
            flash(_("That session is signed out."), "success")
    return redirect(url_for("people.settings"))


@bp.route("/settings/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    if EmptyForm().validate_on_submit() and signin.revoke_api_token(current_user, token_id, datetime.now(UTC)):
        flash(_("That API token is revoked."), "success")
    return redirect(url_for("people.settings"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = SettingsForm(obj=current_user)
    form.locale.data = form.locale.data or ""
    if form.validate_on_submit():
        try:
            directory.update_settings(current_user, {"locale": form.locale.data or None,
                                                     "timezone": form.timezone.data or None})
        except ValidationError as error:
            _apply_field_errors(form, error)
        else:
            session.pop("locale", None)
            flash(_("Your settings are saved."), "success")
            return redirect(url_for("people.settings"))
    return _settings_page(form=form, status=422 if form.errors else 200)


@bp.route("/people")
@hr_required
def people_list():
    query = request.args.get("q", "").strip()
    page = inputs.read_int(request.args.get("page"), "page", low=1, required=False) or 1
    pagination = directory.search_people(query, page, current_app.config["PEOPLE_PER_PAGE"])
    now = datetime.now(UTC)
    invitations = credentials.latest_invitations(p.id for p in pagination.items)
    statuses = {p.id: credentials.sign_in_status(p, invitations.get(p.id), now) for p in pagination.items}
    return render_template("people/list.html", pagination=pagination, query=query, form=EmptyForm(),
                           statuses=statuses, uninvited=len(credentials.not_yet_invited(now)))


@bp.route("/people/invite", methods=["POST"])
@hr_required
def people_invite():
    """Invite the people ticked on the People page, or everyone not yet invited."""
    if EmptyForm().validate_on_submit():
        now = datetime.now(UTC)
        if request.form.get("everyone") == "1":
            people = credentials.not_yet_invited(now)
        else:
            ids = [inputs.read_int(raw, "person_ids", low=1) for raw in request.form.getlist("person_ids")]
            people = list(db.session.scalars(sa.select(Person).where(Person.id.in_(ids)).order_by(Person.id)))
        if not people:
            flash(_("Tick the people to invite first."), "warning")
        else:
            _flash_invited(credentials.invite_many(people, by=current_user, now=now))
    return redirect(url_for("people.people_list", q=request.form.get("q") or None))


def _flash_invited(result: credentials.Invited) -> None:
    if result.sent:
        flash(ngettext("An invitation to sign in was sent to %(num)s person.",
                       "Invitations to sign in were sent to %(num)s people.", len(result.sent)), "success")
    if result.skipped:
        flash(ngettext("%(num)s person was not invited: inactive, or able to sign in already.",
                       "%(num)s people were not invited: inactive, or able to sign in already.",
                       len(result.skipped)), "info")


@bp.route("/people/<int:person_id>/invite", methods=["POST"])
@hr_required
def person_invite(person_id: int):
    person = directory.get_person(person_id)
    if EmptyForm().validate_on_submit():
        try:
            credentials.invite(person, by=current_user, now=datetime.now(UTC))
        except Conflict as refused:
            db.session.rollback()
            flash(refused.message, "danger")
        else:
            db.session.commit()
            flash(_("An invitation to sign in was sent to %(email)s.", email=person.email), "success")
    return redirect(url_for("people.person_edit", person_id=person.id))


def _person_form(person=None, form_class: type[PersonForm] = PersonForm) -> PersonForm:
    form = form_class(obj=person)
    form.department_id.choices = [SelectChoice(0, _("No department"))] + [
        SelectChoice(dept_id, path) for dept_id, path in directory.department_choices()]
    form.locale.data = form.locale.data or ""  # a person without a language setting
    if person is not None and request.method == "GET":
        form.manager_email.data = person.manager.email if person.manager else ""
        form.department_id.data = person.department_id or 0
        form.locale.data = person.locale or ""
    return form


@bp.route("/people/new", methods=["GET", "POST"])
@hr_required
def person_new():
    form = _person_form(form_class=NewPersonForm)
    if form.validate_on_submit():
        try:
            person = directory.create_person(form.to_data(), by=current_user)
        except ValidationError as error:
            _apply_field_errors(form, error)
        else:
            flash(_("%(name)s was added.", name=person.name), "success")
            if form.invite.data:
                _flash_invited(credentials.invite_many([person], by=current_user, now=datetime.now(UTC)))
            return redirect(url_for("people.people_list", q=person.email))
    return render_template("people/form.html", form=form, person=None)


@bp.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@hr_required
def person_edit(person_id: int):
    person = directory.get_person(person_id)
    form = _person_form(person)
    if form.validate_on_submit():
        try:
            directory.update_person(person, form.to_data(), by=current_user)
        except ValidationError as error:
            _apply_field_errors(form, error)
        else:
            flash(_("%(name)s was saved.", name=person.name), "success")
            return redirect(url_for("people.people_list", q=person.email))
    now = datetime.now(UTC)
    invitation = credentials.latest_invitations([person.id]).get(person.id)
    return render_template("people/form.html", form=form, person=person, toggle=EmptyForm(), invitation=invitation,
                           sign_in=credentials.sign_in_status(person, invitation, now),
                           can_invite=credentials.can_invite(person, invitation, now))


@bp.route("/people/<int:person_id>/active", methods=["POST"])
@hr_required
def person_set_active(person_id: int):
    person = directory.get_person(person_id)
    if EmptyForm().validate_on_submit():
        active = request.form.get("active") == "1"
        try:
            directory.set_active(person, active, by=current_user)
        except Forbidden as exc:
            flash(exc.message, "danger")
        else:
            flash(_("%(name)s was reactivated.", name=person.name) if active
                  else _("%(name)s was deactivated.", name=person.name), "success")
    return redirect(url_for("people.person_edit", person_id=person.id))


@bp.route("/people/import", methods=["GET", "POST"])
@hr_required
def people_import():
    form = ImportForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            people = importing.import_people_csv(form.file.data.read(), by=current_user)
        except ValidationError as exc:
            error = exc
            status = 422
        else:
            flash(_("%(count)s people were imported.", count=len(people)), "success")
            if form.invite.data:
                now = datetime.now(UTC)
                latest = credentials.latest_invitations(p.id for p in people)
                waiting = [p for p in people if credentials.sign_in_status(p, latest.get(p.id), now)
                           == credentials.NOT_INVITED and p.active]
                if waiting:
                    _flash_invited(credentials.invite_many(waiting, by=current_user, now=now))
            return redirect(url_for("people.people_list"))
    elif form.is_submitted():
        status = 422
    return render_template("people/import.html", form=form, error=error,
                           columns=importing.CSV_COLUMNS), status


@bp.route("/departments", methods=["GET", "POST"])
@hr_required
def departments():
    form = EmptyForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        parent = inputs.read_int(request.form.get("parent_id"), "parent_id", required=False) or None
        try:
            dept = directory.create_department(request.form.get("name"), parent)
        except ValidationError as exc:
            errors = exc.fields
        else:
            flash(_("Department %(name)s was added.", name=dept.name), "success")
            return redirect(url_for("people.departments"))
    return render_template("people/departments.html", form=form, errors=errors,
                           departments=directory.department_choices()), (422 if errors else 200)
