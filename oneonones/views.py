"""One-on-one pages (placeholder until the feature lands)."""

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("oneonones", __name__)


@bp.route("/one-on-ones")
@login_required
def index():
    return render_template("placeholder.html")
