"""Plotly figures as plain data (``fig.to_dict()``), built only from results that passed the guard.

Hidden groups never reach these functions with numbers: a hidden trend point
is a gap, a hidden question is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import plotly.graph_objects as go
from flask_babel import gettext as _

from dashboards.display import QuestionLabel, r_text, score_text, wrap
from scoring import TrendPoint, classify

DAY_MS = 24 * 3600 * 1000

# The brand palette of static/css/brand.css (tests/test_visual_system.py keeps them equal): blue and orange
# with a grey middle, told apart with red-green colour blindness and 3:1 or more against white.
COLORS = {"promoter": "#2166ac", "passive": "#868d99", "detractor": "#b35806",
          "favorable": "#2166ac", "neutral": "#868d99", "unfavorable": "#b35806", "line": "#7a1f3d",
          "band": "rgba(122, 31, 61, 0.15)"}


def _layout(**extra) -> dict:
    return {"margin": {"l": 48, "r": 16, "t": 16, "b": 48}, "font": {"family": "system-ui, sans-serif"},
            "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff", "hovermode": "x unified", **extra}


def trend_figure(points: Sequence[TrendPoint]) -> dict:
    """eNPS over rounds (labels are ISO dates) with its 95 % interval; hidden rounds are gaps; real changes are marked.

    The interval is a band over each run of shown rounds, and an error bar on a shown round that stands
    alone (a band over one point has no width). The hover text carries the score and its interval.
    """
    x = [p.label for p in points]
    score = [None if p.suppressed else p.score for p in points]
    low = [None if p.suppressed else p.ci_low for p in points]
    high = [None if p.suppressed else p.ci_high for p in points]
    runs = _runs(score)
    alone = {run[0] for run in runs if len(run) == 1}
    interval = _("95% interval")
    fig = go.Figure()
    # One band per run of shown rounds: a filled area across a hidden round would draw an interval there.
    bands = [run for run in runs if len(run) > 1]
    for number, run in enumerate(bands):
        fig.add_trace(go.Scatter(x=[x[i] for i in run], y=[high[i] for i in run], mode="lines", line={"width": 0},
                                 hoverinfo="skip", showlegend=False, legendgroup="band"))
        fig.add_trace(go.Scatter(x=[x[i] for i in run], y=[low[i] for i in run], mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor=COLORS["band"], name=interval,
                                 hoverinfo="skip", legendgroup="band", showlegend=number == 0))
    hover = [None if s is None else f"{score_text(s)} ({interval} {score_text(lo)} … {score_text(hi)})"
             for s, lo, hi in zip(score, low, high, strict=True)]
    fig.add_trace(go.Scatter(
        x=x, y=score, mode="lines+markers", name=_("eNPS"), connectgaps=False,
        line={"color": COLORS["line"], "width": 2},
        marker={"size": [11 if p.significant_change else 6 for p in points],
                "symbol": ["diamond" if p.significant_change else "circle" for p in points]},
        error_y={"type": "data", "symmetric": False, "color": COLORS["line"], "thickness": 1.5, "width": 8,
                 "visible": bool(alone),
                 "array": [high[i] - score[i] if i in alone else None for i in range(len(points))],
                 "arrayminus": [score[i] - low[i] if i in alone else None for i in range(len(points))]},
        hovertext=hover, hovertemplate="%{hovertext}<extra></extra>"))
    fig.update_layout(**_layout(xaxis=date_axis(x), yaxis={"range": [-100, 100], "title": _("eNPS"), "zeroline": True},
                                legend={"orientation": "h", "y": -0.2}))
    return fig.to_dict()


def date_axis(dates: Sequence[str], pad_days: int = 7) -> dict:
    """A date x axis. With a single date, Plotly would zoom into milliseconds around it; give it
    two weeks either side with day ticks instead."""
    try:
        days = sorted({date.fromisoformat(d[:10]) for d in dates})
    except ValueError:
        return {}  # not dates: Plotly's own category axis
    axis: dict = {"type": "date"}
    if len(days) == 1:
        day = days[0]
        axis.update(range=[(day - timedelta(days=pad_days)).isoformat(), (day + timedelta(days=pad_days)).isoformat()],
                    tick0=day.isoformat(), dtick=pad_days * DAY_MS, tickformat="%-d %b %Y")
    return axis


def _runs(values: Sequence[float | None]) -> list[list[int]]:
    """Indexes of consecutive non-None values, as separate runs."""
    runs: list[list[int]] = []
    for index, value in enumerate(values):
        if value is None:
            continue
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def distribution_figure(histogram: Sequence[int]) -> dict:
    """The 0..10 answers coloured by detractors, passives and promoters."""
    total = sum(histogram) or 1
    fig = go.Figure(go.Bar(
        x=list(range(11)), y=[round(100 * c / total, 1) for c in histogram],
        marker={"color": [COLORS[classify(v)] for v in range(11)]},
        hovertemplate="%{x}: %{y}%<extra></extra>"))
    fig.update_layout(**_layout(xaxis={"dtick": 1, "title": _("Answer (0 = not at all likely, 10 = extremely likely)")},
                                yaxis={"title": _("Share of answers (%)")}, hovermode="closest"))
    return fig.to_dict()


def participation_figure(labels: Sequence[str], rates: Sequence[float | None]) -> dict:
    """Share of invited people who answered, per round (hidden rounds are gaps)."""
    fig = go.Figure(go.Bar(x=list(labels), y=list(rates), marker={"color": COLORS["line"]},
                           hovertemplate="%{x}: %{y:.0f}%<extra></extra>"))
    fig.update_layout(**_layout(yaxis={"range": [0, 100], "title": _("Invited who answered (%)")}))
    return fig.to_dict()


def favorability_figure(rows: Sequence[tuple[QuestionLabel, float, float, float]]) -> dict:
    """Per question (label, unfavorable %, neutral %, favorable %) as stacked horizontal bars.

    The axis shows the short label, wrapped so a phone does not clip it; the hover shows the full text.
    """
    labels = [wrap(r[0].short) for r in rows]
    full = [r[0].full for r in rows]
    fig = go.Figure()
    for index, (key, name) in enumerate((("unfavorable", _("Unfavorable")), ("neutral", _("Neutral")),
                                        ("favorable", _("Favorable"))), start=1):
        fig.add_trace(go.Bar(y=labels, x=[r[index] for r in rows], name=name, orientation="h",
                             marker={"color": COLORS[key]}, customdata=full,
                             hovertemplate="%{customdata}<br>" + name + ": %{x:.0f} %<extra></extra>"))
    fig.update_layout(**_layout(barmode="stack", xaxis={"range": [0, 100], "title": "%"},
                                yaxis={"automargin": True, "autorange": "reversed"},
                                legend={"orientation": "h", "y": -0.25}, hovermode="closest"))
    return fig.to_dict()


def impact_figure(rows: Sequence[tuple[QuestionLabel, float]]) -> dict:
    """Correlation of each question with the eNPS answer (not cause); short labels on the axis, full text on hover."""
    fig = go.Figure(go.Bar(
        y=[wrap(r[0].short) for r in rows], x=[r[1] for r in rows], orientation="h", marker={"color": COLORS["line"]},
        hovertext=[f"{r[0].full}<br>r = {r_text(r[1])}" for r in rows], hovertemplate="%{hovertext}<extra></extra>"))
    fig.update_layout(**_layout(xaxis={"range": [-1, 1], "title": _("Correlation with eNPS (r)")},
                                yaxis={"automargin": True, "autorange": "reversed"}, hovermode="closest"))
    return fig.to_dict()
