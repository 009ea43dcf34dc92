"""The Provisioning page (HR admins): make a SCIM token (shown once), see and revoke them, without the
command line. The SCIM protocol itself is ``scim.views``."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from errors import NotFound
from people.auth import hr_required
from people.forms import EmptyForm
from scim import tokens

bp = Blueprint("scim_admin", __name__)


def _page(new_token: tuple | None = None):
    return render_template("scim/provisioning.html", tokens=tokens.all_tokens(), form=EmptyForm(),
                           new_token=new_token,
                           scim_url=current_app.config["POLSO_BASE_URL"].rstrip("/") + "/scim/v2")


@bp.route("/provisioning")
@hr_required
def provisioning():
    return _page()


@bp.route("/provisioning/tokens", methods=["POST"])
@hr_required
def create_token():
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("scim_admin.provisioning"))
    token, raw = tokens.create_token(datetime.now(UTC), by=current_user)
    return _page(new_token=(token.id, raw))


@bp.route("/provisioning/tokens/<int:token_id>/revoke", methods=["POST"])
@hr_required
def revoke_token(token_id: int):
    if EmptyForm().validate_on_submit():
        try:
            tokens.revoke_token(token_id, datetime.now(UTC), by=current_user)
        except NotFound:
            flash(_("There is no such token."), "danger")
        else:
            flash(_("SCIM token %(id)s is revoked: requests bearing it are refused from now on.", id=token_id),
                  "success")
    return redirect(url_for("scim_admin.provisioning"))
