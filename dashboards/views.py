"""Results pages; for now the methodology page that explains every number."""

from flask import Blueprint, current_app, render_template
from flask_login import login_required

from scoring import COMMENT_THRESHOLD, MIN_DRIVER_N

bp = Blueprint("dashboards", __name__)


@bp.route("/methodology")
@login_required
def methodology():
    return render_template("scoring/methodology.html", min_group_size=current_app.config["POLSO_MIN_GROUP_SIZE"],
                           comment_threshold=COMMENT_THRESHOLD, min_driver_n=MIN_DRIVER_N)
