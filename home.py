"""The home page: what waits for the signed-in person, gathered from the feature packages.

It sits above them: it may import any package's services, and no package imports it, so
``people`` (sign-in, settings) need not know about surveys.

The promise: each role's home says what to do next, and shows only what its pages show.

- HR: the latest closed round's company eNPS with its interval and change, read through the
  guard's stored verdict as on the results page; each open round's participation, live but at
  most an hour old, for the company and the departments of at least k invited
  (``dashboards.live``); the heatmap's significant hot spots below the company; overdue actions;
  comments whose writers wait for HR's reply.
- A manager: their team's latest result under the guard, or the larger group it offers instead
  (labelled); their open actions; their next one-on-ones; reports without a recent one.
- Everyone: open surveys, the company results HR shared, their team's and the company's actions,
  and their milestone plans with what happens next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, render_template, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from actions import services as actions
from actions.forms import STATUS_LABELS
from actions.models import OPEN_STATUSES, Action
from actions.reminders import is_overdue
from dashboards import heatmap, live, services
from oneonones.occurrences import Occurrence
from oneonones.overview import NOT_MET_DAYS, ReportRow, manager_overview
from people.models import Person
from replies import services as replies
from rewards.models import MilestonePlan
from rewards.overview import NextStep, next_step, plan_status, plans_for_recipient
from surveys.invitations import open_invitations
from surveys.models import Round, Survey

bp = Blueprint("home", __name__)

HOT_SPOTS = 5
LISTED = 6


# --- What each part of the home reads -----------------------------------------------------------


def results_survey() -> Survey | None:
    """The survey the results page opens on: the default eNPS survey if it has results, else the newest that has."""
    survey = services.enps_survey()
    if survey is not None and services.closed_rounds(survey):
        return survey
    with_results = services.surveys_with_results()
    return with_results[0] if with_results else None


def latest_result(survey: Survey | None, scope: services.Scope) -> services.Dashboard | None:
    """The results page's figures for ``scope`` (rolled up for a hidden team), or None without a closed round."""
    if survey is None or not services.closed_rounds(survey):
        return None
    return services.dashboard(survey, scope, roll_up=True, with_comments=False)


@dataclass(frozen=True)
class HotSpot:
    group: str
    column: str
    value: str
    delta: float


def hot_spots(survey: Survey, viewer: Person, locale: str, limit: int = HOT_SPOTS) -> tuple[Round, list[HotSpot]]:
    """The heatmap's cells in the latest closed round that are significantly below the company, lowest first."""
    round_ = heatmap.round_for(survey, None, viewer)
    hm = heatmap.heatmap(survey, round_, viewer, locale, ("department",))
    columns = {c.id: c for c in hm.columns}
    found = [HotSpot(row.name, columns[c.column].full, heatmap.value_text(columns[c.column], c.value), c.delta)
             for row in hm.rows for c in row.cells
             if not c.suppressed and c.significant and c.delta is not None and c.delta < 0]
    found.sort(key=lambda spot: (spot.delta, spot.group, spot.column))
    return round_, found[:limit]


@dataclass(frozen=True)
class LiveRound:
    figures: live.LiveFigures
    departments: list[tuple[str, live.GroupParticipation]]  # (name, figure), by name


def live_rounds(now: datetime) -> list[LiveRound]:
    out = []
    for round_ in live.open_rounds(now):
        figures = live.live_participation(round_, now)
        names = services.labels("department", [g.key for g in figures.departments])
        rows = sorted(((names.get(g.key, "?"), g) for g in figures.departments), key=lambda r: r[0].lower())
        out.append(LiveRound(figures, rows))
    return out


def overdue_actions(viewer: Person, now: datetime) -> list[Action]:
    return [a for a in actions.visible_actions(viewer) if is_overdue(a, now)]


def own_actions(viewer: Person) -> list[Action]:
    """Open actions a manager owns or that are for their teams."""
    teams = actions.team_ids(viewer)
    return [a for a in actions.visible_actions(viewer) if a.status in OPEN_STATUSES
            and (a.owner_id == viewer.id or (a.department_id is None and a.manager_id in teams))]


def team_actions(viewer: Person) -> list[Action]:
    """What an employee sees of actions: their team's, their departments' and the company's, not dropped ones."""
    return [a for a in actions.visible_actions(viewer) if a.status != "dropped"]


@dataclass(frozen=True)
class OneOnOnes:
    upcoming: list[tuple[ReportRow, Occurrence]]
    not_met: list[ReportRow]


def one_on_ones(manager: Person, now: datetime, limit: int = LISTED) -> OneOnOnes:
    rows = manager_overview(manager, now)
    upcoming = sorted(((r, r.next) for r in rows if r.next is not None), key=lambda pair: pair[1].starts_at)
    return OneOnOnes(upcoming[:limit], [r for r in rows if r.overdue or r.next is None])


@dataclass(frozen=True)
class PlanStep:
    plan: MilestonePlan
    step: NextStep


def milestones(person: Person, now: datetime) -> list[PlanStep]:
    """The person's plans still running, each with its next step."""
    return [PlanStep(p, next_step(p, person, now)) for p in plans_for_recipient(person)
            if plan_status(m.state for m in p.milestones) in ("active", "awaiting_agreement")]


def shared_result() -> tuple[Round, services.Dashboard] | None:
    round_ = services.latest_shared_round()
    if round_ is None:
        return None
    return round_, services.dashboard(round_.survey, services.Scope("company"),
                                      rounds=services.shared_rounds(round_.survey), with_comments=False)


def home_model(viewer: Person, now: datetime, locale: str) -> dict:
    """Everything the home page shows ``viewer`` at ``now``, each figure through the guard."""
    model: dict = {"links": [(inv, url_for("surveys.my_answer", round_id=inv.round_id))
                             for inv in open_invitations(viewer, now)],
                   "milestones": milestones(viewer, now)}
    survey = results_survey() if viewer.is_hr or viewer.is_manager else None
    if viewer.is_hr:
        model["company"] = latest_result(survey, services.Scope("company"))
        model["live"] = live_rounds(now)
        model["hot_spots"] = hot_spots(survey, viewer, locale) if model["company"] else None
        model["overdue"] = overdue_actions(viewer, now)
        model["awaiting_replies"] = replies.awaiting_reply(viewer)
    if viewer.is_manager:
        model["team"] = latest_result(survey, services.Scope("manager", viewer.id))
        model["own_actions"] = own_actions(viewer)
        model["one_on_ones"] = one_on_ones(viewer, now)
    if not viewer.is_hr:
        model["shared"] = shared_result()
    if not (viewer.is_hr or viewer.is_manager):
        model["team_actions"] = team_actions(viewer)
    model["survey"] = survey
    return model


def _now() -> datetime:
    return datetime.now(UTC)


@bp.route("/")
@login_required
def index():
    now = _now()
    model = home_model(current_user, now, str(get_locale() or "en"))
    return render_template("home.html", now=now, listed=LISTED, not_met_days=NOT_MET_DAYS,
                           status_label=lambda status: STATUS_LABELS.get(status, status),
                           group_label=actions.group_label, is_overdue=lambda a: is_overdue(a, now), **model)
