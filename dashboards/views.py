"""Results pages: HR and manager dashboards, shared results, exports, and the methodology."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

import inputs
from dashboards import choices, display, exports, figures, heatmap, services
from dashboards.plotly_assets import PLOTLY_DIR, plotly_css
from errors import Conflict, Forbidden, NotFound
from extensions import db
from people.auth import hr_required, manager_required
from people.forms import EmptyForm
from replies import services as replies
from scoring import COMMENT_THRESHOLD, MIN_DRIVER_N
from spreadsheets import download
from surveys.building import recent_rounds

bp = Blueprint("dashboards", __name__)
# What the anonymity promise covers and what it does not; the Methodology page links to it.
ANONYMITY_DOC = Path(__file__).resolve().parents[1] / "docs" / "anonymity.md"
bp.add_app_template_global(display.favorability_class, "favorability_class")


@bp.app_template_filter("score")
def score_filter(value: float | None) -> str:
    return display.score_text(value)


@bp.app_template_filter("pct")
def pct_filter(value: float | None) -> str:
    return "—" if value is None else format_decimal(value, "#,##0") + " %"


@bp.app_template_global()
def hidden_reason(reason: str | None, k: int) -> str:
    if reason == "below_k":
        return _("Hidden: fewer than %(k)s responses.", k=k)
    if reason == "too_few_invited":
        return _("Hidden: fewer than %(k)s people in this group.", k=k)
    if reason in ("no_results", "round_open"):
        return _("No results for this group.")
    return _("Hidden so that a group of fewer than %(k)s people cannot be worked out from other results.", k=k)


def _date_arg(name: str) -> date | None:
    return inputs.read_date(request.args.get(name), name, required=False)


def _request_scope() -> tuple[services.Survey, services.Scope]:
    """Survey and scope from the query string, checked against what the viewer may see."""
    survey_id = inputs.read_id(request.args.get("survey"), "survey", required=False)
    survey = services.get_survey(survey_id) if survey_id else services.enps_survey()
    if survey is None:
        abort(404)
    department = inputs.read_id(request.args.get("department"), "department", required=False)
    team = inputs.read_id(request.args.get("team"), "team", required=False)
    try:
        if current_user.is_hr:
            scope = services.scope_for(current_user, department_id=department, manager_id=team)
        else:
            scope = services.scope_for(current_user, manager_id=team or current_user.id)
    except Forbidden:
        abort(403)
    return survey, scope


def page_model(dash: services.Dashboard) -> dict:
    """Figures, summaries and table rows for the page, all from guarded results."""
    k = dash.k
    labels = [r.closes_at.date().isoformat() for r in dash.rounds]
    model: dict = {"labels": labels}
    model["trend"] = figures.trend_figure(dash.trend)
    model["trend_rows"] = [(p.label, p.n if not p.suppressed else hidden_reason(dash.per_round[r.id].reason, k),
                            score_filter(p.score), f"{score_filter(p.ci_low)} … {score_filter(p.ci_high)}",
                            _("real change") if p.significant_change else "")
                           for p, r in zip(dash.trend, dash.rounds, strict=True)]
    shown = [p for p in dash.trend if not p.suppressed]
    if shown:
        model["trend_summary"] = ngettext(
            "%(count)s of %(num)s round shown; latest shown eNPS %(score)s (95%% interval %(low)s to %(high)s).",
            "%(count)s of %(num)s rounds shown; latest shown eNPS %(score)s (95%% interval %(low)s to %(high)s).",
            len(dash.trend), count=len(shown), score=score_filter(shown[-1].score),
            low=score_filter(shown[-1].ci_low), high=score_filter(shown[-1].ci_high))
    else:
        model["trend_summary"] = _("No round of this group can be shown.")
    latest = dash.latest
    if latest and latest.shown and latest.enps_histogram:
        model["distribution"] = figures.distribution_figure(latest.enps_histogram)
        e = latest.enps
        model["distribution_summary"] = _(
            "%(promoters)s, %(passives)s, %(detractors)s out of %(answers)s.",
            promoters=ngettext("%(num)s promoter", "%(num)s promoters", e.promoters),
            passives=ngettext("%(num)s passive", "%(num)s passives", e.passives),
            detractors=ngettext("%(num)s detractor", "%(num)s detractors", e.detractors),
            answers=ngettext("%(num)s answer", "%(num)s answers", e.n))
        model["distribution_rows"] = [(v, c) for v, c in enumerate(latest.enps_histogram)]
    rates = [(r.participation.rate if r.shown and r.participation else None) for r in dash.per_round.values()]
    model["participation"] = figures.participation_figure(labels, rates)
    model["participation_rows"] = [
        (label, pct_filter(g.participation.rate) if g.shown and g.participation else hidden_reason(g.reason, k),
         g.participation.responses if g.shown and g.participation else "—",
         g.participation.invited if g.shown and g.participation else "—")
        for label, g in zip(labels, dash.per_round.values(), strict=True)]
    known = [r for r in rates if r is not None]
    model["participation_summary"] = (
        _("Latest participation %(rate)s.", rate=pct_filter(known[-1])) if known
        else _("Participation is hidden for this group."))
    locale = str(get_locale() or 'en')
    # Short labels (driver names) on chart axes and column headers; the full text in hover, captions and tables.
    names = display.question_labels(dash.survey.questions, locale)
    model["likert_columns"] = [(q.id, names[q.id]) for q in dash.survey.questions if q.kind == "likert"]
    if latest and latest.shown:
        fav = [(names[q.question.id], q.favorability) for q in latest.questions
               if q.favorability is not None and q.favorability.n]
        model["favorability"] = figures.favorability_figure(
            [(label, f.unfavorable, f.neutral, f.favorable) for label, f in fav]) if fav else None
        model["favorability_rows"] = [(label.full, f.n, pct_filter(f.favorable), pct_filter(f.neutral),
                                       pct_filter(f.unfavorable), format_decimal(f.mean, "0.0")) for label, f in fav]
        lowest = min(fav, key=lambda x: x[1].favorable) if fav else None
        model["favorability_summary"] = (
            _("Lowest favorability: %(label)s (%(value)s favorable).", label=lowest[0].full,
              value=pct_filter(lowest[1].favorable)) if lowest else "")
    ok = [(names[row.question.id], row.impact.r) for row in dash.impacts if row.impact.status == "ok"]
    model["impact"] = figures.impact_figure(ok) if ok else None
    model["impact_rows"] = [(names[row.question.id].full, row.impact.n,
                             display.r_text(row.impact.r) if row.impact.r is not None else
                             _("not enough data") if row.impact.status == "not_enough_data" else _("no variation"))
                            for row in dash.impacts]
    strongest = max(ok, key=lambda x: x[1]) if ok else None
    model["impact_summary"] = (_("Strongest correlation with eNPS: %(label)s (r = %(r)s).", label=strongest[0].full,
                                 r=display.r_text(strongest[1])) if strongest else "")
    return model


def _empty_results():
    """The page for when there is nothing to show yet (a fresh install): no survey, or no closed round.

    Returns None when there are results. Without a survey asked for, a survey that has results is shown
    rather than a newer one that has none yet.
    """
    survey_id = inputs.read_id(request.args.get("survey"), "survey", required=False)
    survey = services.get_survey(survey_id) if survey_id else services.enps_survey()
    if survey is not None and services.closed_rounds(survey):
        return None
    with_results = services.surveys_with_results()
    if survey_id is None and with_results:
        return redirect(url_for("dashboards.results", **{**request.args.to_dict(), "survey": with_results[0].id}))
    now = datetime.now(UTC)
    open_round = next((r for r in recent_rounds(survey, limit=5) if r.is_open(now)), None) \
        if survey is not None else None
    k = survey.min_group_size if survey is not None else current_app.config["POLSO_MIN_GROUP_SIZE"]
    return render_template("dashboards/empty.html", survey=survey, open_round=open_round,
                           with_results=with_results, k=k)


@bp.route("/results")
@manager_required
def results():
    empty = _empty_results()
    if empty is not None:
        return empty
    survey, scope = _request_scope()
    page = inputs.read_int(request.args.get("page"), "page", low=1, high=100_000, required=False) or 1
    dash = services.dashboard(survey, scope, first=_date_arg("from"), last=_date_arg("to"), roll_up=True,
                              breakdown_page=page)
    find = inputs.read_text(request.args.get("find"), "find", max_length=choices.QUERY_LENGTH, required=False,
                            single_line=True)
    # The group asked for, not the larger one a hidden team may be rolled up to.
    groups = choices.offered(current_user, scope.cut, scope.key, find)
    return render_template("dashboards/results.html", dash=dash, model=page_model(dash), groups=groups,
                           surveys=services.surveys_with_results(), selected=scope.key if scope.cut != "company"
                           else None, find_limit=choices.MATCHES, breakdown_size=services.BREAKDOWN_PAGE,
                           args=request.args, share_form=EmptyForm(), comment_threshold=COMMENT_THRESHOLD,
                           min_driver_n=MIN_DRIVER_N, shared=dash.rounds and services.is_shared(dash.rounds[-1].id),
                           comments=_comments_with_threads(dash))


def _comments_with_threads(dash: services.Dashboard) -> list[tuple[str, object]]:
    """Each shown comment with the reply thread HR may open for it (None if its writer did not opt in)."""
    threads = replies.threads_by_comment(current_user, dash.rounds[-1]) if dash.comments else {}
    return [(text, threads[text].pop() if threads.get(text) else None) for text in dash.comments]


@bp.route("/results/export.<any(csv, xlsx):fmt>")
@manager_required
def export(fmt: str):
    survey, scope = _request_scope()
    dash = services.dashboard(survey, scope, first=_date_arg("from"), last=_date_arg("to"), roll_up=True)
    write = exports.results_csv if fmt == "csv" else exports.results_xlsx
    # The page's own words for hidden results, so the file says what the page says.
    body = write(dash, str(get_locale() or "en"), hidden_reason)
    exports.record_download(dash, fmt, current_user._get_current_object(), datetime.now(UTC))
    db.session.commit()
    return download(body, exports.results_file_name(dash, fmt))


def _request_heatmap() -> heatmap.Heatmap:
    """The heatmap the query string asks for (``survey``, ``round``, HR's ``groups``), as the viewer may see it."""
    survey_id = inputs.read_id(request.args.get("survey"), "survey", required=False)
    survey = services.get_survey(survey_id) if survey_id else services.enps_survey()
    if survey is None:
        abort(404)
    round_id = inputs.read_id(request.args.get("round"), "round", required=False)
    kinds = {"departments": ("department",), "teams": ("manager",)}.get(request.args.get("groups"), ("department",))
    try:
        round_ = heatmap.round_for(survey, round_id, current_user)
        return heatmap.heatmap(survey, round_, current_user, str(get_locale() or "en"), kinds)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    except Conflict:
        abort(409)


@bp.route("/results/heatmap")
@manager_required
def heatmap_page():
    empty = _empty_results()
    if empty is not None:
        return empty
    hm = _request_heatmap()
    figure = heatmap.heatmap_figure([(c.short, c.full) for c in hm.columns], heatmap.figure_rows(hm, hidden_reason))
    return render_template("dashboards/heatmap.html", hm=hm, figure=figure, args=request.args,
                           rounds=list(reversed(services.closed_rounds(hm.survey))),
                           surveys=services.surveys_with_results(), value_text=heatmap.value_text,
                           limit=heatmap.COLOUR_LIMIT)


@bp.route("/results/heatmap/export.<any(csv, xlsx):fmt>")
@manager_required
def heatmap_export(fmt: str):
    hm = _request_heatmap()
    write = exports.heatmap_csv if fmt == "csv" else exports.heatmap_xlsx
    body = write(hm, str(get_locale() or "en"), hidden_reason)
    exports.record_heatmap_download(hm, fmt, current_user._get_current_object(), datetime.now(UTC))
    db.session.commit()
    return download(body, exports.heatmap_file_name(hm, fmt))


@bp.route("/results/rounds/<int:round_id>/<any(share, unshare):action>", methods=["POST"])
@hr_required
def share(round_id: int, action: str):
    round_ = services.get_round(round_id)
    back = _same_site(request.form.get("next")) or _same_site(request.referrer)
    if not back or back.split("?")[0] == request.path:
        back = url_for("dashboards.results")
    if EmptyForm().validate_on_submit():
        if action == "share" and request.form.get("confirm") != "yes":
            # Sharing reaches every employee: the button's POST shows what will happen, the page's form does it.
            problem = None if round_.status == "closed" else _("Only a closed round can be shared.")
            return render_template("dashboards/share_confirm.html", round=round_, problem=problem, back=back,
                                   form=EmptyForm())
        if action == "share":
            try:
                services.share_round(round_, current_user, datetime.now(UTC))
            except Conflict as error:
                flash(error.message, "danger")
            else:
                flash(_("The company results of this round are now visible to every employee."), "success")
        else:
            services.unshare_round(round_, current_user, datetime.now(UTC))
            flash(_("The results of this round are no longer shared."), "success")
    return redirect(back)


def _same_site(url: str | None) -> str | None:
    """``url`` if it is a page of this site (a path, or an absolute URL on this host), else None."""
    if not url:
        return None
    if url.startswith(request.host_url):
        url = "/" + url[len(request.host_url):]
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else None


@bp.route("/results/shared")
@login_required
def shared():
    round_ = services.latest_shared_round()
    dash = model = None
    if round_ is not None:
        dash = services.dashboard(round_.survey, services.Scope("company"),
                                  rounds=services.shared_rounds(round_.survey), with_comments=False)
        model = page_model(dash)
    return render_template("dashboards/shared.html", round=round_, dash=dash, model=model)


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
                           comment_threshold=COMMENT_THRESHOLD, min_driver_n=MIN_DRIVER_N,
                           anonymity_doc_url=url_for("dashboards.anonymity_doc"))


@bp.route("/methodology/anonymity")
@login_required
def anonymity_doc():
    """``docs/anonymity.md`` as written (Markdown is plain text), for the same readers as the Methodology page."""
    try:
        text = ANONYMITY_DOC.read_text(encoding="utf-8")
    except FileNotFoundError:
        abort(404)
    return render_template("scoring/anonymity_doc.html", text=text)
