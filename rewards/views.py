"""Milestone reward pages (placeholder until the feature lands)."""

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("rewards", __name__)


@bp.route("/rewards")
@login_required
def index():
    return render_template("placeholder.html")
