"""Occurrence expansion (oneonones/schedule.py): each cadence, across daylight-saving changes."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from oneonones.schedule import build_rrule, expand, local_datetime, occurrence_key, parse_occurrence_key

ROME, NEW_YORK = "Europe/Rome", "America/New_York"


def starts(rule_cadence, tz, day, at, start, end, duration=60):
    first = local_datetime(day, at, tz)
    rule = build_rrule(rule_cadence, first.astimezone(ZoneInfo(tz)))
    return [(s, e) for s, e in expand(rule, first, tz, duration, start, end)]


def local(instants, tz):
    return [s.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %a %H:%M") for s, _e in instants]


def utc(y, m, d, h=0, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=UTC)


@pytest.mark.parametrize(("cadence", "day", "rule"), [
    ("weekly", date(2025, 3, 10), "FREQ=WEEKLY;BYDAY=MO"),
    ("biweekly", date(2025, 3, 12), "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE"),
    ("monthly", date(2025, 3, 11), "FREQ=MONTHLY;BYDAY=2TU"),
    ("monthly", date(2025, 3, 28), "FREQ=MONTHLY;BYDAY=4FR"),
    ("monthly", date(2025, 5, 30), "FREQ=MONTHLY;BYDAY=-1FR"),
])
def test_rrule_follows_the_first_meeting(cadence, day, rule):
    assert build_rrule(cadence, datetime.combine(day, time(10))) == rule


def test_weekly_keeps_local_time_across_the_spring_change_in_rome():
    found = starts("weekly", ROME, date(2025, 3, 17), time(10), utc(2025, 3, 1), utc(2025, 4, 10))
    assert local(found, ROME) == ["2025-03-17 Mon 10:00", "2025-03-24 Mon 10:00", "2025-03-31 Mon 10:00",
                                  "2025-04-07 Mon 10:00"]
    assert [s.hour for s, _e in found] == [9, 9, 8, 8]  # CET, CET, CEST, CEST
    assert all(e - s == timedelta(minutes=60) for s, e in found)


def test_weekly_keeps_local_time_across_the_autumn_change_in_rome():
    found = starts("weekly", ROME, date(2025, 10, 20), time(16, 30), utc(2025, 10, 1), utc(2025, 11, 4))
    assert local(found, ROME) == ["2025-10-20 Mon 16:30", "2025-10-27 Mon 16:30", "2025-11-03 Mon 16:30"]
    assert [s.hour for s, _e in found] == [14, 15, 15]


def test_biweekly_skips_a_week_and_follows_new_york_daylight_saving():
    found = starts("biweekly", NEW_YORK, date(2025, 2, 26), time(9), utc(2025, 2, 1), utc(2025, 4, 10))
    assert local(found, NEW_YORK) == ["2025-02-26 Wed 09:00", "2025-03-12 Wed 09:00", "2025-03-26 Wed 09:00",
                                      "2025-04-09 Wed 09:00"]
    assert [s.hour for s, _e in found] == [14, 13, 13, 13]  # EST until 9 March, then EDT


def test_biweekly_across_the_autumn_change_in_new_york():
    found = starts("biweekly", NEW_YORK, date(2025, 10, 22), time(9), utc(2025, 10, 1), utc(2025, 11, 20))
    assert local(found, NEW_YORK) == ["2025-10-22 Wed 09:00", "2025-11-05 Wed 09:00", "2025-11-19 Wed 09:00"]
    assert [s.hour for s, _e in found] == [13, 14, 14]


def test_monthly_meets_on_the_same_weekday_of_the_month():
    found = starts("monthly", ROME, date(2025, 1, 14), time(11), utc(2025, 1, 1), utc(2025, 6, 1))
    assert local(found, ROME) == ["2025-01-14 Tue 11:00", "2025-02-11 Tue 11:00", "2025-03-11 Tue 11:00",
                                  "2025-04-08 Tue 11:00", "2025-05-13 Tue 11:00"]
    assert [s.hour for s, _e in found] == [10, 10, 10, 9, 9]


def test_monthly_from_the_29th_meets_on_the_last_weekday_of_each_month():
    found = starts("monthly", NEW_YORK, date(2025, 1, 31), time(15), utc(2025, 1, 1), utc(2025, 5, 1))
    assert local(found, NEW_YORK) == ["2025-01-31 Fri 15:00", "2025-02-28 Fri 15:00", "2025-03-28 Fri 15:00",
                                      "2025-04-25 Fri 15:00"]


def test_window_is_half_open_and_nothing_comes_before_the_first_meeting():
    first = local_datetime(date(2025, 3, 10), time(10), ROME)
    rule = build_rrule("weekly", first.astimezone(ZoneInfo(ROME)))
    assert expand(rule, first, ROME, 60, utc(2025, 1, 1), first) == []
    assert [s for s, _e in expand(rule, first, ROME, 60, first, first + timedelta(days=7))] == [first]
    assert expand(rule, first, ROME, 60, utc(2025, 1, 1), utc(2026, 1, 1), until=first) == []


def test_a_local_time_skipped_by_the_clock_change_is_read_with_the_offset_before_the_gap():
    # 02:30 does not exist in Rome on 30 March 2025: RFC 5545 reads it as 03:30 CEST.
    first = local_datetime(date(2025, 3, 23), time(2, 30), ROME)
    rule = build_rrule("weekly", first.astimezone(ZoneInfo(ROME)))
    found = expand(rule, first, ROME, 30, utc(2025, 3, 20), utc(2025, 4, 2))
    assert local(found, ROME) == ["2025-03-23 Sun 02:30", "2025-03-30 Sun 03:30"]


def test_occurrence_keys_round_trip():
    at = utc(2025, 3, 10, 9)
    assert occurrence_key(at) == "20250310T090000Z"
    assert parse_occurrence_key("20250310T090000Z") == at
    assert parse_occurrence_key("2025-03-10") is None


@settings(max_examples=60, deadline=None)
@given(cadence=st.sampled_from(["weekly", "biweekly", "monthly"]),
       first_day=st.dates(date(2020, 1, 1), date(2026, 12, 31)),
       hour=st.integers(0, 23), tz=st.sampled_from([ROME, NEW_YORK, "Asia/Tokyo", "Australia/Sydney"]),
       offset_days=st.integers(0, 3000), span_days=st.integers(1, 120))
def test_expansion_of_a_late_window_matches_expanding_from_the_first_meeting(cadence, first_day, hour, tz,
                                                                            offset_days, span_days):
    first = local_datetime(first_day, time(hour), tz)
    local_first = first.astimezone(ZoneInfo(tz))
    rule = build_rrule(cadence, local_first)
    start = first + timedelta(days=offset_days)
    end = start + timedelta(days=span_days)
    reference = [dt.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
                 for dt in rrulestr(rule, dtstart=local_first.replace(tzinfo=None))
                 .between(local_first.replace(tzinfo=None), (end + timedelta(days=2)).replace(tzinfo=None), inc=True)]
    assert [s for s, _e in expand(rule, first, tz, 45, start, end)] == [r for r in reference if start <= r < end]
