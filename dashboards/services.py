"""Results for dashboards, exports and the API.

Every number shown anywhere is read here with the verdict that
``scoring.disclosure`` stored when the round closed, decided over every group
of every cut at once: a group's counts are released only when it is shown,
and a question's only when the guard kept it for that group. Closed rounds are read from their stored counts
(``dashboards.results``); open rounds show no scores at all, since watching
an open round's numbers move would reveal single answers.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import sqlalchemy as sa
from flask_babel import gettext as _

import audit
from dashboards import results
from dashboards.models import RoundResult, SharedRound
from dashboards.results import Counts
from errors import Conflict, Forbidden, NotFound, get_or_raise
from extensions import db
from people import org
from people.models import Department, Person
from scoring import (
    MIN_DRIVER_N,
    DriverImpact,
    ENPSResult,
    Favorability,
    Participation,
    TrendPoint,
    Visibility,
    comments_shown,
    driver_impact,
    enps,
    favorability,
    participation,
    trend,
)
from surveys.models import Question, Round, Survey

COMPANY = -1  # the root of every tree handed to the guard
BREAKDOWN_PAGE = 100  # groups of a page's breakdown
IN_CHUNK = 5000  # ids to a statement: PostgreSQL takes at most 65,535 bound parameters, SQLite 32,766


# --- Trees ------------------------------------------------------------------------------


def labels(cut: str, keys: Iterable[int] | None = None) -> dict[int, str]:
    """Current names of departments or managers (stored results keep only their ids)."""
    model = Department if cut == "department" else Person
    stmt = sa.select(model.id, model.name)
    if keys is None:
        return dict(db.session.execute(stmt).all())
    keys = sorted(set(keys))
    found: dict[int, str] = {}
    for start in range(0, len(keys), IN_CHUNK):
        found.update(db.session.execute(stmt.where(model.id.in_(keys[start:start + IN_CHUNK]))).all())
    return found


# --- Results of one group ---------------------------------------------------------------


@dataclass
class QuestionResult:
    question: Question
    favorability: Favorability | None = None  # Likert
    histogram: list[int] | None = None  # choice: counts per option
    hidden: bool = False


@dataclass
class GroupResult:
    """One group in one round: numbers only when ``shown``; otherwise ``reason`` and nothing else."""

    key: int
    label: str
    shown: bool
    reason: str | None
    n: int | None = None
    enps: ENPSResult | None = None
    enps_histogram: list[int] | None = None
    participation: Participation | None = None
    questions: list[QuestionResult] = field(default_factory=list)


def _enps_question(survey: Survey) -> Question | None:
    return next((q for q in survey.questions if q.kind == "enps"), None)


def group_result(survey: Survey, key: int, label: str, visibility: Visibility, counts: Counts | None) -> GroupResult:
    """Turn a group's counts into results, releasing nothing the guard or the per-metric k forbids."""
    if not visibility.shown or counts is None:
        return GroupResult(key, label, False, visibility.reason or "below_k")
    k = survey.min_group_size
    out = GroupResult(key, label, True, None, n=counts.responses)
    if counts.invited:
        out.participation = participation(min(counts.responses, counts.invited), counts.invited)
    question = _enps_question(survey)
    histogram = counts.histograms.get(question.id) if question else None
    if histogram and sum(histogram) >= k:
        out.enps, out.enps_histogram = enps(histogram), histogram
    for q in survey.questions:
        if q.kind == "likert":
            counts_q = counts.histograms.get(q.id, [0] * 5)
            shown = sum(counts_q) >= k
            out.questions.append(QuestionResult(q, favorability(counts_q) if shown else None, hidden=not shown))
        elif q.kind == "choice":
            counts_q = counts.histograms.get(q.id, [0] * len(q.options or []))
            shown = sum(counts_q) >= k
            out.questions.append(QuestionResult(q, histogram=counts_q if shown else None, hidden=not shown))
    return out


def _sum(counts: Iterable[Counts]) -> Counts:
    total = Counts()
    for c in counts:
        total.add(c)
    return total


# --- Scope: what a viewer may see --------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The cut and group a result is asked for: the company, a department subtree or a manager's team."""

    cut: str  # "company" | "department" | "manager"
    key: int = COMPANY


def scope_for(viewer: Person, department_id: int | None = None, manager_id: int | None = None,
              *, round_: Round | None = None) -> Scope:
    """Check what ``viewer`` may ask for.

    HR: anything. A manager: their own team subtree or a team below it.
    Anyone else: company level of a round HR has shared.
    :raise Forbidden: otherwise. :raise NotFound: unknown department or manager.
    """
    if department_id is not None and manager_id is not None:
        raise Forbidden(_("Choose a department or a manager, not both."))
    if department_id is not None and db.session.get(Department, department_id) is None:
        raise NotFound(_("No such department."))
    if manager_id is not None and db.session.get(Person, manager_id) is None:
        raise NotFound(_("No such manager."))
    if viewer.is_hr:
        if department_id is not None:
            return Scope("department", department_id)
        if manager_id is not None:
            return Scope("manager", manager_id)
        return Scope("company")
    if manager_id is not None and (manager_id == viewer.id or manager_id in org.reports_under(viewer.id)):
        return Scope("manager", manager_id)
    if department_id is None and manager_id is None and round_ is not None and is_shared(round_.id):
        return Scope("company")
    raise Forbidden(_("Your role does not give access to these results."))


def _results_for(survey: Survey, rounds: list[Round], scope: Scope) -> dict[int, GroupResult]:
    """Each round's result for the scope, with the verdict the guard gave when the round closed.

    The guard ran then over every cut of the round at once (``dashboards.results``);
    nothing is decided here.
    """
    ids = [r.id for r in rounds]
    if not ids:
        return {}
    kind, key = ("company", 0) if scope.cut == "company" else (scope.cut, scope.key)
    found = results.load(ids, kind, keys=[key])
    label = labels(scope.cut, [scope.key]).get(scope.key, "") if scope.cut != "company" else ""
    out: dict[int, GroupResult] = {}
    for round_id in ids:
        counts = found.get(round_id, {}).get(key)
        if counts is None:
            out[round_id] = GroupResult(scope.key, label, False, "no_results")
            continue
        out[round_id] = group_result(survey, scope.key, label, counts.visibility, counts)
    return out


# --- Surveys, rounds, sharing ------------------------------------------------------------


def enps_survey() -> Survey | None:
    """The survey dashboards show by default: the newest active one with an eNPS question."""
    return db.session.scalar(
        sa.select(Survey).join(Question).where(Question.kind == "enps")
        .order_by((Survey.status == "active").desc(), Survey.created_at.desc()).limit(1))


def surveys_with_results() -> list[Survey]:
    return list(db.session.scalars(sa.select(Survey).where(
        sa.exists().where(Round.survey_id == Survey.id, Round.status == "closed"))
        .order_by(Survey.created_at.desc())))


def closed_rounds(survey: Survey, first: date | None = None, last: date | None = None) -> list[Round]:
    stmt = sa.select(Round).where(Round.survey_id == survey.id, Round.status == "closed")
    if first:
        stmt = stmt.where(Round.closes_at >= datetime.combine(first, time.min, tzinfo=UTC))
    if last:
        stmt = stmt.where(Round.opens_at <= datetime.combine(last, time.max, tzinfo=UTC))
    return list(db.session.scalars(stmt.order_by(Round.closes_at)))


def is_shared(round_id: int) -> bool:
    return db.session.get(SharedRound, round_id) is not None


def share_round(round_: Round, by: Person, now: datetime) -> None:
    """Share a closed round's company-level results with every employee.

    :raise Conflict: the round is still open.
    """
    if round_.status != "closed":
        raise Conflict(_("Only a closed round can be shared."))
    if not is_shared(round_.id):
        db.session.add(SharedRound(round_id=round_.id, shared_by_id=by.id, shared_at=now))
        audit.record("results.shared", actor=by, target=round_, now=now,
                     summary=f"“{round_.survey.title}”, round closed {round_.closes_at.date().isoformat()}")
        db.session.commit()


def unshare_round(round_: Round, by: Person | None = None, now: datetime | None = None) -> None:
    """Stop sharing a round's results; with ``by`` (who does it) and ``now``, in the audit log."""
    deleted = db.session.execute(sa.delete(SharedRound).where(SharedRound.round_id == round_.id)).rowcount
    if deleted and by is not None and now is not None:
        audit.record("results.unshared", actor=by, target=round_, now=now,
                     summary=f"“{round_.survey.title}”, round closed {round_.closes_at.date().isoformat()}")
    db.session.commit()


def shared_rounds(survey: Survey) -> list[Round]:
    return list(db.session.scalars(sa.select(Round).join(SharedRound, SharedRound.round_id == Round.id)
                                   .where(Round.survey_id == survey.id, Round.status == "closed")
                                   .order_by(Round.closes_at)))


def get_survey(survey_id: int) -> Survey:
    return get_or_raise(Survey, survey_id, _("No such survey."))


def team_choices(viewer: Person) -> list[tuple[int, str]]:
    """Teams (managers) the viewer may pick: their own and those below them; HR: every manager."""
    managers = set(db.session.scalars(sa.select(Person.manager_id).where(Person.manager_id.is_not(None))
                                      .distinct()))
    allowed = managers if viewer.is_hr else (org.reports_under(viewer.id) | {viewer.id}) & managers
    names = labels("manager", allowed)
    return sorted(((m, names.get(m, "?")) for m in allowed), key=lambda item: item[1].lower())


def latest_shared_round() -> Round | None:
    return db.session.scalar(sa.select(Round).join(SharedRound, SharedRound.round_id == Round.id)
                             .order_by(Round.closes_at.desc()).limit(1))


def get_round(round_id: int) -> Round:
    return get_or_raise(Round, round_id, _("No such round."))


# --- Dashboard --------------------------------------------------------------------------


@dataclass
class DriverImpactRow:
    question: Question
    impact: DriverImpact


@dataclass
class Dashboard:
    survey: Survey
    scope: Scope
    scope_label: str
    rounds: list[Round]
    per_round: dict[int, GroupResult]
    trend: list[TrendPoint]
    latest: GroupResult | None
    previous: GroupResult | None
    change: TrendPoint | None
    breakdown: list[GroupResult]  # child groups of the scope in the latest round
    impacts: list[DriverImpactRow]
    comments: list[str]
    k: int
    # Set when a manager's own team could not be shown and this is the nearest larger group that can.
    rolled_up_from: str | None = None
    # How many groups are below the scope, and where ``breakdown`` starts among them (a page of them).
    breakdown_total: int = 0
    breakdown_first: int = 0


def nearest_shown_group(round_: Round, scope: Scope) -> Scope | None:
    """For a manager's team the guard hid in ``round_``: the nearest larger group it shows.

    Up the manager tree as it stood in the round (their manager's organisation, and so on),
    then the company. Any shown group is safe for anyone to see: the guard's invariant is over
    all viewers together. None if nothing above passes.
    """
    rows = {key: (parent, shown) for key, parent, shown in db.session.execute(
        sa.select(RoundResult.key, RoundResult.parent_key, RoundResult.shown)
        .where(RoundResult.round_id == round_.id, RoundResult.kind == scope.cut))}
    seen = {scope.key}
    node = rows.get(scope.key, (None, False))[0]
    while node is not None and node in rows and node not in seen:
        seen.add(node)
        if rows[node][1]:
            return Scope(scope.cut, node)
        node = rows[node][0]
    company = db.session.scalar(sa.select(RoundResult.shown).where(
        RoundResult.round_id == round_.id, RoundResult.kind == "company"))
    return Scope("company") if company else None


def dashboard(survey: Survey, scope: Scope, *, first: date | None = None, last: date | None = None,
              rounds: list[Round] | None = None, with_comments: bool = True,
              rng: random.Random | None = None, roll_up: bool = False,
              breakdown_page: int | None = None) -> Dashboard:
    """Everything a results page shows for one scope, each number already through the guard.

    ``rounds`` limits it to given closed rounds (the shared page), else all closed
    rounds between ``first`` and ``last``. Driver impact and comments only at company level.
    With ``roll_up``, a manager's team that the guard hid in the latest round is replaced by
    the nearest larger group it shows (``nearest_shown_group``), and ``rolled_up_from`` says so.
    ``breakdown_page`` (from 1) limits the breakdown to that page of ``BREAKDOWN_PAGE`` groups by
    name (a department of 100,000 people may have a thousand below it); None: all of them.
    """
    rounds = rounds if rounds is not None else closed_rounds(survey, first, last)
    if roll_up and rounds and scope.cut == "manager":
        latest_result = _results_for(survey, rounds[-1:], scope)[rounds[-1].id]
        target = None if latest_result.shown else nearest_shown_group(rounds[-1], scope)
        if target is not None:
            dash = dashboard(survey, target, rounds=rounds, with_comments=False, rng=rng)
            # The larger group as a whole only: its other teams are not this manager's to see.
            dash.breakdown, dash.impacts, dash.breakdown_total = [], [], 0
            dash.rolled_up_from = labels(scope.cut, [scope.key]).get(scope.key, "")
            return dash
    per_round = _results_for(survey, rounds, scope)
    points = trend([(r.closes_at.date().isoformat(), per_round[r.id].enps) for r in rounds])
    latest = per_round[rounds[-1].id] if rounds else None
    previous = per_round[rounds[-2].id] if len(rounds) > 1 else None
    breakdown, below, first_shown = _breakdown(survey, rounds[-1], scope, breakdown_page) if rounds else ([], 0, 0)
    impacts = _impacts(survey, rounds[-1]) if rounds and scope.cut == "company" and latest.shown else []
    comments = _comments(survey, rounds[-1], rng) if rounds and scope.cut == "company" and with_comments else []
    label = labels(scope.cut, [scope.key]).get(scope.key, "") if scope.cut != "company" else ""
    return Dashboard(survey, scope, label, rounds, per_round, points, latest, previous,
                     points[-1] if points else None, breakdown, impacts, comments, survey.min_group_size,
                     breakdown_total=below, breakdown_first=first_shown)


def results_for_round(survey: Survey, round_: Round, scope: Scope) -> GroupResult:
    """One closed round's result for a scope (the API's answer)."""
    return _results_for(survey, [round_], scope)[round_.id]


def department_breakdown(survey: Survey, round_: Round) -> list[GroupResult]:
    return _breakdown(survey, round_, Scope("company"))[0]


def department_breakdowns(survey: Survey, rounds: list[Round]) -> dict[int, list[GroupResult]]:
    """``department_breakdown`` of each round, read in a few statements whatever the number of rounds."""
    ids = [r.id for r in rounds]
    below = _children_of(ids, "department", dict.fromkeys(ids, COMPANY))
    single = {i: keys[0] for i, keys in below.items() if len(keys) == 1}
    below.update(_children_of(list(single), "department", single))
    counts = results.load(ids, "department", keys={k for keys in below.values() for k in keys}) if ids else {}
    names = labels("department", {k for keys in below.values() for k in keys})
    return {i: [group_result(survey, c, names.get(c, "?"), counts[i][c].visibility, counts[i][c])
                for c in sorted(below.get(i, []), key=lambda c: names.get(c, "").lower())] for i in ids}


def _children_of(round_ids: list[int], cut: str, parent: dict[int, int]) -> dict[int, list[int]]:
    """``results.children`` of several rounds at once: round id → the keys right below ``parent[round id]``."""
    found: dict[int, list[int]] = {i: [] for i in round_ids}
    if round_ids:
        for round_id, parent_key, key in db.session.execute(
                sa.select(RoundResult.round_id, RoundResult.parent_key, RoundResult.key)
                .where(RoundResult.round_id.in_(round_ids), RoundResult.kind == cut,
                       RoundResult.parent_key.in_(set(parent.values())))):
            if parent[round_id] == parent_key:
                found[round_id].append(key)
    return found


def _breakdown(survey: Survey, round_: Round, scope: Scope,
               page: int | None = None) -> tuple[list[GroupResult], int, int]:
    """The groups one level below the scope (departments of the company or of a department; sub-teams),
    by name, all of them or one ``page`` (the last one if there are fewer); how many there are; and
    the index of the first one returned."""
    cut = "manager" if scope.cut == "manager" else "department"
    parent = scope.key
    keys = results.children(round_.id, cut, parent)
    if scope.cut == "company" and len(keys) == 1:  # one top department (the company itself): go one down
        parent = keys[0]
    # The groups' names with their keys, in one statement (a department may have a thousand below it).
    model = Department if cut == "department" else Person
    names = dict(db.session.execute(
        sa.select(RoundResult.key, model.name).outerjoin(model, model.id == RoundResult.key)
        .where(RoundResult.round_id == round_.id, RoundResult.kind == cut, RoundResult.parent_key == parent)).all())
    if not names:
        return [], 0, 0
    keys = list(names)
    names = {key: name or "" for key, name in names.items()}
    ordered = sorted(keys, key=lambda c: (names[c].lower(), c))
    first = 0
    if page is not None:
        first = min(page - 1, (len(ordered) - 1) // BREAKDOWN_PAGE) * BREAKDOWN_PAGE
        ordered = ordered[first:first + BREAKDOWN_PAGE]
    counts = results.load([round_.id], cut, keys=ordered).get(round_.id, {}) if ordered else {}
    groups = [group_result(survey, c, names[c] or "?", counts[c].visibility, counts[c]) for c in ordered]
    return groups, len(keys), first


def _impacts(survey: Survey, round_: Round) -> list[DriverImpactRow]:
    company = results.load([round_.id], "company", extras=True).get(round_.id, {}).get(0)
    if company is None or not company.pairs:
        return []
    rows = []
    for q in survey.questions:
        grid = company.pairs.get(q.id)
        if q.kind == "likert" and grid:
            paired = {(item + 1, score): count for item, row in enumerate(grid) for score, count in enumerate(row)
                      if count}
            rows.append(DriverImpactRow(q, driver_impact(paired, MIN_DRIVER_N)))
    return rows


def shown_comments(survey: Survey, round_: Round) -> list[str]:
    """The comments of a closed round the guard lets anyone see: the stored company-level sample,
    none below the comment threshold or while the company's result is hidden. Not shuffled."""
    if round_.status != "closed":
        return []
    company = results.load([round_.id], "company", extras=True).get(round_.id, {}).get(0)
    size = company.responses if company else 0
    # and only while the company's own result is shown (as stored, after every cut was weighed)
    if not comments_shown(size, survey.min_group_size) or not company.visibility.shown:
        return []
    return list(company.comments or [])


def _comments(survey: Survey, round_: Round, rng: random.Random | None) -> list[str]:
    """Company-level comments of a round (``shown_comments``), shuffled."""
    comments = shown_comments(survey, round_)
    (rng or random.SystemRandom()).shuffle(comments)
    return comments


# --- Helpers other features call --------------------------------------------------------


@dataclass(frozen=True)
class TrendRow:
    """One closed round at company level: ``result`` is None when the guard hides it."""

    round_id: int
    closes_on: date
    result: ENPSResult | None
    significant_change: bool


def company_enps_trend(survey_id: int | None = None) -> list[TrendRow]:
    """Company-level eNPS of every closed round of a survey, oldest first, under the anonymity guard."""
    survey = db.session.get(Survey, survey_id) if survey_id else enps_survey()
    if survey is None:
        return []
    rounds = closed_rounds(survey)
    per_round = _results_for(survey, rounds, Scope("company"))
    points = trend([(r.closes_at.date().isoformat(), per_round[r.id].enps) for r in rounds])
    return [TrendRow(r.id, r.closes_at.date(), per_round[r.id].enps, point.significant_change)
            for r, point in zip(rounds, points, strict=True)]


def enps_surveys_by_rounds() -> list[tuple[Survey, int]]:
    """Surveys with an eNPS question and a closed round, with how many rounds closed: most first, then newest.

    The first is the survey whose trend says the most, the default wherever one eNPS trend is drawn.
    """
    closed = sa.func.count(Round.id)
    rows = db.session.execute(
        sa.select(Survey, closed).join(Round, sa.and_(Round.survey_id == Survey.id, Round.status == "closed"))
        .where(sa.exists().where(Question.survey_id == Survey.id, Question.kind == "enps"))
        .group_by(Survey.id).order_by(closed.desc(), Survey.created_at.desc(), Survey.id.desc()))
    return [(survey, count) for survey, count in rows]


@dataclass(frozen=True)
class DriverScore:
    question_id: int
    text: str
    text_it: str | None
    driver: str | None
    favorability: Favorability


@dataclass(frozen=True)
class TalkingPoints:
    """A manager's team in the last closed round: lowest-favorability drivers, or why they are hidden."""

    shown: bool
    reason: str | None
    drivers: list[DriverScore]


def team_talking_points(manager_id: int, limit: int = 3) -> TalkingPoints:
    """The team's lowest-favorability Likert drivers from the last closed round, under the guard."""
    survey = enps_survey()
    rounds = closed_rounds(survey) if survey else []
    if not rounds:
        return TalkingPoints(False, "no_results", [])
    result = _results_for(survey, rounds[-1:], Scope("manager", manager_id))[rounds[-1].id]
    if not result.shown:
        return TalkingPoints(False, result.reason, [])
    scores = [DriverScore(r.question.id, r.question.text, r.question.text_it, r.question.driver, r.favorability)
              for r in result.questions if r.favorability is not None and r.favorability.n]
    scores.sort(key=lambda s: (s.favorability.favorable, s.question_id))
    return TalkingPoints(True, None, scores[:limit])
