"""The home page: what waits for the signed-in person, gathered from the feature packages.

It sits above them: it may import any package's services, and no package imports it, so
``people`` (sign-in, settings) need not know about surveys.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, render_template, url_for
from flask_login import current_user, login_required

from surveys.invitations import open_invitations

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    links = [(inv, url_for("surveys.my_answer", round_id=inv.round_id))
             for inv in open_invitations(current_user, datetime.now(UTC))]
    return render_template("home.html", links=links)
