"""The two pages of single sign-on: ``/auth/oidc/login`` sends the browser to the provider, and the provider
sends it back to ``/auth/oidc/callback``. A refusal is a notice on the sign-in page, never an error page."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, has_request_context, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from errors import Forbidden
from people import auth
from people.sso import services
from people.views import _safe_next

bp = Blueprint("sso", __name__)


def _back_to_login(message: str):
    flash(message, "danger")
    return redirect(url_for("people.login"))


@bp.route("/auth/oidc/login")
def start():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    if not services.configured():
        return _back_to_login(_("Single sign-on is not set up here: sign in with your e-mail and password."))
    try:
        return services.authorization_redirect(_safe_next(request.args.get("next")))
    except Forbidden as refusal:
        return _back_to_login(refusal.message)


@bp.route(services.CALLBACK_PATH)
def callback():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    if not services.configured():
        return _back_to_login(_("Single sign-on is not set up here: sign in with your e-mail and password."))
    now = datetime.now(UTC)
    try:
        signed_in = services.complete_sign_in(now)
    except Forbidden as refusal:
        return _back_to_login(refusal.message)
    return redirect(auth.begin_sign_in(signed_in.person, method="oidc", remember=False,
                                       next_url=signed_in.next_url, now=now))


@bp.app_context_processor
def sign_in_choices():
    """What the sign-in page offers besides the password form."""
    sso = None
    if services.configured() and has_request_context():
        sso = {"name": services.provider_name(), "url": url_for("sso.start", next=request.args.get("next"))}
    return {"sso_sign_in": sso, "password_sign_in_admins_only": services.password_login_admins_only()}
