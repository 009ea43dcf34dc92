"""Exports of exactly what a results page shows: aggregated rows only; hidden rows carry no numbers.

Three sections: the trend by round, then the breakdown and the drivers of the latest round. A CSV
holds them one after the other (the first column names the section), an XLSX file one sheet each.
Whether a group or a question is shown is the guard's stored verdict as ``dashboards.services``
hands it over; a hidden one carries the page's words for why (``reason``) and no number. Headers,
sections and reasons are in the request's language; the files are written by ``spreadsheets``.
Each download is recorded in the audit log (:func:`record_download`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _

import audit
from dashboards.heatmap import Heatmap
from dashboards.services import Dashboard, GroupResult
from people.models import Person
from spreadsheets import Cell, Table, file_name, write_csv, write_xlsx

COLUMNS = ("section", "round", "group", "question", "status", "n", "enps", "ci_low", "ci_high", "promoters",
           "passives", "detractors", "favorable_pct", "neutral_pct", "unfavorable_pct", "mean",
           "participation_pct", "invited")
# (reason code, k) -> the words a results page shows for a hidden result.
Reason = Callable[[str | None, int], str]


def headers() -> list[str]:
    """The column headers, in ``COLUMNS`` order, in the request's language."""
    words = {"section": _("Section"), "round": _("Round closing"), "group": _("Group"), "question": _("Question"),
             "status": _("Status"), "n": _("Answers"), "enps": _("eNPS"),
             "ci_low": _("%(level)s interval, low", level="95%"),
             "ci_high": _("%(level)s interval, high", level="95%"),
             "promoters": _("Promoters"), "passives": _("Passives"), "detractors": _("Detractors"),
             "favorable_pct": _("Favorable (%)"), "neutral_pct": _("Neutral (%)"),
             "unfavorable_pct": _("Unfavorable (%)"), "mean": _("Mean (1–5)"),
             "participation_pct": _("Invited who answered (%)"), "invited": _("Invited")}
    return [words[c] for c in COLUMNS]


def _row(**values: Cell) -> list[Cell]:
    return [values.get(c) for c in COLUMNS]


def _group_row(section: str, dash: Dashboard, round_index: int, group: GroupResult, reason: Reason) -> list[Cell]:
    where = {"section": section, "round": dash.rounds[round_index].closes_at.date(),
             "group": group.label or _("Company")}
    if not group.shown:
        return _row(**where, status=reason(group.reason, dash.k))
    values: dict[str, Cell] = {"status": _("Shown"), "n": group.n}
    if group.enps:
        e = group.enps
        values.update(enps=round(e.score, 1), ci_low=round(e.ci_low, 1), ci_high=round(e.ci_high, 1),
                      promoters=e.promoters, passives=e.passives, detractors=e.detractors)
    if group.participation and group.participation.rate is not None:
        values.update(participation_pct=round(group.participation.rate, 1), invited=group.participation.invited)
    return _row(**where, **values)


def _driver_rows(section: str, dash: Dashboard, locale: str, reason: Reason) -> list[list[Cell]]:
    latest = dash.latest
    if not (dash.rounds and latest and latest.shown):
        return []
    company = current_app.config["POLSO_COMPANY_NAME"]
    where = {"section": section, "round": dash.rounds[-1].closes_at.date(), "group": latest.label or _("Company")}
    rows = []
    for q in latest.questions:
        if q.question.kind != "likert":
            continue
        text = q.question.text_for(locale).replace("{company}", company)
        f = q.favorability
        if f is None:
            rows.append(_row(**where, question=text, status=reason("below_k", dash.k)))
        else:
            rows.append(_row(**where, question=text, status=_("Shown"), n=f.n, favorable_pct=round(f.favorable, 1),
                             neutral_pct=round(f.neutral, 1), unfavorable_pct=round(f.unfavorable, 1),
                             mean=round(f.mean, 2)))
    return rows


def results_tables(dash: Dashboard, locale: str, reason: Reason) -> list[Table]:
    """The page's results as three tables (trend, breakdown, drivers), each titled with its section's name;
    a section with nothing to show is an empty table."""
    names = {"trend": _("Trend"), "breakdown": _("Breakdown"), "drivers": _("Drivers")}
    trend = [_group_row(names["trend"], dash, i, dash.per_round[r.id], reason) for i, r in enumerate(dash.rounds)]
    breakdown = [_group_row(names["breakdown"], dash, len(dash.rounds) - 1, g, reason)
                 for g in dash.breakdown] if dash.rounds else []
    drivers = _driver_rows(names["drivers"], dash, locale, reason)
    columns = headers()
    return [Table(columns, rows, title=names[key])
            for key, rows in (("trend", trend), ("breakdown", breakdown), ("drivers", drivers))]


def results_csv(dash: Dashboard, locale: str, reason: Reason) -> bytes:
    """The three sections as one CSV file, in that order."""
    tables = results_tables(dash, locale, reason)
    return write_csv(Table(tables[0].columns, [row for t in tables for row in t.rows]), locale)


def results_xlsx(dash: Dashboard, locale: str, reason: Reason) -> bytes:
    """The three sections as one XLSX workbook, a sheet each."""
    return write_xlsx(results_tables(dash, locale, reason))


def results_file_name(dash: Dashboard, extension: str) -> str:
    """``polso-<survey>[-<group>]-<latest round's closing date>.<extension>``; the group only below the company."""
    group = None
    if dash.scope.cut == "manager":
        group = _("Team of %(name)s", name=dash.scope_label)
    elif dash.scope.cut == "department":
        group = dash.scope_label
    closes_on = dash.rounds[-1].closes_at.date() if dash.rounds else None
    return file_name(dash.survey.title, group, closes_on, extension=extension)


def record_download(dash: Dashboard, extension: str, by: Person, now: datetime) -> None:
    """Add the download to the audit log in the current transaction (which survey, which group); the caller commits."""
    group = "company" if dash.scope.cut == "company" else f"{dash.scope.cut} “{dash.scope_label}”"
    audit.record("export.downloaded", actor=by, target=dash.survey, now=now,
                 summary=f"results {extension.upper()} of survey {dash.survey.id} “{dash.survey.title}”: {group}, "
                         f"rounds={len(dash.rounds)}")


# --- The heatmap -------------------------------------------------------------------------

HEATMAP_COLUMNS = ("round", "group_kind", "group", "column", "status", "value", "difference", "significant")


def heatmap_table(hm: Heatmap, reason: Reason) -> Table:
    """One row per cell of the heatmap as the page shows it: a hidden cell has the reason and no number."""
    words = {"round": _("Round closing"), "group_kind": _("Kind of group"), "group": _("Group"),
             "column": _("Column"), "status": _("Status"), "value": _("eNPS or favorable (%)"),
             "difference": _("Difference from the company"),
             "significant": _("Significant difference (after correction)")}
    kinds = {"department": _("Department"), "manager": _("Team")}
    columns = {c.id: c for c in hm.columns}
    closes_on = hm.round.closes_at.date()
    rows: list[list[Cell]] = []
    for row in hm.rows:
        for cell in row.cells:
            where = [closes_on, kinds[row.kind], row.name, columns[cell.column].full]
            if cell.suppressed:
                rows.append([*where, reason(cell.reason, hm.k), None, None, None])
            else:
                rows.append([*where, _("Shown"), round(cell.value, 1),
                             None if cell.delta is None else round(cell.delta, 1),
                             _("yes") if cell.significant else _("no")])
    return Table([words[c] for c in HEATMAP_COLUMNS], rows, title=_("Heatmap"))


def heatmap_csv(hm: Heatmap, locale: str, reason: Reason) -> bytes:
    return write_csv(heatmap_table(hm, reason), locale)


def heatmap_xlsx(hm: Heatmap, locale: str, reason: Reason) -> bytes:
    return write_xlsx([heatmap_table(hm, reason)])


def heatmap_file_name(hm: Heatmap, extension: str) -> str:
    """``polso-<survey>-heatmap-<round's closing date>.<extension>``."""
    return file_name(hm.survey.title, _("heatmap"), hm.round.closes_at.date(), extension=extension)


def record_heatmap_download(hm: Heatmap, extension: str, by: Person, now: datetime) -> None:
    """Add the heatmap download to the audit log in the current transaction; the caller commits."""
    audit.record("export.downloaded", actor=by, target=hm.survey, now=now,
                 summary=f"heatmap {extension.upper()} of survey {hm.survey.id} “{hm.survey.title}”: "
                         f"round {hm.round.id}, groups={len(hm.rows)}")
