"""When rounds open and close: every cadence, month ends, daylight-saving changes."""

from datetime import UTC, date, datetime

import pytest

from surveys import schedule
from surveys.models import Survey


def survey(cadence: str, starts_on: date, open_days: int = 5, timezone: str = "Europe/Rome",
           remind: int = 2) -> Survey:
    return Survey(title="s", cadence=cadence, starts_on=starts_on, open_days=open_days, timezone=timezone,
                  remind_days_before_close=remind, status="active", min_group_size=5)


@pytest.mark.parametrize(("cadence", "expected"), [
    ("weekly", [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19), date(2026, 1, 26)]),
    ("biweekly", [date(2026, 1, 5), date(2026, 1, 19), date(2026, 2, 2), date(2026, 2, 16)]),
    ("monthly", [date(2026, 1, 5), date(2026, 2, 5), date(2026, 3, 5), date(2026, 4, 5)]),
    ("quarterly", [date(2026, 1, 5), date(2026, 4, 5), date(2026, 7, 5), date(2026, 10, 5)]),
])
def test_occurrences_follow_the_cadence(cadence, expected):
    s = survey(cadence, date(2026, 1, 5))
    assert [schedule.occurrence(s, i) for i in range(4)] == expected


def test_once_has_a_single_occurrence():
    s = survey("once", date(2026, 1, 5))
    assert schedule.occurrence(s, 0) == date(2026, 1, 5)
    with pytest.raises(ValueError):
        schedule.occurrence(s, 1)


def test_monthly_started_on_31_january_keeps_to_month_ends():
    s = survey("monthly", date(2026, 1, 31))
    assert [schedule.occurrence(s, i) for i in range(5)] == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31)]


def test_monthly_on_31_january_in_a_leap_year_uses_29_february():
    s = survey("monthly", date(2028, 1, 31))
    assert schedule.occurrence(s, 1) == date(2028, 2, 29)


def test_rounds_open_at_nine_local_time_on_both_sides_of_the_spring_change():
    s = survey("weekly", date(2026, 3, 23))  # Europe/Rome moves to summer time on 29 March 2026
    before, _, _ = schedule.window(s, schedule.occurrence(s, 0))
    after, _, _ = schedule.window(s, schedule.occurrence(s, 1))
    assert before == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert after == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST


def test_a_window_across_the_autumn_change_closes_at_nine_local():
    s = survey("weekly", date(2026, 10, 22), open_days=5, timezone="America/New_York")  # DST ends 1 Nov
    opens, closes, remind = schedule.window(s, date(2026, 10, 29))
    assert opens == datetime(2026, 10, 29, 13, 0, tzinfo=UTC)  # 09:00 EDT
    assert closes == datetime(2026, 11, 3, 14, 0, tzinfo=UTC)  # 09:00 EST: 121 hours later
    assert remind == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)  # two days before closing, 09:00 EST


def test_no_reminder_when_set_to_zero_days():
    s = survey("weekly", date(2026, 1, 5), remind=0)
    assert schedule.window(s, date(2026, 1, 5))[2] is None


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 1, 5, 7, 59, tzinfo=UTC), None),  # before the first opening
    (datetime(2026, 1, 5, 8, 0, tzinfo=UTC), date(2026, 1, 5)),
    (datetime(2026, 1, 10, 7, 59, tzinfo=UTC), date(2026, 1, 5)),  # last minute of the window
    (datetime(2026, 1, 10, 8, 0, tzinfo=UTC), None),  # closed, next not yet open
    (datetime(2026, 1, 13, 12, 0, tzinfo=UTC), date(2026, 1, 12)),
])
def test_due_occurrence_is_the_window_containing_now(now, expected):
    assert schedule.due_occurrence(survey("weekly", date(2026, 1, 5)), now) == expected


def test_archived_survey_has_nothing_due():
    s = survey("weekly", date(2026, 1, 5))
    s.status = "archived"
    assert schedule.due_occurrence(s, datetime(2026, 1, 6, tzinfo=UTC)) is None
