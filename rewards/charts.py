"""Plotly figures for the reward history, as plain data (``fig.to_dict()``).

One figure, two rows on one shared time axis: the company eNPS trend on top
and the payouts below (bars per month, stacked by department or plan, with the
cumulative amount paid on a second y axis), so HR sees rewards and engagement
side by side. eNPS points hidden by the anonymity guard carry no number.
With nothing to draw, the figure is an empty state (a message, no axes) rather
than Plotly's default year 2000; with a short span (one round, one month) the
time axis still reads in months.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import plotly.graph_objects as go
from plotly.subplots import make_subplots

# The brand palette of static/css/brand.css (tests/test_visual_system.py keeps them equal). Groups: the data
# blue and orange, then Okabe–Ito hues, each 3:1 or more against white; the brand colour for eNPS, the
# text colour for the running total.
PALETTE = ("#2166ac", "#b35806", "#009e73", "#5e3c99", "#cc79a7", "#8f8500", "#596170", "#1f2430")
ENPS_COLOUR = "#7a1f3d"
CUMULATIVE_COLOUR = "#1f2430"
GRID_COLOUR = "#e2e5ea"
ZERO_LINE_COLOUR = "#868d99"
BG = "#ffffff"
MUTED_TEXT_COLOUR = "#596170"

DEFAULT_TEXT = {
    "enps": "eNPS",
    "enps_axis": "eNPS (−100 to 100)",
    "paid_title": "Paid per month",
    "paid_axis": "Paid per month",
    "cumulative": "Cumulative paid",
    "cumulative_axis": "Cumulative",
    "significant": "Significant change",
    "interval": "95% interval",
    "empty": "No payouts and no closed eNPS round yet.",
}
MINUS = "\u2212"
MIN_SPAN = timedelta(days=90)  # a shorter time axis would tick in days or hours


def signed(value: float) -> str:
    """An eNPS score as text, rounded, with its sign: "+12", "−15" (the minus sign, not a hyphen)."""
    return f"{value:+.0f}".replace("-", MINUS)


def months_between(first: date, last: date) -> list[date]:
    """First days of every month from ``first``'s month to ``last``'s, inclusive."""
    months, current = [], date(first.year, first.month, 1)
    while current <= last:
        months.append(current)
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return months


def history_figure(payouts: Iterable, trend: Sequence, *, currency: str, digits: int,
                   text: Mapping[str, str] | None = None, money: Callable[[int], str] | None = None,
                   score: Callable[[float], str] = signed) -> dict:
    """The reward history figure.

    ``payouts``: rows with ``month`` (first day), ``group`` and ``amount_minor``
    (``rewards.payout_history.monthly_payouts``); ``trend``: rows with ``closes_on``,
    ``result`` (None when hidden) and ``significant_change``
    (``dashboards.services.company_enps_trend``). Amounts are drawn in major
    units of ``currency``; ``money`` formats the hover text (minor units in)
    and ``score`` an eNPS score. Months without payouts between the first and
    the last one are drawn as 0, so the cumulative line steps honestly.
    """
    words = {**DEFAULT_TEXT, **(text or {})}
    fmt = money or (lambda minor: f"{Decimal(minor).scaleb(-digits)} {currency}")
    rows = list(payouts)
    if not rows and not trend:
        return empty_figure(words["empty"])

    def major(minor: int) -> float:
        return float(Decimal(minor).scaleb(-digits))

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, row_heights=[0.42, 0.58],
                        specs=[[{}], [{"secondary_y": True}]],
                        subplot_titles=(words["enps"], words["paid_title"]))

    dates = [row.closes_on.isoformat() for row in trend]
    scores = [row.result.score if row.result else None for row in trend]
    upper = [row.result.ci_high - row.result.score if row.result else None for row in trend]
    lower = [row.result.score - row.result.ci_low if row.result else None for row in trend]
    hover = [f"{score(row.result.score)} ({words['interval']} {score(row.result.ci_low)} … {score(row.result.ci_high)})"
             + (f" · {words['significant']}" if row.significant_change else "") if row.result else None
             for row in trend]
    symbols = ["diamond" if row.significant_change else "circle" for row in trend]
    fig.add_trace(go.Scatter(
        x=dates, y=scores, name=words["enps"], mode="lines+markers", connectgaps=False,
        line={"color": ENPS_COLOUR, "width": 2}, marker={"color": ENPS_COLOUR, "size": 7, "symbol": symbols},
        error_y={"type": "data", "symmetric": False, "array": upper, "arrayminus": lower,
                 "color": ENPS_COLOUR, "thickness": 1, "width": 3},
        hovertext=hover, hovertemplate="%{x|%d %b %Y}: %{hovertext}<extra></extra>"), row=1, col=1)

    months = sorted({row.month for row in rows})
    if months:
        months = months_between(months[0], months[-1])
    by_group: dict[str, dict[date, int]] = defaultdict(dict)
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        by_group[row.group][row.month] = by_group[row.group].get(row.month, 0) + row.amount_minor
        totals[row.group] += row.amount_minor
    groups = sorted(by_group, key=lambda g: (-totals[g], g))
    x_months = [m.isoformat() for m in months]
    for index, group in enumerate(groups):
        minor = [by_group[group].get(m, 0) for m in months]
        fig.add_trace(go.Bar(
            x=x_months, y=[major(v) for v in minor], name=group, xperiod="M1", xperiodalignment="middle",
            marker={"color": PALETTE[index % len(PALETTE)]}, hovertext=[f"{group}: {fmt(v)}" for v in minor],
            hovertemplate="%{x|%b %Y} · %{hovertext}<extra></extra>"),
            row=2, col=1, secondary_y=False)
    running, cumulative = 0, []
    for m in months:
        running += sum(by_group[g].get(m, 0) for g in groups)
        cumulative.append(running)
    fig.add_trace(go.Scatter(
        x=x_months, y=[major(v) for v in cumulative], name=words["cumulative"], mode="lines+markers",
        xperiod="M1", xperiodalignment="end", line={"color": CUMULATIVE_COLOUR, "width": 2, "dash": "dot"},
        marker={"color": CUMULATIVE_COLOUR, "size": 5},
        hovertext=[f"{words['cumulative']}: {fmt(v)}" for v in cumulative],
        hovertemplate="%{x|%b %Y} · %{hovertext}<extra></extra>"),
        row=2, col=1, secondary_y=True)

    fig.update_layout(barmode="stack", margin={"l": 56, "r": 56, "t": 36, "b": 24}, hovermode="closest",
                      legend={"orientation": "h", "y": -0.12, "x": 0}, font={"size": 13},
                      paper_bgcolor=BG, plot_bgcolor=BG)
    fig.update_yaxes(title_text=words["enps_axis"], range=[-100, 100], zeroline=True, zerolinecolor=ZERO_LINE_COLOUR,
                     gridcolor=GRID_COLOUR, row=1, col=1)
    fig.update_yaxes(title_text=f"{words['paid_axis']} ({currency})", rangemode="tozero", gridcolor=GRID_COLOUR,
                     row=2, col=1, secondary_y=False)
    fig.update_yaxes(title_text=f"{words['cumulative_axis']} ({currency})", rangemode="tozero", showgrid=False,
                     row=2, col=1, secondary_y=True)
    fig.update_xaxes(type="date", gridcolor=GRID_COLOUR, **_short_span([row.closes_on for row in trend], months))
    return fig.to_dict()


def _short_span(days: Sequence[date], months: Sequence[date]) -> dict:
    """Axis settings for a span under ``MIN_SPAN``: widened around its middle, ticks per month."""
    edges = [*days, *months, *(months_between(months[-1], months[-1] + timedelta(days=31))[-1:] if months else [])]
    first, last = min(edges), max(edges)
    if last - first >= MIN_SPAN:
        return {}
    middle = first + (last - first) / 2
    return {"range": [(middle - MIN_SPAN / 2).isoformat(), (middle + MIN_SPAN / 2).isoformat()],
            "dtick": "M1", "tickformat": "%b %Y"}


def empty_figure(message: str) -> dict:
    """A figure that says there is nothing to draw: no traces, no axes, the message in the middle."""
    fig = go.Figure()
    fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False}, paper_bgcolor=BG, plot_bgcolor=BG,
                      margin={"l": 16, "r": 16, "t": 16, "b": 16},
                      annotations=[{"text": message, "showarrow": False, "xref": "paper", "yref": "paper",
                                    "x": 0.5, "y": 0.5, "font": {"size": 15, "color": MUTED_TEXT_COLOUR}}])
    return fig.to_dict()



@dataclass(frozen=True)
class HistoryMonth:
    """One row of the figure's table: what was paid in the month, the running total, the rounds that closed."""

    month: date
    paid_minor: int
    cumulative_minor: int
    rounds: tuple


def history_table(payouts: Iterable, trend: Sequence) -> list[HistoryMonth]:
    """The figure's numbers month by month, for the table beside it (screen readers, keyboard users).

    Every month from the first to the last payout is a row (0 when nothing was paid), and so is every
    month in which an eNPS round closed.
    """
    paid: dict[date, int] = defaultdict(int)
    for row in payouts:
        paid[row.month] += row.amount_minor
    rounds: dict[date, list] = defaultdict(list)
    for row in trend:
        rounds[date(row.closes_on.year, row.closes_on.month, 1)].append(row)
    months = set(paid) | set(rounds)
    if paid:
        months |= set(months_between(min(paid), max(paid)))
    rows, running = [], 0
    for month in sorted(months):
        running += paid.get(month, 0)
        rows.append(HistoryMonth(month, paid.get(month, 0), running, tuple(rounds.get(month, ()))))
    return rows
