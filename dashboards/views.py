"""Results pages; for now the methodology page that explains every number."""

from flask import Blueprint, current_app, render_template, send_from_directory
from flask_login import login_required

from dashboards.plotly_assets import PLOTLY_DIR, guarded_style_ids, plotly_css
from scoring import COMMENT_THRESHOLD, MIN_DRIVER_N

bp = Blueprint("dashboards", __name__)


bp.add_app_template_global(guarded_style_ids, "plotly_guarded_style_ids")


@bp.route("/vendor/plotly.min.js")
def plotly_js():
    """Plotly.js from the pinned plotly package: same version as the figures, from our own origin."""
    return send_from_directory(PLOTLY_DIR, "plotly.min.js", max_age=7 * 24 * 3600)


@bp.route("/vendor/plotly.css")
def plotly_stylesheet():
    return current_app.response_class(plotly_css(), mimetype="text/css",
                                      headers={"Cache-Control": "public, max-age=604800"})


@bp.route("/methodology")
@login_required
def methodology():
    return render_template("scoring/methodology.html", min_group_size=current_app.config["POLSO_MIN_GROUP_SIZE"],
                           comment_threshold=COMMENT_THRESHOLD, min_driver_n=MIN_DRIVER_N)
