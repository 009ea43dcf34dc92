"""Exports of exactly what a results page shows: aggregated rows only; hidden rows carry no numbers."""

from __future__ import annotations

import io

import pandas as pd
from flask import current_app
from flask_babel import gettext as _

from dashboards.services import Dashboard, GroupResult

COLUMNS = ("section", "round", "group", "question", "status", "n", "enps", "ci_low", "ci_high", "promoters",
           "passives", "detractors", "favorable_pct", "neutral_pct", "unfavorable_pct", "mean",
           "participation_pct", "invited")


def _group_row(section: str, round_label: str, group: GroupResult, k: int) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(section=section, round=round_label, group=group.label or _("Company"))
    if not group.shown:
        row["status"] = _("hidden") + f" ({group.reason}; k={k})"
        return row
    row.update(status=_("shown"), n=group.n)
    if group.enps:
        e = group.enps
        row.update(enps=round(e.score, 1), ci_low=round(e.ci_low, 1), ci_high=round(e.ci_high, 1),
                   promoters=e.promoters, passives=e.passives, detractors=e.detractors)
    if group.participation and group.participation.rate is not None:
        row.update(participation_pct=round(group.participation.rate, 1), invited=group.participation.invited)
    return row


def export_frame(dash: Dashboard, locale: str) -> pd.DataFrame:
    """The page's numbers as one long table: trend by round, breakdown and drivers of the latest round."""
    company = current_app.config["POLSO_COMPANY_NAME"]
    rows = []
    for round_ in dash.rounds:
        rows.append(_group_row("trend", round_.closes_at.date().isoformat(), dash.per_round[round_.id], dash.k))
    if dash.rounds:
        latest_label = dash.rounds[-1].closes_at.date().isoformat()
        for group in dash.breakdown:
            rows.append(_group_row("breakdown", latest_label, group, dash.k))
        if dash.latest and dash.latest.shown:
            for q in dash.latest.questions:
                if q.question.kind != "likert":
                    continue
                row = dict.fromkeys(COLUMNS)
                row.update(section="drivers", round=latest_label, group=dash.latest.label or _("Company"),
                           question=q.question.text_for(locale).replace("{company}", company))
                if q.favorability is None:
                    row["status"] = _("hidden") + f" (below_k; k={dash.k})"
                else:
                    f = q.favorability
                    row.update(status=_("shown"), n=f.n, favorable_pct=round(f.favorable, 1),
                               neutral_pct=round(f.neutral, 1), unfavorable_pct=round(f.unfavorable, 1),
                               mean=round(f.mean, 2))
                rows.append(row)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    # Counts stay whole numbers even in columns where hidden rows leave gaps.
    return frame.astype(dict.fromkeys(("n", "promoters", "passives", "detractors", "invited"), "Int64"))


def to_csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def to_xlsx(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for section, part in frame.groupby("section", sort=False):
            part.to_excel(writer, sheet_name=str(section)[:31], index=False)
    return buffer.getvalue()
