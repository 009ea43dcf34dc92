"""One-on-ones: series rules, single-meeting changes, conflicts, agenda carry-over, notes, feed, reminders, API."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from dateutil.rrule import rrulestr
from icalendar import Calendar

import tasks
from errors import Conflict, Forbidden, ValidationError
from oneonones import feeds
from oneonones.access import current_series, get_series
from oneonones.agenda import (
    action_items,
    add_action_item,
    add_agenda_item,
    agenda,
    private_note,
    save_private_note,
    toggle_action_item,
    toggle_agenda_item,
)
from oneonones.conflicts import busy
from oneonones.meetings import cancel_occurrence, move_occurrence, restore_occurrence
from oneonones.models import AgendaItem, OccurrenceException, PrivateNote, Series
from oneonones.occurrences import find_occurrence, next_occurrence, occurrences
from oneonones.series import create_series, end_series, pause_series, resume_series, update_series

ROME, NEW_YORK = "Europe/Rome", "America/New_York"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(tz, y, m, d, h, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=ZoneInfo(tz))


@pytest.fixture
def team(factory):
    boss = factory.person("boss@example.com", name="Bianca Boss")
    manager = factory.person("marta@example.com", name="Marta Galli", manager=boss)
    return {
        "boss": boss, "manager": manager,
        "report": factory.person("enzo@example.com", name="Enzo Fontana", manager=manager),
        "colleague": factory.person("carla@example.com", name="Carla Neri", manager=manager),
        "other_manager": factory.person("olga@example.com", name="Olga Verdi", manager=boss),
        "hr": factory.person("hr@example.com", name="Helena HR", role="hr_admin"),
    }


def weekly(manager, report, when, now=NOW, cadence="weekly", **extra):
    return create_series(manager, {"report_email": report.email, "cadence": cadence,
                                            "starts_at": when.isoformat(), **extra}, now)


def monday_in_march_next_year() -> date:
    day = date(datetime.now(UTC).year + 1, 3, 1)
    return day + timedelta(days=-day.weekday() % 7)


def starts(series, start, end):
    return [o.starts_at for o in occurrences(series, start, end)]


# --- Series ---------------------------------------------------------------------------------


def test_series_stores_an_rrule_with_an_hour_and_the_managers_time_zone_by_default(team):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10), cadence="biweekly")
    assert (series.rrule, series.duration_minutes, series.timezone) == ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", 60, ROME)
    assert series.starts_at == datetime(2025, 3, 10, 9, tzinfo=UTC)
    assert starts(series, NOW, NOW + timedelta(days=30)) == [
        datetime(2025, 3, 10, 9, tzinfo=UTC), datetime(2025, 3, 24, 9, tzinfo=UTC)]


def test_series_in_another_time_zone_keeps_its_local_time(team):
    series = weekly(team["manager"], team["report"], at(NEW_YORK, 2025, 3, 3, 9), timezone=NEW_YORK,
                    duration_minutes=30)
    found = occurrences(series, NOW, NOW + timedelta(days=14))
    assert [o.starts_at.astimezone(ZoneInfo(NEW_YORK)).hour for o in found] == [9, 9]
    assert [o.starts_at.hour for o in found] == [14, 13]  # New York moves to EDT on 9 March
    assert found[0].ends_at - found[0].starts_at == timedelta(minutes=30)


def test_only_a_direct_report_can_be_in_a_series(team, db):
    for manager, person in ((team["manager"], team["other_manager"]), (team["other_manager"], team["report"]),
                            (team["boss"], team["report"]), (team["report"], team["manager"])):
        with pytest.raises(Forbidden):
            weekly(manager, person, at(ROME, 2025, 3, 10, 10))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Series)) == 0


BAD_SERIES_INPUT = [
    ("cadence", "daily"), ("starts_at", "2025-03-10T10:00:00"), ("starts_at", "next monday"),
    ("starts_at", "2025-02-01T10:00:00+01:00"), ("duration_minutes", 5), ("duration_minutes", True),
    ("duration_minutes", "60"), ("timezone", "Mars/Olympus"), ("report_email", "nobody@example.com")]


def test_bad_input_names_the_field_and_stores_nothing(team, db):
    for field, value in BAD_SERIES_INPUT:
        data = {"report_email": team["report"].email, "cadence": "weekly",
                "starts_at": "2025-03-10T10:00:00+01:00", field: value}
        with pytest.raises(ValidationError) as error:
            create_series(team["manager"], data, NOW)
        assert field in error.value.fields, (field, value)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Series)) == 0


def test_a_pair_has_one_current_series(team):
    weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    with pytest.raises(Conflict):
        weekly(team["manager"], team["report"], at(ROME, 2025, 3, 12, 15))


# --- Conflicts ------------------------------------------------------------------------------


def test_an_overlap_with_the_managers_other_one_on_one_is_refused_naming_it(team, db):
    weekly(team["manager"], team["colleague"], at(ROME, 2025, 3, 10, 10))
    with pytest.raises(Conflict) as error:
        weekly(team["manager"], team["report"], at(ROME, 2025, 3, 17, 10, 30))
    assert "Carla Neri" in error.value.message and "Marta Galli" in error.value.message
    assert "Monday, March 17, 2025, 10:00\u202fAM–11:00\u202fAM (Europe/Rome)" in error.value.message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Series)) == 1


def test_an_overlap_with_the_reports_other_one_on_ones_is_refused(team, factory):
    intern = factory.person("ivo@example.com", name="Ivo Intern", manager=team["report"])
    weekly(team["report"], intern, at(ROME, 2025, 3, 11, 14))  # the report manages someone too
    with pytest.raises(Conflict) as error:
        weekly(team["manager"], team["report"], at(ROME, 2025, 3, 4, 14, 30), cadence="monthly")
    assert "Ivo Intern" in error.value.message
    # The manager's own one-on-one with their boss counts as well.
    weekly(team["boss"], team["manager"], at(ROME, 2025, 3, 5, 9))
    with pytest.raises(Conflict) as error:
        weekly(team["manager"], team["colleague"], at(ROME, 2025, 3, 19, 9, 15), cadence="biweekly")
    assert "Bianca Boss" in error.value.message


def test_a_clash_found_only_months_later_is_refused(team):
    # Monthly on the first Monday vs weekly on Mondays, 10:00 local: they meet on 7 April.
    weekly(team["manager"], team["colleague"], at(ROME, 2025, 4, 7, 10), cadence="monthly")
    with pytest.raises(Conflict):
        weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))


def test_back_to_back_meetings_and_other_pairs_do_not_clash(team, factory, db):
    weekly(team["manager"], team["colleague"], at(ROME, 2025, 3, 10, 10))
    weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 11))
    intern = factory.person("ivo@example.com", name="Ivo Intern", manager=team["other_manager"])
    weekly(team["other_manager"], intern, at(ROME, 2025, 3, 10, 10))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Series)) == 3


def test_a_cancelled_meeting_frees_its_slot_for_a_move(team):
    first = weekly(team["manager"], team["colleague"], at(ROME, 2025, 3, 10, 10))
    second = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 12, 10))
    occ = occurrences(second, NOW, NOW + timedelta(days=30))[0]
    with pytest.raises(Conflict) as error:
        move_occurrence(second, team["manager"], occ.key,
                                 {"starts_at": at(ROME, 2025, 3, 10, 10, 30).isoformat()}, NOW)
    assert "Carla Neri" in error.value.message
    blocker = occurrences(first, NOW, NOW + timedelta(days=30))[0]
    cancel_occurrence(first, team["manager"], blocker.key, NOW)
    moved = move_occurrence(second, team["manager"], occ.key,
                                     {"starts_at": at(ROME, 2025, 3, 10, 10, 30).isoformat()}, NOW)
    assert moved.starts_at == datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


# --- One meeting ----------------------------------------------------------------------------


def test_moving_one_meeting_leaves_the_others_alone(team):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    before = occurrences(series, NOW, NOW + timedelta(days=30))
    move_occurrence(series, team["manager"], before[1].key,
                             {"starts_on": date(2025, 3, 18), "start_time": time(15), "duration_minutes": 30}, NOW)
    after = occurrences(series, NOW, NOW + timedelta(days=30))
    assert [(o.starts_at, o.status) for o in after] == [
        (before[0].starts_at, "scheduled"), (datetime(2025, 3, 18, 14, tzinfo=UTC), "moved"),
        (before[2].starts_at, "scheduled"), (before[3].starts_at, "scheduled")]
    assert after[1].original_start == before[1].starts_at
    assert after[1].ends_at - after[1].starts_at == timedelta(minutes=30)
    assert find_occurrence(series, before[1].key).status == "moved"


def test_cancelling_one_meeting_leaves_the_others_alone_and_can_be_undone(team):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    before = occurrences(series, NOW, NOW + timedelta(days=30))
    cancel_occurrence(series, team["manager"], before[2].key, NOW)
    after = occurrences(series, NOW, NOW + timedelta(days=30))
    assert [o.status for o in after] == ["scheduled", "scheduled", "cancelled", "scheduled"]
    assert [o.starts_at for o in after] == [o.starts_at for o in before]
    restore_occurrence(series, team["manager"], before[2].key, NOW)
    assert [o.status for o in occurrences(series, NOW, NOW + timedelta(days=30))] == ["scheduled"] * 4


def test_only_the_manager_moves_or_cancels(team):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    key = next_occurrence(series, NOW).key
    for person in (team["report"], team["colleague"], team["hr"]):
        with pytest.raises(Forbidden):
            cancel_occurrence(series, person, key, NOW)


def test_changing_the_schedule_after_a_meeting_keeps_past_meetings(team):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    later = datetime(2025, 3, 20, 12, tzinfo=UTC)
    current = update_series(series, team["manager"], {
        "cadence": "biweekly", "starts_on": date(2025, 3, 27), "start_time": time(16), "timezone": ROME,
        "duration_minutes": 45}, later)
    assert current.id != series.id and current.previous_id == series.id
    assert series.status == "ended" and series.end_reason == "rescheduled"
    assert starts(series, NOW, NOW + timedelta(days=60)) == [datetime(2025, 3, 10, 9, tzinfo=UTC),
                                                               datetime(2025, 3, 17, 9, tzinfo=UTC)]
    assert starts(current, NOW, NOW + timedelta(days=30)) == [datetime(2025, 3, 27, 15, tzinfo=UTC)]


def test_pause_hides_meetings_and_resume_records_the_skipped_ones_as_cancelled(team):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    pause_series(series, team["manager"], datetime(2025, 3, 11, tzinfo=UTC))
    assert starts(series, NOW, NOW + timedelta(days=30)) == [datetime(2025, 3, 10, 9, tzinfo=UTC)]
    resume_series(series, team["manager"], datetime(2025, 3, 26, tzinfo=UTC))
    assert [o.status for o in occurrences(series, NOW, NOW + timedelta(days=30))] == [
        "scheduled", "cancelled", "cancelled", "scheduled"]


def test_a_report_who_changes_manager_ends_the_old_series(team, db, client, auth):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    team["report"].manager_id = team["other_manager"].id
    db.session.commit()
    assert tasks.tick(datetime(2025, 3, 12, tzinfo=UTC)).oneonones["series_ended"] == 1
    db.session.refresh(series)
    assert (series.status, series.end_reason) == ("ended", "manager_changed")
    assert starts(series, NOW, NOW + timedelta(days=30)) == [datetime(2025, 3, 10, 9, tzinfo=UTC)]
    # Both keep the history, read-only; the new manager may schedule with the report.
    with pytest.raises(Forbidden):
        add_agenda_item(series, find_occurrence(series, "20250310T090000Z"), team["manager"],
                                 "x", NOW)
    weekly(team["other_manager"], team["report"], at(ROME, 2025, 3, 17, 10), now=datetime(2025, 3, 12, tzinfo=UTC))


def test_the_old_series_ends_as_soon_as_it_is_read(team, db):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    team["report"].manager_id = team["other_manager"].id
    db.session.commit()
    get_series(series.id, team["report"], datetime(2025, 3, 12, tzinfo=UTC))
    assert series.status == "ended"


# --- Agenda, action items, notes ------------------------------------------------------------


def test_unticked_agenda_items_carry_over_until_ticked(team):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    first, second, third = occurrences(series, NOW, NOW + timedelta(days=30))[:3]
    add_agenda_item(series, first, team["report"], "Career goals", NOW)
    done = add_agenda_item(series, first, team["manager"], "Holiday plan", NOW)
    toggle_agenda_item(series, first, team["report"], done.id, NOW)
    add_agenda_item(series, second, team["report"], "Conference budget", NOW)

    def texts(occurrence):
        return [(r.item.text, r.carried, r.done_here) for r in agenda(series, occurrence)]

    assert texts(first) == [("Career goals", False, False), ("Holiday plan", False, True)]
    assert texts(second) == [("Career goals", True, False), ("Conference budget", False, False)]
    career = agenda(series, second)[0].item
    toggle_agenda_item(series, second, team["manager"], career.id, NOW)
    assert texts(second) == [("Career goals", True, True), ("Conference budget", False, False)]
    assert texts(third) == [("Conference budget", True, False)]
    assert agenda(series, first)[0].done_later  # history shows it was done later


def test_agenda_carries_over_a_cancelled_meeting_and_a_schedule_change(team):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    first = next_occurrence(series, NOW)
    add_agenda_item(series, first, team["report"], "Promotion", NOW)
    cancel_occurrence(series, team["manager"], first.key, NOW)
    current = update_series(series, team["manager"], {
        "cadence": "weekly", "starts_on": date(2025, 3, 20), "start_time": time(9), "timezone": ROME},
        datetime(2025, 3, 11, tzinfo=UTC))
    following = next_occurrence(current, datetime(2025, 3, 11, tzinfo=UTC))
    assert [r.item.text for r in agenda(current, following)] == ["Promotion"]


def test_action_items_belong_to_one_of_the_two(team):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    occ = next_occurrence(series, NOW)
    with pytest.raises(ValidationError) as error:
        add_action_item(series, occ, team["manager"], {"text": "Plan", "owner_id": team["hr"].id}, NOW)
    assert "owner_id" in error.value.fields
    item = add_action_item(series, occ, team["manager"],
                                    {"text": "Plan", "owner_id": team["report"].id, "due_on": date(2025, 3, 20)}, NOW)
    later = occurrences(series, NOW, NOW + timedelta(days=30))[2]
    assert action_items(series, later) == [item]
    toggle_action_item(series, team["report"], item.id, NOW)
    assert action_items(series, later) == [] and action_items(series, occ) == [item]


def test_a_private_note_is_returned_only_to_its_author(team):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    occ = next_occurrence(series, NOW)
    save_private_note(series, occ, team["manager"], "Seems tired lately", NOW)
    assert private_note(series, occ, team["manager"]).body == "Seems tired lately"
    assert private_note(series, occ, team["report"]) is None
    with pytest.raises(Forbidden):
        save_private_note(series, occ, team["hr"], "x", NOW)
    save_private_note(series, occ, team["manager"], "  ", NOW)
    assert private_note(series, occ, team["manager"]) is None


# --- Pages ---------------------------------------------------------------------------------


def future(days=3, hour=10):
    day = (datetime.now(UTC) + timedelta(days=days)).astimezone(ZoneInfo(ROME)).date()
    return day, time(hour)


def test_manager_page_lists_reports_with_and_without_one_on_ones(team, client, auth):
    day, hour = future()
    weekly(team["manager"], team["report"], datetime.combine(day, hour, ZoneInfo(ROME)), now=datetime.now(UTC))
    auth.login("marta@example.com")
    page = client.get("/one-on-ones").get_data(as_text=True)
    assert "Enzo Fontana" in page and "Carla Neri" in page
    assert page.count("No one-on-one in the last 30 days") == 2
    assert "Schedule a one-on-one" in page and "Talking points" in page
    assert "There are no closed pulse results for your team yet." in page


def _talking_points_section(page: str) -> str:
    return page[page.index("talking-points-title"):page.index("mine-title")]


def test_talking_points_show_the_teams_lowest_driver_when_it_has_at_least_k_people(org, closed, client, auth):
    """Bea Boss's team (the ``org`` fixture) answered a closed round in groups of at least k (5)."""
    auth.login("boss@example.com")
    section = _talking_points_section(client.get("/one-on-ones").get_data(as_text=True))
    assert "My workload is manageable." in section and "%" in section
    assert "hidden for small teams" not in section


def test_talking_points_are_hidden_without_figures_when_the_team_is_below_k(org, closed, client, auth):
    """Tim Tiny's team is three people, below k (5): the page names the reason and shows no figure."""
    auth.login("tinyboss@example.com")
    section = _talking_points_section(client.get("/one-on-ones").get_data(as_text=True))
    assert "hidden for small teams" in section
    assert "%" not in section and "workload" not in section


def test_report_page_shows_the_series_with_their_manager(team, client, auth):
    day, hour = future()
    weekly(team["manager"], team["report"], datetime.combine(day, hour, ZoneInfo(ROME)), now=datetime.now(UTC))
    auth.login("enzo@example.com")
    page = client.get("/one-on-ones").get_data(as_text=True)
    assert "One-on-one with Marta Galli" in page and "Talking points" not in page
    assert "Schedule a one-on-one" not in page


def _schedule_form(report, day, **changes):
    return {"report_id": report.id, "cadence": "weekly", "starts_on": day.isoformat(), "start_time": "10:00",
            "duration_minutes": "60", "timezone": ROME, **changes}


def test_schedule_form_refuses_an_unknown_time_zone_and_stores_nothing(team, client, auth, db):
    auth.login("marta@example.com")
    day, _hour = future()
    bad = client.post("/one-on-ones/new", data=_schedule_form(team["report"], day, timezone="Nowhere/City"))
    assert bad.status_code == 422 and "Not a known time zone" in bad.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Series)) == 0


def test_schedule_form_creates_a_series_as_filled_in(team, client, auth, db):
    auth.login("marta@example.com")
    day, _hour = future()
    good = client.post("/one-on-ones/new", data=_schedule_form(team["report"], day, cadence="monthly",
                                                                duration_minutes="45", timezone=NEW_YORK))
    assert good.status_code == 302
    series = db.session.scalar(sa.select(Series))
    assert (series.cadence, series.timezone, series.duration_minutes) == ("monthly", NEW_YORK, 45)


def test_schedule_form_refuses_an_overlap_with_409_naming_it(team, client, auth):
    auth.login("marta@example.com")
    day, _hour = future()
    assert client.post("/one-on-ones/new", data=_schedule_form(team["report"], day, cadence="monthly",
                                                                timezone=NEW_YORK)).status_code == 302
    clash = client.post("/one-on-ones/new", data=_schedule_form(team["colleague"], day, start_time="10:30",
                                                                 timezone=NEW_YORK))
    assert clash.status_code == 409 and "Enzo Fontana" in clash.get_data(as_text=True)


def _meeting_page(team, auth):
    day, hour = future()
    series = weekly(team["manager"], team["report"], datetime.combine(day, hour, ZoneInfo(ROME)),
                    now=datetime.now(UTC))
    occ = next_occurrence(series, datetime.now(UTC))
    auth.login("marta@example.com")
    return day, series, f"/one-on-ones/{series.id}/meetings/{occ.key}"


def test_occurrence_page_moves_one_meeting(team, client, auth):
    day, _series, base = _meeting_page(team, auth)
    moved = client.post(base + "/move", data={"move-starts_on": (day + timedelta(days=1)).isoformat(),
                                              "move-start_time": "15:00", "move-duration_minutes": "30"})
    assert moved.status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert "Moved" in page and "3:00" in page


def test_occurrence_page_cancels_one_meeting(team, client, auth):
    _day, _series, base = _meeting_page(team, auth)
    assert client.post(base + "/cancel").status_code == 302
    assert "This meeting is cancelled" in client.get(base).get_data(as_text=True)


@pytest.mark.parametrize("key", ["20000101T000000Z", "garbage"])
def test_a_meeting_the_series_does_not_have_is_404(team, client, auth, key):
    _day, series, _base = _meeting_page(team, auth)
    assert client.get(f"/one-on-ones/{series.id}/meetings/{key}").status_code == 404


# --- Calendar feed -----------------------------------------------------------------------------


def _expand_feed(ics: bytes, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """What a calendar client shows: each RRULE expanded, minus EXDATEs, with RECURRENCE-ID overrides."""
    calendar = Calendar.from_ical(ics)
    assert {tz["TZID"] for tz in calendar.walk("VTIMEZONE")} >= {ROME, NEW_YORK}
    shown, overrides = [], {}
    for event in calendar.walk("VEVENT"):
        if "RECURRENCE-ID" in event:
            overrides[(str(event["UID"]), event.decoded("RECURRENCE-ID"))] = event
    for event in calendar.walk("VEVENT"):
        if "RRULE" not in event:
            continue
        begins, ends = event.decoded("DTSTART"), event.decoded("DTEND")
        assert event["DTSTART"].params["TZID"] in (ROME, NEW_YORK)
        rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=begins)
        excluded = {d.dt for ex in ([event["EXDATE"]] if not isinstance(event.get("EXDATE", []), list)
                                    else event.get("EXDATE", [])) for d in ex.dts}
        for instance in rule.between(start - timedelta(days=2), end, inc=True):
            if instance in excluded:
                continue
            override = overrides.get((str(event["UID"]), instance))
            if override is not None:
                shown.append((override.decoded("DTSTART").astimezone(UTC), override.decoded("DTEND").astimezone(UTC)))
            else:
                shown.append((instance.astimezone(UTC), (instance + (ends - begins)).astimezone(UTC)))
    return sorted(s for s in shown if start <= s[0] < end)


def test_feed_parsed_back_matches_the_meetings_the_app_shows(team, client, app):
    now = datetime.now(UTC)
    year = now.year + 1
    rome = create_series(team["manager"], {"report_email": team["report"].email, "cadence": "weekly",
                                                    "starts_at": at(ROME, year, 3, 2, 10).isoformat()}, now)
    york = create_series(team["manager"], {"report_email": team["colleague"].email, "cadence": "biweekly",
                                                    "timezone": NEW_YORK, "duration_minutes": 30,
                                                    "starts_at": at(NEW_YORK, year, 2, 23, 9).isoformat()}, now)
    meetings = occurrences(rome, now, at(ROME, year, 5, 1, 0))
    move_occurrence(rome, team["manager"], meetings[1].key,
                             {"starts_at": at(ROME, year, 3, 10, 16).isoformat(), "duration_minutes": 90}, now)
    cancel_occurrence(rome, team["manager"], meetings[3].key, now)
    second_york = occurrences(york, now, at(NEW_YORK, year, 4, 1, 0))[1]
    cancel_occurrence(york, team["manager"], second_york.key, now)
    url = feeds.feed_url(team["manager"], now, create=True)
    response = client.get(url.removeprefix("http://localhost"))
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    start, end = at(ROME, year, 2, 1, 0).astimezone(UTC), at(ROME, year, 6, 1, 0).astimezone(UTC)
    app_view = sorted((o.starts_at, o.ends_at) for s in (rome, york) for o in occurrences(s, start, end)
                      if not o.cancelled)
    assert _expand_feed(response.data, start, end) == app_view
    assert len(app_view) >= 15
    assert b"Seems tired" not in response.data


def test_feed_of_the_report_names_the_manager_and_ends_with_an_ended_series(team, client):
    now = datetime.now(UTC)
    series = create_series(team["manager"], {"report_email": team["report"].email, "cadence": "weekly",
                                                      "starts_at": (now + timedelta(days=1)).isoformat()}, now)
    url = feeds.feed_url(team["report"], now, create=True).removeprefix("http://localhost")
    event = next(iter(Calendar.from_ical(client.get(url).data).walk("VEVENT")))
    assert str(event["SUMMARY"]) == "One-on-one with Marta Galli"
    assert "UNTIL" not in event["RRULE"]
    end_series(series, team["manager"], now + timedelta(days=10))
    event = next(iter(Calendar.from_ical(client.get(url).data).walk("VEVENT")))
    assert event["RRULE"]["UNTIL"][0] < now + timedelta(days=10)


def test_a_revoked_or_replaced_feed_url_returns_404(team, client):
    now = datetime.now(UTC)
    old = feeds.feed_url(team["report"], now, create=True).removeprefix("http://localhost")
    assert client.get(old).status_code == 200
    new = feeds.regenerate_feed(team["report"], now).removeprefix("http://localhost")
    assert client.get(old).status_code == 404 and client.get(new).status_code == 200
    feeds.revoke_feed(team["report"])
    assert client.get(new).status_code == 404
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_only_a_hash_of_the_feed_secret_is_stored(team, db):
    from oneonones.models import CalendarFeed

    url = feeds.feed_url(team["report"], datetime.now(UTC), create=True)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    row = db.session.scalar(sa.select(CalendarFeed))
    assert token not in (row.nonce, row.token_hash)


# --- Reminders -----------------------------------------------------------------------------


def test_reminder_the_day_before_goes_through_the_outbox_once(team, smtp, db):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    occ = next_occurrence(series, NOW)
    add_agenda_item(series, occ, team["report"], "Training budget", NOW)
    save_private_note(series, occ, team["manager"], "Private worry", NOW)
    assert tasks.tick(datetime(2025, 3, 8, 9, tzinfo=UTC)).oneonones["reminders"] == 0  # two days before
    day_before = datetime(2025, 3, 9, 9, 30, tzinfo=UTC)
    assert tasks.tick(day_before).oneonones["reminders"] == 2
    assert tasks.tick(day_before + timedelta(minutes=5)).oneonones["reminders"] == 0
    assert sorted(m["To"] for m in smtp.messages) == ["enzo@example.com", "marta@example.com"]
    to_enzo = next(m for m in smtp.messages if m["To"] == "enzo@example.com")
    body = to_enzo.get_body(("plain",)).get_content()
    subject = to_enzo["Subject"].replace("\u202f", " ")
    assert subject == "Reminder: one-on-one with Marta Galli, Mar 10, 2025 at 10:00 AM"
    assert "Monday, March 10, 2025 at 10:00\u202fAM (Europe/Rome)" in body
    assert "Training budget" in body and f"/one-on-ones/{series.id}/meetings/{occ.key}" in body
    assert all("Private worry" not in m.as_string() for m in smtp.messages)


def test_no_reminder_for_a_cancelled_meeting(team, smtp):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    cancel_occurrence(series, team["manager"], next_occurrence(series, NOW).key, NOW)
    assert tasks.tick(datetime(2025, 3, 9, 10, tzinfo=UTC)).oneonones["reminders"] == 0


# --- API -----------------------------------------------------------------------------------


def test_api_creates_a_series_and_lists_its_occurrences(team, client, api_token):
    headers = api_token("marta@example.com")
    first = monday_in_march_next_year()
    response = client.post("/api/v1/one-on-ones", headers=headers, json={
        "report_email": "enzo@example.com", "cadence": "biweekly", "starts_at": f"{first}T10:00:00+01:00"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id"] and body["rrule"] == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO" and body["duration_minutes"] == 60
    assert (body["timezone"], body["report_email"], body["status"]) == (ROME, "enzo@example.com", "active")
    listed = client.get(f"/api/v1/one-on-ones/{body['id']}/occurrences?from={first}&to={first + timedelta(days=42)}",
                        headers=api_token("enzo@example.com"))
    assert listed.status_code == 200
    # 10:00 in Rome every other Monday: 09:00 UTC, then 08:00 UTC once summer time starts.
    assert [(o["starts_at"], o["status"]) for o in listed.get_json()] == [
        (f"{first + timedelta(days=d)}T{h:02}:00:00+00:00", "scheduled")
        for d, h in ((0, 9), (14, 9), (28, 8), (42, 8))]


def _api_series(first, **changes):
    return {"report_email": "enzo@example.com", "cadence": "weekly", "starts_at": f"{first}T10:00:00+01:00",
            **changes}


def test_api_refuses_an_overlap_with_409_naming_it(team, client, api_token, db):
    headers = api_token("marta@example.com")
    first = monday_in_march_next_year()
    assert client.post("/api/v1/one-on-ones", headers=headers, json=_api_series(first)).status_code == 201
    clash = client.post("/api/v1/one-on-ones", headers=headers, json=_api_series(
        first, report_email="carla@example.com", starts_at=f"{first + timedelta(days=7)}T10:30:00+01:00"))
    assert clash.status_code == 409
    assert "Enzo Fontana" in clash.get_json()["error"]["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Series)) == 1


def test_api_refuses_a_series_with_someone_elses_report_with_403(team, client, api_token, db):
    stranger = client.post("/api/v1/one-on-ones", headers=api_token("olga@example.com"),
                           json=_api_series(monday_in_march_next_year()))
    assert stranger.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Series)) == 0


def test_api_bad_input_is_422_naming_the_field_and_stores_nothing(team, client, api_token, db):
    headers = api_token("marta@example.com")
    good = {"report_email": "enzo@example.com", "cadence": "weekly",
            "starts_at": f"{monday_in_march_next_year()}T10:00:00+01:00"}
    for change, field in [({"starts_at": good["starts_at"][:19]}, "starts_at"), ({"cadence": "yearly"}, "cadence"),
                          ({"duration_minutes": 1000}, "duration_minutes"), ({"timezone": "Rome"}, "timezone"),
                          ({"report_email": "not-an-email"}, "report_email"), ({"colour": "red"}, "colour"),
                          ({"starts_at": None}, "starts_at")]:
        response = client.post("/api/v1/one-on-ones", headers=headers, json={**good, **change})
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"], change
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Series)) == 0


def test_api_bad_range_is_422_naming_the_field(team, client, api_token):
    first = monday_in_march_next_year()
    series = weekly(team["manager"], team["report"], datetime.combine(first, time(10), ZoneInfo(ROME)),
                    now=datetime.now(UTC))
    headers = api_token("enzo@example.com")
    for query, field in [("from=yesterday", "from"), (f"to={first.year}-13-01", "to"),
                         (f"from={first}T00:00:00", "from"), (f"from={first}&to={first - timedelta(days=9)}", "to"),
                         (f"from={first}&to={first + timedelta(days=800)}", "to")]:
        response = client.get(f"/api/v1/one-on-ones/{series.id}/occurrences?{query}", headers=headers)
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"], query


def test_api_calendar_url_is_made_by_post_then_stable_and_serves_the_feed(team, client, api_token):
    headers = api_token("enzo@example.com")
    assert client.get("/api/v1/me/calendar", headers=headers).status_code == 404
    made = client.post("/api/v1/me/calendar", headers=headers)
    assert made.status_code == 201
    first = made.get_json()["url"]
    assert client.get("/api/v1/me/calendar", headers=headers).get_json()["url"] == first
    assert client.get("/api/v1/me/calendar", headers=headers).get_json()["url"] == first
    assert first.startswith("http://localhost/calendar/") and first.endswith(".ics")
    assert client.get(first.removeprefix("http://localhost")).status_code == 200


# --- Demo -----------------------------------------------------------------------------------


def test_demo_seed_writes_series_with_history_without_overlaps(runner, db):
    result = runner.invoke(args=["demo", "seed", "--employees", "120", "--weeks", "0", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert "one-on-one series" in result.output
    from people.models import Person

    manager = db.session.scalar(sa.select(Person).where(Person.email == "manager@polso.example"))
    employee = db.session.scalar(sa.select(Person).where(Person.email == "employee@polso.example"))
    series = current_series(manager.id, employee.id)
    assert series is not None
    now = datetime.now(UTC)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AgendaItem)) > 50
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrivateNote)) > 0
    cancelled = db.session.scalars(sa.select(OccurrenceException)).all()
    assert f", {len(cancelled)} cancelled meetings" in result.output
    mine = [one for one in cancelled if one.series_id == series.id]
    assert len(mine) == 1 and mine[0].status == "cancelled"
    listed = {o.original_start: o for o in occurrences(series, now, now + timedelta(days=70))}
    assert listed[mine[0].original_start].cancelled
    for one in db.session.scalars(sa.select(Series).where(Series.status == "active")):
        people = {one.manager_id, one.report_id}
        mine = [(o.starts_at, o.ends_at) for o in occurrences(one, now - timedelta(days=60),
                                                                          now + timedelta(days=60))]
        others = [(o.starts_at, o.ends_at) for pair in busy(people, now - timedelta(days=60),
                                                                       now + timedelta(days=60), skip_series=one.id)
                  for o in [pair[0]]]
        assert not any(a < d and c < b for a, b in mine for c, d in others), one


def test_sending_the_schedule_back_unchanged_changes_nothing(team):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    later = datetime(2025, 3, 20, 12, tzinfo=UTC)
    same = update_series(series, team["manager"], {
        "cadence": "weekly", "starts_on": date(2025, 3, 24), "start_time": time(10), "timezone": ROME,
        "duration_minutes": 60}, later)
    assert same is series and series.status == "active"


def test_a_longer_meeting_keeps_future_moves_cancellations_and_notes(team):
    series = weekly(team["manager"], team["report"], at(ROME, 2025, 3, 10, 10))
    later = datetime(2025, 3, 20, 12, tzinfo=UTC)
    coming = occurrences(series, later, later + timedelta(days=30))
    cancel_occurrence(series, team["manager"], coming[1].key, later)
    save_private_note(series, coming[0], team["report"], "Ask about the move", later)
    current = update_series(series, team["manager"], {
        "cadence": "weekly", "starts_on": date(2025, 3, 24), "start_time": time(10), "timezone": ROME,
        "duration_minutes": 90}, later)
    assert current is not series
    after = occurrences(current, later, later + timedelta(days=30))
    assert [o.status for o in after][:3] == ["scheduled", "cancelled", "scheduled"]
    assert after[0].ends_at - after[0].starts_at == timedelta(minutes=90)
    assert private_note(current, after[0], team["report"]).body == "Ask about the move"
