"""What an action shows of its driver, round by round, and whether it moved beyond noise.

Every figure is read through ``dashboards.services`` (``results_for_round``): the stored results and
the verdict the anonymity guard gave when each round closed. Nothing here decides what is shown. A
round the guard hid for the action's group, a driver with too few answers in it, and a round the
viewer may not see (``scope_for``: an employee and a round HR has not shared) carry a reason and no
number.

The change since the baseline is tested by ``scoring``, never here: :func:`change_test` picks
``scoring.compare_favorability`` (the Agresti–Caffo two-proportion test) for a Likert driver and
``scoring.compare`` (the eNPS z-test) for eNPS.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from actions.models import Action
from dashboards import services as results
from errors import Forbidden
from people.models import Person
from scoring import Comparison, ENPSResult, Favorability, compare, compare_favorability, z_value
from surveys.models import Round

NOT_YOURS = "not_yours"  # the viewer may not see this group's results of this round


@dataclass(frozen=True)
class RoundFigure:
    """The driver in one closed round: ``value`` (favorable % or eNPS) and its 95 % interval when shown."""

    round_id: int
    closes_on: date
    baseline: bool
    shown: bool
    reason: str | None = None
    n: int | None = None
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    enps: ENPSResult | None = None
    favorability: Favorability | None = None


@dataclass(frozen=True)
class Change:
    """The change from the baseline round to the latest round shown since, as ``scoring`` tested it."""

    from_round_id: int
    to_round_id: int
    delta: float | None
    p_value: float | None
    significant: bool


def scope_of(action: Action) -> results.Scope:
    if action.department_id is not None:
        return results.Scope("department", action.department_id)
    if action.manager_id is not None:
        return results.Scope("manager", action.manager_id)
    return results.Scope("company")


def rounds_since(action: Action) -> list[Round]:
    """The baseline round and every round of the survey closed after it (after planning, without one)."""
    rounds = results.closed_rounds(action.survey)
    if action.baseline_round is not None:
        return [r for r in rounds if r.closes_at >= action.baseline_round.closes_at]
    return [r for r in rounds if r.closes_at > action.created_at]


def favorable_interval(favorable: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a favorable share, in percent (0..100)."""
    z = z_value(confidence)
    p = favorable / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, 100 * (centre - half)), min(100.0, 100 * (centre + half))


def _counts(f: Favorability) -> dict[int, int]:
    """Answer counts by band (unfavorable as 1, neutral as 3, favorable as 5), from the guarded percentages."""
    favourable = round(f.favorable * f.n / 100)
    neutral = round(f.neutral * f.n / 100)
    return {1: f.n - favourable - neutral, 3: neutral, 5: favourable}


def _figure(action: Action, round_: Round, viewer: Person, baseline: bool) -> RoundFigure:
    day = round_.closes_at.date()
    try:
        results.scope_for(viewer, action.department_id, action.manager_id, round_=round_)
    except Forbidden:
        return RoundFigure(round_.id, day, baseline, False, NOT_YOURS)
    group = results.results_for_round(action.survey, round_, scope_of(action))
    if not group.shown:
        return RoundFigure(round_.id, day, baseline, False, group.reason or "below_k")
    if action.question_id is None:
        e = group.enps
        if e is None:
            return RoundFigure(round_.id, day, baseline, False, "below_k")
        return RoundFigure(round_.id, day, baseline, True, None, e.n, e.score, e.ci_low, e.ci_high, enps=e)
    row = next((q for q in group.questions if q.question.id == action.question_id), None)
    f = row.favorability if row is not None else None
    if f is None or not f.n:
        return RoundFigure(round_.id, day, baseline, False, "below_k")
    low, high = favorable_interval(_counts(f)[5], f.n)
    return RoundFigure(round_.id, day, baseline, True, None, f.n, f.favorable, low, high, favorability=f)


def figures(action: Action, viewer: Person) -> list[RoundFigure]:
    """The driver at the baseline round and in every closed round since, oldest first, as ``viewer`` may see it."""
    baseline_id = action.baseline_round_id
    return [_figure(action, r, viewer, r.id == baseline_id) for r in rounds_since(action)]


def change_test(action: Action) -> Callable[[RoundFigure, RoundFigure], Comparison]:
    """The ``scoring`` test for the action's driver: eNPS's z-test, or the two-proportion test of favorability."""
    if action.question_id is None:
        return lambda a, b: compare(a.enps, b.enps)
    return lambda a, b: compare_favorability(_counts(a.favorability), _counts(b.favorability))


def change(action: Action, shown: list[RoundFigure]) -> Change | None:
    """Baseline against the latest round shown after it; None when either is not shown or there is none yet."""
    base = next((f for f in shown if f.baseline), None)
    later = [f for f in shown if f.shown and not f.baseline]  # ``figures`` lists only rounds since the baseline
    if base is None or not base.shown or not later:
        return None
    result = change_test(action)(base, later[-1])
    return Change(base.round_id, later[-1].round_id, result.delta, result.p_value, result.significant)
