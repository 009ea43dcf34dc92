"""Pages for two-factor sign-in: the code after the password, setting it up on Settings, and the gate
that sends HR admins to set it up first when ``POLSO_REQUIRE_2FA=hr_admin``."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from errors import Forbidden, TooManyAttempts, ValidationError
from form_errors import place_errors
from people import auth
from people.twofactor import services
from people.twofactor.forms import ConfirmForm, DisableForm, RenewForm, SignInCodeForm

bp = Blueprint("twofactor", __name__)

# Wrong codes one pending sign-in may give before the password must be typed again.
MAX_WRONG_CODES = 5
# What an HR admin who must set up two-factor may still open: the setup pages, signing out, the language.
_OPEN_DURING_GATE = {"people.logout", "people.set_language", "static"}


@bp.before_app_request
def require_two_factor():
    """With ``POLSO_REQUIRE_2FA=hr_admin``, a signed-in HR admin without two-factor sees only its setup.

    The API and SCIM take bearer tokens, not this session: they are not pages and are left alone.
    """
    if current_app.config.get("POLSO_REQUIRE_2FA") != "hr_admin" or request.path.startswith(("/api/", "/scim/")):
        return None
    # No endpoint: a 404, which shows nothing (and a redirect would flash the warning twice).
    if request.endpoint is None or request.endpoint in _OPEN_DURING_GATE or request.blueprint == "twofactor":
        return None
    if current_user.is_authenticated and not current_user.has_two_factor and services.required_for(current_user):
        flash(_("HR admins must set up two-factor sign-in before going on."), "warning")
        return redirect(url_for("twofactor.setup"))
    return None


def _place(form, error: ValidationError) -> None:
    for message in place_errors(form, error.fields, fallback=form.code):
        flash(message, "danger")


@bp.route("/login/two-factor", methods=["GET", "POST"])
def verify():
    """The second step of signing in; without a fresh pending sign-in, back to the sign-in page."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    now = datetime.now(UTC)
    found = auth.pending_sign_in(now)
    if found is None:
        session.pop(auth.PENDING_KEY, None)
        flash(_("Your sign-in has expired. Sign in again."), "info")
        return redirect(url_for("people.login"))
    person, pending = found
    form = SignInCodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.check_code(person, form.code.data, now)
        except TooManyAttempts as refusal:
            session.pop(auth.PENDING_KEY, None)
            flash(refusal.message, "danger")
            return redirect(url_for("people.login"))
        except ValidationError as error:
            wrong = int(pending.get("wrong", 0)) + 1
            if wrong >= MAX_WRONG_CODES:
                session.pop(auth.PENDING_KEY, None)
                flash(_("Too many wrong codes. Sign in again."), "danger")
                return redirect(url_for("people.login"))
            session[auth.PENDING_KEY] = {**pending, "wrong": wrong}
            _place(form, error)
        else:
            auth.start_session(person, method=pending["method"], remember=pending["remember"], now=now)
            return redirect(pending.get("next") or url_for("home.index"))
    if form.errors:
        status = 422
    return render_template("twofactor/verify.html", form=form), status


def _setup_page(confirm=None, renew=None, disable=None, status=200):
    person = current_user
    context = {"required": services.required_for(person)}
    if person.has_two_factor:
        context.update(renew=renew or RenewForm(prefix="renew", formdata=None),
                       disable=disable or DisableForm(prefix="disable", formdata=None),
                       unused=services.unused_recovery_codes(person))
    else:
        secret = services.start_enrolment(person)
        uri = services.provisioning_uri(person, secret)
        context.update(confirm=confirm or ConfirmForm(formdata=None), secret=services.spaced(secret),
                       qr=services.qr_svg(uri, _("QR code to scan with your authenticator app")))
    return render_template("twofactor/setup.html", **context), status


def _codes_page(codes: list[str]):
    return render_template("twofactor/recovery_codes.html", codes=codes)


@bp.route("/settings/two-factor", methods=["GET", "POST"])
@login_required
def setup():
    """Set up two-factor sign-in (a QR code, then a code to confirm), or manage it once on."""
    if request.method == "GET" or current_user.has_two_factor:
        return _setup_page()
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            codes = services.enable(current_user, form.code.data, datetime.now(UTC))
        except ValidationError as error:
            _place(form, error)
        except Forbidden as refusal:
            flash(refusal.message, "danger")
            return redirect(url_for("twofactor.setup"))
        else:
            flash(_("Two-factor sign-in is on."), "success")
            return _codes_page(codes)
    return _setup_page(confirm=form, status=422)


@bp.route("/settings/two-factor/recovery-codes", methods=["POST"])
@login_required
def recovery_codes():
    """Ten new recovery codes, shown once; the old ones stop working."""
    if not current_user.has_two_factor:
        return redirect(url_for("twofactor.setup"))
    form = RenewForm(prefix="renew")
    if form.validate_on_submit():
        try:
            codes = services.renew_recovery_codes(current_user, form.code.data, datetime.now(UTC))
        except TooManyAttempts as refusal:
            form.code.errors = [*form.code.errors, refusal.message]
        except ValidationError as error:
            _place(form, error)
        else:
            flash(_("New recovery codes are made; the old ones no longer work."), "success")
            return _codes_page(codes)
    return _setup_page(renew=form, status=422)


@bp.route("/settings/two-factor/disable", methods=["POST"])
@login_required
def disable():
    if not current_user.has_two_factor:
        return redirect(url_for("twofactor.setup"))
    form = DisableForm(prefix="disable")
    if form.validate_on_submit():
        try:
            services.disable(current_user, password=form.password.data, code=form.code.data, now=datetime.now(UTC))
        except TooManyAttempts as refusal:
            form.code.errors = [*form.code.errors, refusal.message]
        except ValidationError as error:
            _place(form, error)
        except Forbidden as refusal:
            flash(refusal.message, "danger")
            return redirect(url_for("twofactor.setup"))
        else:
            flash(_("Two-factor sign-in is off."), "success")
            return redirect(url_for("people.settings"))
    return _setup_page(disable=form, status=422)
