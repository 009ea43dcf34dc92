"""Results for dashboards, exports and the API. Every number passes through ``scoring.guard``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from extensions import db
from people.models import Person
from scoring import ENPSResult, Favorability, GroupCount, compare, enps, favorability, guard
from surveys.models import Answer, Question, Response, Round, Survey


@dataclass(frozen=True)
class TrendRow:
    """One closed round at company level: ``result`` is None when the guard hides it."""

    round_id: int
    closes_on: date
    result: ENPSResult | None
    significant_change: bool


def enps_survey() -> Survey | None:
    """The survey dashboards show by default: the newest active one with an eNPS question."""
    return db.session.scalar(
        sa.select(Survey).join(Question).where(Question.kind == "enps")
        .order_by((Survey.status == "active").desc(), Survey.created_at.desc()).limit(1))


def company_enps_trend(survey_id: int | None = None) -> list[TrendRow]:
    """Company-level eNPS of every closed round of a survey, oldest first, under the anonymity guard.

    With no ``survey_id``, the survey of :func:`enps_survey`. A change is flagged
    significant against the previous shown round (``scoring.compare``).
    """
    survey = db.session.get(Survey, survey_id) if survey_id else enps_survey()
    if survey is None:
        return []
    rows = db.session.execute(
        sa.select(Round.id, Round.closes_at, Answer.value_int, sa.func.count())
        .join(Response, Response.round_id == Round.id).join(Answer, Answer.response_id == Response.id)
        .where(Round.survey_id == survey.id, Round.status == "closed", Answer.kind == "enps")
        .group_by(Round.id, Round.closes_at, Answer.value_int)).all()
    rounds = db.session.execute(sa.select(Round.id, Round.closes_at).where(
        Round.survey_id == survey.id, Round.status == "closed").order_by(Round.closes_at)).all()
    histograms: dict[int, list[int]] = {r.id: [0] * 11 for r in rounds}
    for round_id, _closes, value, count in rows:
        histograms[round_id][value] = count
    trend: list[TrendRow] = []
    previous: ENPSResult | None = None
    for round_id, closes_at in rounds:
        counts = histograms[round_id]
        shown = guard([GroupCount("company", None, sum(counts))], survey.min_group_size)["company"].shown
        result = enps(counts) if shown else None
        significant = bool(result and previous and compare(previous, result).significant)
        trend.append(TrendRow(round_id, closes_at.date(), result, significant))
        previous = result or previous
    return trend


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


def report_tree(manager_id: int) -> set[int]:
    """The ids of everyone below a manager, at any depth (not the manager)."""
    reports: dict[int, list[int]] = {}
    for person_id, boss_id in db.session.execute(sa.select(Person.id, Person.manager_id)
                                                 .where(Person.manager_id.is_not(None))):
        reports.setdefault(boss_id, []).append(person_id)
    found, stack = set(), list(reports.get(manager_id, ()))
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(reports.get(current, ()))
    return found


def team_talking_points(manager_id: int, limit: int = 3) -> TalkingPoints:
    """The team's lowest-favorability Likert drivers from the last closed round, under the guard.

    The team is everyone whose manager (at answer time) is this manager or
    someone below them. Hidden unless the team meets the survey's threshold
    and cannot be subtracted from the company total to reveal fewer than k.
    """
    survey = enps_survey()
    last = survey and db.session.scalar(
        sa.select(Round).where(Round.survey_id == survey.id, Round.status == "closed")
        .order_by(Round.closes_at.desc()).limit(1))
    if last is None:
        return TalkingPoints(False, "no_results", [])
    managers = report_tree(manager_id) | {manager_id}
    in_team = Response.manager_id.in_(managers)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Response).where(Response.round_id == last.id))
    team = db.session.scalar(sa.select(sa.func.count()).select_from(Response)
                             .where(Response.round_id == last.id, in_team))
    visibility = guard([GroupCount("company", None, total), GroupCount("team", "company", team)],
                       survey.min_group_size)["team"]
    if not visibility.shown:
        return TalkingPoints(False, visibility.reason, [])
    rows = db.session.execute(
        sa.select(Answer.question_id, Answer.value_int, sa.func.count())
        .join(Response, Response.id == Answer.response_id)
        .where(Response.round_id == last.id, in_team, Answer.kind == "likert")
        .group_by(Answer.question_id, Answer.value_int)).all()
    counts: dict[int, list[int]] = {}
    for question_id, value, count in rows:
        counts.setdefault(question_id, [0] * 5)[value - 1] = count
    questions = {q.id: q for q in survey.questions}
    scores = [DriverScore(qid, questions[qid].text, questions[qid].text_it, questions[qid].driver,
                          favorability(histogram)) for qid, histogram in counts.items() if sum(histogram)]
    scores.sort(key=lambda s: (s.favorability.favorable, s.question_id))
    return TalkingPoints(True, None, scores[:limit])
