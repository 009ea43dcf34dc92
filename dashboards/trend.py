"""A survey's trend for the API: the company's result for each closed round, optionally by department.

HR's only: the whole company and every department, each through the same guard as the results
pages (``dashboards.services``), so a group below the survey's minimum size carries no number.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from dashboards import services
from errors import Forbidden
from people.models import Person
from surveys.models import Round, Survey


@dataclass(frozen=True)
class TrendPoint:
    round: Round
    company: services.GroupResult
    significant_change: bool
    #: Each department's result for the round, when asked for by department; else None.
    departments: list[services.GroupResult] | None


@dataclass(frozen=True)
class Trend:
    survey: Survey
    points: list[TrendPoint]


def survey_trend(survey: Survey, viewer: Person, *, by_department: bool = False) -> Trend:
    """The company's result per closed round of ``survey``, oldest first, with each one's departments if asked.

    :raise Forbidden: ``viewer`` is not HR.
    """
    if not viewer.is_hr:
        raise Forbidden(_("Your role does not give access to these results."))
    rounds = services.closed_rounds(survey)
    company = services.dashboard(survey, services.Scope("company"), rounds=rounds, with_comments=False)
    departments = services.department_breakdowns(survey, rounds) if by_department else {}
    return Trend(survey, [
        TrendPoint(round_, company.per_round[round_.id], point.significant_change,
                   departments[round_.id] if by_department else None)
        for round_, point in zip(rounds, company.trend, strict=True)])
