"""The heatmap: eNPS and each driver's favorability by group, coloured by the difference from the company.

The promise:

- Rows are the groups the viewer may see in one closed round: for HR every department (each its
  whole subtree) and every manager's team; for a manager their own organisation and every team
  within it. Columns are eNPS, then each Likert question's share of favorable answers (4-5).
- Whether a group, or one of its questions, is shown is the guard's stored verdict, read through
  ``services.group_result`` as on the results page; nothing is decided here. A hidden cell holds
  the guard's reason and no number at all: no value, no difference, no p-value.
- A shown cell's difference is its value minus the company's. Its significance compares the group
  with the rest of the company (the company's stored counts minus the group's, both shown, so the
  two sides are independent and nothing hidden enters): eNPS with ``scoring.compare``,
  favorability with ``scoring.compare_favorability``. The p-values of all shown cells are read
  together with Benjamini-Hochberg (``scoring.benjamini_hochberg``) at a 5 % false discovery rate.
- :func:`heatmap_figure` turns the plain rows into a Plotly figure dict, and touches no database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import plotly.graph_objects as go
from flask_babel import format_decimal
from flask_babel import gettext as _

from dashboards import results, services
from dashboards.display import question_labels, score_text, wrap
from dashboards.services import COMPANY, GroupResult
from errors import Conflict, Forbidden, NotFound
from people import org
from people.models import Person
from scoring import benjamini_hochberg, compare, compare_favorability, enps
from surveys.models import Round, Survey

ENPS_COLUMN = "enps"
# The colour scale's ends, in points of difference from the company: beyond them a cell keeps the end colour.
COLOUR_LIMIT = 30
COLOURS = [[0.0, "#b35806"], [0.25, "#fdb863"], [0.5, "#f7f7f7"], [0.75, "#92c5de"], [1.0, "#2166ac"]]
HATCH = "#868d99"
HATCH_SHIFTS = (-2 / 3, -1 / 3, 0, 1 / 3, 2 / 3)  # five hatch lines per hidden cell
# (reason code, k) -> the words a page shows for a hidden result.
Reason = Callable[[str | None, int], str]


@dataclass(frozen=True)
class Column:
    id: str  # "enps", or "q<question id>"
    kind: str  # "enps" | "likert"
    short: str  # axis and header label
    full: str  # the question's text, for hover and captions
    question_id: int | None = None


@dataclass(frozen=True)
class HeatCell:
    """One group × column: numbers only when not ``suppressed``; otherwise the guard's ``reason`` only."""

    column: str
    suppressed: bool
    reason: str | None = None
    value: float | None = None  # eNPS score, or % favorable
    delta: float | None = None  # value minus the company's
    p_value: float | None = None  # against the rest of the company, before correction
    significant: bool = False  # after Benjamini-Hochberg over every shown cell


@dataclass(frozen=True)
class HeatRow:
    kind: str  # "department" | "manager"
    key: int
    name: str
    cells: list[HeatCell]


@dataclass
class Heatmap:
    survey: Survey
    round: Round
    k: int
    columns: list[Column]
    company: dict[str, float | None]  # the company's figure per column, None where hidden
    rows: list[HeatRow] = field(default_factory=list)


def columns_for(survey: Survey, locale: str) -> list[Column]:
    names = question_labels(survey.questions, locale)
    out = []
    if any(q.kind == "enps" for q in survey.questions):
        out.append(Column(ENPS_COLUMN, "enps", _("eNPS"), _("eNPS")))
    out += [Column(f"q{q.id}", "likert", names[q.id].short, names[q.id].full, q.id)
            for q in survey.questions if q.kind == "likert"]
    return out


def round_for(survey: Survey, round_id: int | None, viewer: Person) -> Round:
    """The closed round asked for, or the survey's latest closed one, for a viewer who may see a heatmap.

    :raise Forbidden: the viewer is neither HR nor a manager (asked first, so nobody else learns which
        rounds exist). :raise NotFound: no such round of this survey, or none closed.
        :raise Conflict: the round is open.
    """
    if not (viewer.is_hr or viewer.is_manager):
        raise Forbidden(_("Your role does not give access to these results."))
    if round_id is None:
        closed = services.closed_rounds(survey)
        if not closed:
            raise NotFound(_("This survey has no closed round yet."))
        return closed[-1]
    round_ = services.get_round(round_id)
    if round_.survey_id != survey.id:
        raise NotFound(_("No such round."))
    if round_.status != "closed":
        raise Conflict(_("Results of an open round are never shown."))
    return round_


def _company_department(departments: dict[int, int | None]) -> set[int]:
    """The one top department, which is the company itself (as on the results page): its row would repeat
    the company, and its name is left out of the paths below it. Empty when there are several."""
    roots = {key for key, parent in departments.items() if parent == COMPANY}
    return roots if len(roots) == 1 else set()


def _visible_groups(viewer: Person, round_: Round, kinds: Sequence[str]) -> list[tuple[str, int]]:
    """(kind, key) of the groups the viewer may see in the round's stored trees.

    :raise Forbidden: neither HR nor a manager.
    """
    trees = results.stored_trees(round_.id)
    if viewer.is_hr:
        out = []
        if "department" in kinds:
            skip = _company_department(trees["department"])
            out += [("department", key) for key in trees["department"] if key not in skip]
        if "manager" in kinds:
            out += [("manager", key) for key in trees["manager"]]
        return out
    if not viewer.is_manager:
        raise Forbidden(_("Your role does not give access to these results."))
    managers = trees["manager"]
    own = {viewer.id} | (org.descendants(managers, viewer.id) if viewer.id in managers else set())
    allowed = org.reports_under(viewer.id) | {viewer.id}  # who the viewer manages today
    return [("manager", key) for key in managers if key in own & allowed]


def _names(groups: list[tuple[str, int]], round_: Round) -> dict[tuple[str, int], str]:
    """Departments by their path in the round's tree ("Sales / North"), teams as "Team of <manager>"."""
    trees = results.stored_trees(round_.id)
    departments = [key for kind, key in groups if kind == "department"]
    all_departments = services.labels("department", trees["department"].keys()) if departments else {}
    skip = _company_department(trees["department"])
    out = {}
    for key in departments:
        path = [all_departments.get(node, "?") for node in org.path(trees["department"], key) if node not in skip]
        out["department", key] = " / ".join(path)
    managers = [key for kind, key in groups if kind == "manager"]
    for key, name in services.labels("manager", managers).items():
        out["manager", key] = _("Team of %(name)s", name=name)
    return out


def _rest(company: list[int], group: list[int]) -> list[int] | None:
    """The rest of the company's answers (company minus group), or None if the two do not nest."""
    if len(company) != len(group):
        return None
    rest = [c - g for c, g in zip(company, group, strict=True)]
    return rest if all(v >= 0 for v in rest) and sum(rest) > 0 else None


def _cells(columns: list[Column], enps_question: int | None, group: GroupResult, company: GroupResult | None,
           company_counts: results.Counts | None, group_counts: results.Counts) -> list[HeatCell]:
    if not group.shown:
        return [HeatCell(c.id, True, group.reason) for c in columns]
    favorabilities = {q.question.id: q for q in group.questions}
    company_fav = {q.question.id: q for q in company.questions} if company and company.shown else {}
    cells = []
    for column in columns:
        if column.kind == "enps":
            if group.enps is None:
                cells.append(HeatCell(column.id, True, "below_k"))
                continue
            value, p_value, delta = group.enps.score, None, None
            if company and company.shown and company.enps is not None:
                delta = value - company.enps.score
                rest = _rest(company_counts.histograms.get(enps_question, []), group.enps_histogram)
                if rest is not None:
                    p_value = compare(enps(rest), group.enps).p_value
            cells.append(HeatCell(column.id, False, None, value, delta, p_value))
            continue
        result = favorabilities.get(column.question_id)
        if result is None or result.favorability is None or not result.favorability.n:
            cells.append(HeatCell(column.id, True, "below_k"))
            continue
        value, p_value, delta = result.favorability.favorable, None, None
        reference = company_fav.get(column.question_id)
        if reference is not None and reference.favorability is not None and reference.favorability.n:
            delta = value - reference.favorability.favorable
            rest = _rest(company_counts.histograms.get(column.question_id, []),
                         group_counts.histograms.get(column.question_id, []))
            if rest is not None:
                p_value = compare_favorability(rest, group_counts.histograms[column.question_id]).p_value
        cells.append(HeatCell(column.id, False, None, value, delta, p_value))
    return cells


def _adjust(rows: list[HeatRow]) -> list[HeatRow]:
    """Mark the cells that stay significant when every shown cell's p-value is read together (BH, 5 % FDR)."""
    flat = [cell for row in rows for cell in row.cells]
    marks = benjamini_hochberg([None if cell.suppressed else cell.p_value for cell in flat])
    marked = iter(marks)
    return [HeatRow(row.kind, row.key, row.name,
                    [HeatCell(c.column, c.suppressed, c.reason, c.value, c.delta, c.p_value, next(marked))
                     for c in row.cells]) for row in rows]


def heatmap(survey: Survey, round_: Round, viewer: Person, locale: str,
            kinds: Sequence[str] = ("department", "manager")) -> Heatmap:
    """The heatmap of one closed round for ``viewer`` (see the module's promise).

    ``kinds`` limits HR's rows to departments or teams; a manager always gets teams.
    :raise Forbidden: the viewer is neither HR nor a manager.
    """
    groups = _visible_groups(viewer, round_, kinds)
    columns = columns_for(survey, locale)
    company_counts = results.load([round_.id], "company").get(round_.id, {}).get(0)
    company = (services.group_result(survey, COMPANY, "", company_counts.visibility, company_counts)
               if company_counts is not None else None)
    shown_company = company if company is not None and company.shown else None
    company_values: dict[str, float | None] = {c.id: None for c in columns}
    if shown_company is not None:
        if shown_company.enps is not None:
            company_values[ENPS_COLUMN] = shown_company.enps.score
        for q in shown_company.questions:
            if q.favorability is not None and q.favorability.n:
                company_values[f"q{q.question.id}"] = q.favorability.favorable
    enps_question = next((q.id for q in survey.questions if q.kind == "enps"), None)
    names = _names(groups, round_)
    counts: dict[tuple[str, int], results.Counts] = {}
    for kind in {kind for kind, _key in groups}:
        keys = [key for group_kind, key in groups if group_kind == kind]
        for key, c in results.load([round_.id], kind, keys=keys).get(round_.id, {}).items():
            counts[kind, key] = c
    rows = []
    order = sorted(groups, key=lambda g: (g[0] != "department", names.get(g, "").lower()))
    for kind, key in order:
        c = counts.get((kind, key))
        name = names.get((kind, key), "?")
        if c is None:
            rows.append(HeatRow(kind, key, name, [HeatCell(col.id, True, "no_results") for col in columns]))
            continue
        group = services.group_result(survey, key, name, c.visibility, c)
        rows.append(HeatRow(kind, key, name, _cells(columns, enps_question, group, shown_company, company_counts, c)))
    return Heatmap(survey, round_, survey.min_group_size, columns, company_values, _adjust(rows))


# --- The figure (pure) ---------------------------------------------------------------------


@dataclass(frozen=True)
class FigureCell:
    """What the figure draws in one cell: ``text`` and ``delta`` for a shown cell, ``hidden`` words otherwise."""

    text: str = ""
    delta: float | None = None
    significant: bool = False
    hidden: str | None = None  # the guard's reason in words


@dataclass(frozen=True)
class FigureRow:
    name: str
    cells: Sequence[FigureCell]


def heatmap_figure(columns: Sequence[tuple[str, str]], rows: Sequence[FigureRow]) -> dict:
    """A Plotly heatmap of (short, full) ``columns`` × ``rows``: colour is the difference from the company.

    Hidden cells are a gap hatched with grey lines, with the reason in the hover and no number
    anywhere; a dot in a cell's corner marks a difference that stays significant after correction.
    The colour scale runs from orange at ``-COLOUR_LIMIT`` points to blue at ``+COLOUR_LIMIT``.
    """
    nx, ny = len(columns), len(rows)
    z = [[None if c.hidden or c.delta is None else max(-COLOUR_LIMIT, min(COLOUR_LIMIT, c.delta)) for c in row.cells]
         for row in rows]
    text = [["" if c.hidden else c.text for c in row.cells] for row in rows]
    company = _("difference from the company")
    significant = _("significant difference (after correction)")

    def hover(row: FigureRow, column: tuple[str, str], cell: FigureCell) -> str:
        where = f"{row.name}<br>{column[1]}"
        if cell.hidden:
            return f"{where}<br>{cell.hidden}"
        lines = [where, cell.text]
        if cell.delta is not None:
            lines.append(f"{score_text(cell.delta)} {company}")
        if cell.significant:
            lines.append(significant)
        return "<br>".join(lines)

    hovertext = [[hover(row, columns[i], c) for i, c in enumerate(row.cells)] for row in rows]
    fig = go.Figure(go.Heatmap(
        x=list(range(nx)), y=list(range(ny)), z=z, text=text, texttemplate="%{text}", hovertext=hovertext,
        hovertemplate="%{hovertext}<extra></extra>", hoverongaps=True, colorscale=COLOURS, zmin=-COLOUR_LIMIT,
        zmax=COLOUR_LIMIT, zmid=0, xgap=2, ygap=2,
        # No colour bar: plotly.js sets an inline style on it, which the CSP refuses; the page draws the key.
        showscale=False))
    shapes = []
    for j, row in enumerate(rows):
        for i, cell in enumerate(row.cells):
            if not cell.hidden:
                continue
            x0, x1, y0, y1 = i - 0.48, i + 0.48, j - 0.46, j + 0.46
            shapes.append({"type": "rect", "x0": x0, "x1": x1, "y0": y0, "y1": y1, "xref": "x", "yref": "y",
                           "fillcolor": "#ffffff", "line": {"color": HATCH, "width": 1}, "layer": "below"})
            w, h = x1 - x0, y1 - y0
            for shift in HATCH_SHIFTS:  # parallel diagonals, each clipped to the cell
                shapes.append({"type": "line", "xref": "x", "yref": "y", "line": {"color": HATCH, "width": 1},
                               "x0": x0 + max(shift, 0) * w, "y0": y0 + max(-shift, 0) * h,
                               "x1": x0 + min(1 + shift, 1) * w, "y1": y0 + min(1 - shift, 1) * h})
    marks = [(i, j) for j, row in enumerate(rows) for i, c in enumerate(row.cells) if c.significant and not c.hidden]
    fig.add_trace(go.Scatter(
        x=[i + 0.36 for i, _j in marks], y=[j - 0.28 for _i, j in marks], mode="markers", name=significant,
        marker={"symbol": "circle", "size": 8, "color": "#1a1a1a", "line": {"color": "#ffffff", "width": 1.5}},
        hoverinfo="skip", showlegend=False))
    fig.update_layout(
        margin={"l": 8, "r": 8, "t": 8, "b": 8}, font={"family": "system-ui, sans-serif"},
        plot_bgcolor="#ffffff", paper_bgcolor="#ffffff", hovermode="closest",
        xaxis={"tickvals": list(range(nx)), "ticktext": [wrap(c[0], 12) for c in columns], "side": "top",
               "range": [-0.5, nx - 0.5], "showgrid": False, "zeroline": False, "automargin": True,
               "fixedrange": True},
        yaxis={"tickvals": list(range(ny)), "ticktext": [wrap(r.name, 24) for r in rows],
               "range": [ny - 0.5, -0.5], "showgrid": False, "zeroline": False, "automargin": True,
               "fixedrange": True},
        showlegend=False)  # the page's key says what colours, hatching and dots mean
    figure = fig.to_dict()
    # Added as they are, not through plotly's validation: five lines and a box per hidden cell are thousands
    # of shapes in a large organisation, and validating them was most of the page's time (9 s at 10,000).
    figure["layout"]["shapes"] = shapes
    return figure


def value_text(column: Column, value: float) -> str:
    """A cell's figure as shown: eNPS signed ("+12", "−15"), favorability as a percentage ("64 %")."""
    return score_text(value) if column.kind == "enps" else format_decimal(value, "#,##0") + " %"


def figure_rows(hm: Heatmap, reason: Reason) -> list[FigureRow]:
    """The heatmap's rows as the figure draws them, hidden cells with ``reason(code, k)``'s words only."""
    columns = {c.id: c for c in hm.columns}
    return [FigureRow(row.name, [
        FigureCell(hidden=reason(c.reason, hm.k)) if c.suppressed else
        FigureCell(value_text(columns[c.column], c.value), c.delta, c.significant) for c in row.cells])
        for row in hm.rows]
