"""When a survey's rounds are held: the occurrences of its cadence and each round's window.

Times are computed in the survey's time zone and returned in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from surveys.models import Survey

OPENING_TIME = time(9, 0)
CADENCE_STEP = {
    "weekly": relativedelta(weeks=1),
    "biweekly": relativedelta(weeks=2),
    "monthly": relativedelta(months=1),
    "quarterly": relativedelta(months=3),
}
MAX_OPEN_DAYS = {"weekly": 7, "biweekly": 14, "monthly": 28, "quarterly": 28, "once": 28}


def occurrence(survey: Survey, index: int) -> date:
    """The date of the ``index``-th round (0-based).

    Months are added to the start date, not to the previous occurrence, so a
    monthly survey started on 31 January runs on 28/29 February, then 31 March.
    """
    if survey.cadence == "once":
        if index:
            raise ValueError("a survey that runs once has one occurrence")
        return survey.starts_on
    return survey.starts_on + CADENCE_STEP[survey.cadence] * index


def window(survey: Survey, day: date) -> tuple[datetime, datetime, datetime | None]:
    """(opens_at, closes_at, remind_at) in UTC for the round held on ``day``.

    Times are 09:00 wall-clock in the survey's time zone, so a window that
    crosses a daylight-saving change still opens and closes at 09:00 local.
    """
    tz = ZoneInfo(survey.timezone)

    def at(d: date) -> datetime:
        return datetime.combine(d, OPENING_TIME, tzinfo=tz).astimezone(UTC)

    close_day = day + timedelta(days=survey.open_days)
    remind = survey.remind_days_before_close
    return at(day), at(close_day), (at(close_day - timedelta(days=remind)) if remind else None)


def due_occurrence(survey: Survey, now: datetime) -> date | None:
    """The occurrence whose window contains ``now``, if any (missed windows are not reopened)."""
    if survey.status != "active":
        return None
    index = 0
    while True:
        try:
            day = occurrence(survey, index)
        except ValueError:
            return None
        opens, closes, _remind = window(survey, day)
        if opens > now:
            return None
        if now < closes:
            return day
        index += 1
