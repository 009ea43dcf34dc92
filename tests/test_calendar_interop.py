"""Calendar feeds that every client reads right.

The feed is read by two independent libraries, as calendar clients read it: ical.js (Mozilla's,
under Node, with only the feed's own VTIMEZONEs) and vobject (Python, through dateutil). Every
meeting's start and end over five years, in Europe/Rome and America/New_York, must equal what the
occurrences API says, for series that meet clock changes on purpose: in the skipped and the
repeated hour, across a change, on a change day from their first meeting, with moves, a cancelled
meeting in a gap, a pause and an end. Then: SEQUENCE, ETag and 304; the rule on starts the clocks
skip; a revoked feed; and the API that moves, cancels and restores one meeting.

Node and ical.js come from tests/js (``npm ci --prefix tests/js``; ``make test`` runs it).
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema_rs
import pytest
import sqlalchemy as sa
import vobject
from icalendar import Calendar

from mail.models import OutboxMessage
from oneonones import clock, feeds
from oneonones.access import get_series
from oneonones.models import Series
from oneonones.series import end_series, pause_series
from oneonones.vtimezone import vtimezone

ROME, NEW_YORK = "Europe/Rome", "America/New_York"
JS = Path(__file__).parent / "js"
YEARS = 5


# --- Reading the feed as clients do -----------------------------------------------------------


def _node(script: str, stdin: bytes, *args: str):
    if not (JS / "node_modules" / "ical.js").is_dir():
        pytest.fail("ical.js is not installed: run `npm ci --prefix tests/js` (make test does)")
    done = subprocess.run(["node", str(JS / script), *args], input=stdin, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def ical_js(ics: bytes, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Meetings starting in ``[start, end)`` as ical.js shows them: (start, end) in UTC, by start."""
    shown = _node("expand.mjs", ics, start.isoformat(), end.isoformat())
    return sorted((_instant(m["start"]), _instant(m["end"])) for m in shown)


def vobject_meetings(ics: bytes, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The same through vobject: each RRULE expanded (EXDATEs out), RECURRENCE-IDs replaced, ends by length."""
    text = ics.decode()
    # vobject keeps one process-wide zone per TZID, the first it meets; this feed's zones must be the ones.
    for zone in vobject.readOne(text).contents.get("vtimezone", []):
        vobject.icalendar.registerTzid(zone.tzid.value, zone.gettzinfo())
    calendar = vobject.readOne(text)
    overrides, shown = {}, []
    events = calendar.contents.get("vevent", [])
    for event in events:
        if "recurrence-id" in event.contents:
            overrides[(event.uid.value, event.recurrence_id.value)] = event

    def span(event, begins):
        length = event.duration.value if "duration" in event.contents else event.dtend.value - event.dtstart.value
        return begins.astimezone(UTC), (begins + length).astimezone(UTC)

    for event in events:
        if "recurrence-id" in event.contents:
            continue
        for instance in event.getrruleset(addRDate=True).between(start - timedelta(days=400), end, inc=True):
            override = overrides.get((event.uid.value, instance))
            shown.append(span(override, override.dtstart.value) if override else span(event, instance))
    return sorted(s for s in shown if start <= s[0] < end)


def api_meetings(client, headers, series_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Meetings (not cancelled) starting in ``[start, end)`` from the occurrences API, two years at a time."""
    found, low = [], start
    while low < end:
        high = min(end, low + timedelta(days=700))
        response = client.get(f"/api/v1/one-on-ones/{series_id}/occurrences", headers=headers,
                              query_string={"from": low.isoformat(), "to": high.isoformat()})
        assert response.status_code == 200, response.get_json()
        found += [(datetime.fromisoformat(o["starts_at"]), datetime.fromisoformat(o["ends_at"]))
                  for o in response.get_json() if o["status"] != "cancelled"]
        low = high
    return sorted(found)


def feed_path(person, now) -> str:
    return feeds.feed_url(person, now, create=True).removeprefix("http://localhost")


# --- Dates around clock changes ---------------------------------------------------------------


def next_change(zone: str, after: datetime, *, gap: bool) -> clock.Change:
    return next(c for c in clock.changes(zone, after.year, after.year + 2) if c.at > after and c.is_gap == gap)


def change_days(zone: str, year: int) -> set[date]:
    return {c.local_before.date() for c in clock.changes(zone, year - 1, year + YEARS + 1)}


def plain_weekday(zone: str, after: date, weekday: int) -> date:
    """The first ``weekday`` (0 Monday) after ``after`` on which the clocks do not change."""
    day = after + timedelta(days=1)
    while day.weekday() != weekday or day in change_days(zone, day.year):
        day += timedelta(days=1)
    return day


def at(day: date, hour: int, minute: int, zone: str) -> str:
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone)).isoformat()


# --- The cast ---------------------------------------------------------------------------------


@pytest.fixture
def pair(factory, api_token):
    """A new manager with one report, both in ``zone``; returns (manager, report, manager's API headers)."""
    made = []

    def make(zone: str):
        index = len(made)
        manager = factory.person(f"manager{index}@example.com", name=f"Manager {index}", timezone=zone, locale="en")
        report = factory.person(f"report{index}@example.com", name=f"Report {index}", manager=manager,
                                timezone=zone, locale="en")
        made.append(manager)
        return manager, report, api_token(manager.email)

    return make


def create(client, headers, report, **fields) -> dict:
    response = client.post("/api/v1/one-on-ones", headers=headers, json={"report_email": report.email, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def meetings(client, headers, series_id: int, start: str, end: str) -> list[dict]:
    response = client.get(f"/api/v1/one-on-ones/{series_id}/occurrences", headers=headers,
                          query_string={"from": start, "to": end})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def change(client, headers, series_id: int, key: str, action: str, **body):
    return client.post(f"/api/v1/one-on-ones/{series_id}/occurrences/{key}/{action}", headers=headers,
                       json=body if action == "move" else None)


# --- Every client shows every meeting where the API does -------------------------------------


def _rome_series(client, pair, now: datetime) -> list[tuple]:
    base = (now + timedelta(days=3)).astimezone(ZoneInfo(ROME)).date()
    spring, fall = next_change(ROME, now, gap=True), next_change(ROME, now, gap=False)
    sunday, monday = plain_weekday(ROME, base, 6), plain_weekday(ROME, base, 0)
    built = []
    # In the skipped hour every spring and the repeated one every autumn.
    manager, report, headers = pair(ROME)
    built.append((manager, create(client, headers, report, cadence="weekly", starts_at=at(sunday, 2, 30, ROME))))
    # Across both changes: 01:30 for 90 minutes.
    manager, report, headers = pair(ROME)
    built.append((manager, create(client, headers, report, cadence="weekly", duration_minutes=90,
                                  starts_at=at(sunday, 1, 30, ROME))))
    # Its very first meeting meets the autumn change.
    manager, report, headers = pair(ROME)
    built.append((manager, create(client, headers, report, cadence="weekly", duration_minutes=90,
                                  starts_at=at(fall.local_before.date(), 1, 30, ROME))))
    # Moves (one of them twice, the second to the repeated hour's second pass), a cancellation, a pause.
    manager, report, headers = pair(ROME)
    series = create(client, headers, report, cadence="biweekly", starts_at=at(monday, 10, 0, ROME))
    first = meetings(client, headers, series["id"], monday.isoformat(), (monday + timedelta(days=200)).isoformat())
    assert change(client, headers, series["id"], first[2]["key"], "cancel").status_code == 200
    moved = change(client, headers, series["id"], first[4]["key"], "move",
                   starts_at=at(monday + timedelta(days=57), 15, 0, ROME), duration_minutes=45)
    assert moved.status_code == 200, moved.get_json()
    second_pass = fall.local_after.replace(minute=30).isoformat() + "+01:00"  # 02:30 CET, after 02:30 CEST
    moved = change(client, headers, series["id"], first[4]["key"], "move", starts_at=second_pass)
    assert moved.status_code == 200, moved.get_json()
    assert change(client, headers, series["id"], first[6]["key"], "move",
                  starts_at=at(monday + timedelta(days=85), 23, 30, ROME), duration_minutes=120).status_code == 200
    pause_series(get_series(series["id"], manager, now), manager, now + timedelta(days=3 * 365))
    built.append((manager, series))
    # The last Sunday of the month is the change day in March and October.
    manager, report, headers = pair(ROME)
    last_sunday = next(d for d in (base + timedelta(days=n) for n in range(1, 400))
                       if d.weekday() == 6 and (d + timedelta(days=7)).month != d.month
                       and d not in change_days(ROME, d.year))
    built.append((manager, create(client, headers, report, cadence="monthly", duration_minutes=45,
                                  starts_at=at(last_sunday, 2, 0, ROME))))
    # A cancelled meeting at a skipped time (its EXDATE names a time that never happens), a moved repeated one.
    manager, report, headers = pair(ROME)
    series = create(client, headers, report, cadence="weekly", starts_at=at(sunday, 2, 15, ROME))
    gap_day, repeat_day = spring.local_before.date(), fall.local_before.date()
    on_gap_day = meetings(client, headers, series["id"], gap_day.isoformat(), gap_day.isoformat())
    assert change(client, headers, series["id"], on_gap_day[0]["key"], "cancel").status_code == 200
    on_repeat_day = meetings(client, headers, series["id"], repeat_day.isoformat(), repeat_day.isoformat())
    assert change(client, headers, series["id"], on_repeat_day[0]["key"], "move",
                  starts_at=at(repeat_day, 10, 0, ROME)).status_code == 200
    built.append((manager, series))
    return built


def _new_york_series(client, pair, now: datetime) -> list[tuple]:
    base = (now + timedelta(days=3)).astimezone(ZoneInfo(NEW_YORK)).date()
    sunday, friday = plain_weekday(NEW_YORK, base, 6), plain_weekday(NEW_YORK, base, 4)
    built = []
    for hour, minute, minutes in ((2, 0, 30), (1, 30, 60)):  # skipped in March; 01:30 repeated in November
        manager, report, headers = pair(NEW_YORK)
        built.append((manager, create(client, headers, report, cadence="weekly", timezone=NEW_YORK,
                                      duration_minutes=minutes, starts_at=at(sunday, hour, minute, NEW_YORK))))
    # The second Sunday of the month: March's is the change day.
    manager, report, headers = pair(NEW_YORK)
    second_sunday = next(d for d in (base + timedelta(days=n) for n in range(1, 400))
                         if d.weekday() == 6 and 8 <= d.day <= 14 and d not in change_days(NEW_YORK, d.year))
    built.append((manager, create(client, headers, report, cadence="monthly", timezone=NEW_YORK,
                                  duration_minutes=120, starts_at=at(second_sunday, 1, 45, NEW_YORK))))
    # Office hours, a cancellation and a move across the spring change, then the series ends.
    manager, report, headers = pair(NEW_YORK)
    series = create(client, headers, report, cadence="weekly", timezone=NEW_YORK, duration_minutes=30,
                    starts_at=at(friday, 9, 0, NEW_YORK))
    first = meetings(client, headers, series["id"], friday.isoformat(), (friday + timedelta(days=60)).isoformat())
    assert change(client, headers, series["id"], first[1]["key"], "cancel").status_code == 200
    spring = next_change(NEW_YORK, now, gap=True)
    assert change(client, headers, series["id"], first[3]["key"], "move",
                  starts_at=at(spring.local_before.date(), 3, 15, NEW_YORK)).status_code == 200
    end_series(get_series(series["id"], manager, now), manager, now + timedelta(days=2 * 365))
    built.append((manager, series))
    return built


def test_ical_js_and_vobject_show_every_meeting_of_five_years_where_the_api_does(client, pair, api_token):
    now = datetime.now(UTC)
    built = _rome_series(client, pair, now) + _new_york_series(client, pair, now)
    start, end = now, now + timedelta(days=365 * YEARS)
    compared = 0
    for manager, series in built:
        ics = client.get(feed_path(manager, now)).data
        expected = api_meetings(client, api_token(manager.email), series["id"], start, end)
        assert expected, series
        for reader in (ical_js, vobject_meetings):
            shown = reader(ics, start, end)
            wrong = [(a, b) for a, b in zip(shown, expected, strict=False) if a != b]
            assert (len(shown), wrong[:3]) == (len(expected), []), (reader.__name__, series["timezone"],
                                                                    series["starts_at"])
        compared += len(expected)
    assert compared > 1500  # meetings, each checked by both readers


def test_the_vtimezones_are_yearly_rules_without_rdate_lists(client, pair):
    now = datetime.now(UTC)
    manager, report, headers = pair(ROME)
    create(client, headers, report, cadence="weekly", starts_at=at(plain_weekday(ROME, now.date(), 2), 9, 0, ROME))
    zone = next(iter(Calendar.from_ical(client.get(feed_path(manager, now)).data).walk("VTIMEZONE")))
    assert zone["TZID"] == ROME and "RDATE" not in zone.to_ical().decode()
    rules = {sub.name: sub["RRULE"].to_ical().decode() for sub in zone.subcomponents if "RRULE" in sub}
    assert rules == {"DAYLIGHT": "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3", "STANDARD": "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"}


ZONES = [ROME, NEW_YORK, "Europe/London", "Europe/Dublin", "Australia/Sydney", "Australia/Lord_Howe",
         "America/Santiago", "America/Nuuk", "America/Sao_Paulo", "Africa/Casablanca", "Asia/Tokyo", "Asia/Tehran"]


def test_each_vtimezone_gives_every_clear_wall_clock_time_its_zoneinfo_offset_in_both_readers():
    """Over ten years, hourly and around every change: ical.js and vobject read each time as zoneinfo does.

    Wall-clock times the clocks skip or repeat are left out: no VTIMEZONE can make readers agree on
    them (ical.js takes a repeated time as the second), which is why the feed writes such meetings in UTC.
    """
    first, last = datetime.now(UTC).year - 1, datetime.now(UTC).year + 9
    entries, expected, tz_infos = [], [], []
    for zone in ZONES:
        tz = ZoneInfo(zone)
        instants = [datetime(first, 1, 3, tzinfo=UTC) + timedelta(hours=h) for h in range(0, 24 * 365 * 10, 7)]
        for change in clock.changes(zone, first, last):
            instants += [change.at + timedelta(seconds=s) for s in (-3600, -1, 0, 1, 3600)]
        walls = [i.astimezone(tz).replace(tzinfo=None) for i in instants]
        walls = sorted({w for w in walls if clock.is_clear(w, tz)})
        ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n" + vtimezone(zone, first, last).to_ical() + \
            b"END:VCALENDAR\r\n"
        entries.append({"ics": ics.decode(), "walls": [w.isoformat() for w in walls]})
        expected.append([int(clock.resolve(w, tz).timestamp()) for w in walls])
        tz_infos.append((walls, vobject.readOne(ics.decode()).vtimezone.gettzinfo()))
    by_ical_js = _node("offsets.mjs", json.dumps(entries).encode())
    for zone, want, got, (walls, tzinfo) in zip(ZONES, expected, by_ical_js, tz_infos, strict=True):
        assert got == want, zone
        assert [int(w.replace(tzinfo=tzinfo).timestamp()) for w in walls] == want, zone


# --- Change markers: SEQUENCE, LAST-MODIFIED, ETag, 304 -----------------------------------------


def _events(ics: bytes) -> dict:
    """UID or (UID, RECURRENCE-ID in UTC) → VEVENT."""
    found = {}
    for event in Calendar.from_ical(ics).walk("VEVENT"):
        rid = event.decoded("RECURRENCE-ID").astimezone(UTC) if "RECURRENCE-ID" in event else None
        found[(str(event["UID"]), rid) if rid else str(event["UID"])] = event
    return found


@pytest.fixture
def weekly_rome(client, pair):
    """A weekly Monday 10:00 series in Rome, its manager, headers, first five meetings and feed path."""
    now = datetime.now(UTC)
    manager, report, headers = pair(ROME)
    monday = plain_weekday(ROME, now.date() + timedelta(days=2), 0)
    series = create(client, headers, report, cadence="weekly", starts_at=at(monday, 10, 0, ROME))
    first = meetings(client, headers, series["id"], monday.isoformat(), (monday + timedelta(days=34)).isoformat())
    return {"manager": manager, "report": report, "headers": headers, "series": series, "meetings": first,
            "monday": monday, "feed": feed_path(manager, now)}


def test_sequence_rises_on_the_master_with_each_cancellation_and_on_a_meeting_moved_twice(client, weekly_rome):
    s, headers, first = weekly_rome["series"], weekly_rome["headers"], weekly_rome["meetings"]
    uid = next(iter(_events(client.get(weekly_rome["feed"]).data)))
    sequences = [int(_events(client.get(weekly_rome["feed"]).data)[uid]["SEQUENCE"])]
    for meeting in first[:2]:
        assert change(client, headers, s["id"], meeting["key"], "cancel").status_code == 200
        sequences.append(int(_events(client.get(weekly_rome["feed"]).data)[uid]["SEQUENCE"]))
    assert sequences == sorted(set(sequences)) and len(sequences) == 3  # 0, then up with each cancellation

    moved_key = (uid, datetime.fromisoformat(first[3]["original_starts_at"]))
    marks = []
    for hour in (15, 16):
        moved = change(client, headers, s["id"], first[3]["key"], "move",
                       starts_at=at(weekly_rome["monday"] + timedelta(days=22), hour, 0, ROME))
        assert moved.status_code == 200, moved.get_json()
        event = _events(client.get(weekly_rome["feed"]).data)[moved_key]
        marks.append((int(event["SEQUENCE"]), event.decoded("LAST-MODIFIED")))
    (first_seq, first_mod), (second_seq, second_mod) = marks
    assert second_seq > first_seq > sequences[-1] and second_mod >= first_mod

    master = _events(client.get(weekly_rome["feed"]).data)[uid]
    assert master.decoded("DTSTAMP") == master.decoded("LAST-MODIFIED")  # the revision, not the clock
    assert client.get(weekly_rome["feed"]).data == client.get(weekly_rome["feed"]).data


def test_the_feed_has_an_etag_and_last_modified_and_answers_304(client, weekly_rome):
    path = weekly_rome["feed"]
    first = client.get(path)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.status_code == 200 and etag.startswith('"') and modified.endswith("GMT")
    assert client.get(path).headers["ETag"] == etag
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f"W/{etag}"}, {"If-None-Match": f'"x", {etag}'},
                    {"If-Modified-Since": modified}):
        again = client.get(path, headers=headers)
        assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", etag), headers

    key = weekly_rome["meetings"][0]["key"]
    change(client, weekly_rome["headers"], weekly_rome["series"]["id"], key, "cancel")
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    # Changed within the same second as before, and still later: If-Modified-Since sees it.
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 200
    assert changed.headers["Last-Modified"] != modified
    # If-None-Match decides when both are sent (RFC 9110): a stale ETag is a full answer.
    both = client.get(path, headers={"If-None-Match": etag, "If-Modified-Since": changed.headers["Last-Modified"]})
    assert both.status_code == 200
    assert client.get(path, headers={"If-Modified-Since": "not a date"}).status_code == 200


def test_a_renamed_colleague_changes_the_etag_and_last_modified(client, db, weekly_rome):
    path = weekly_rome["feed"]
    before = client.get(path)
    weekly_rome["report"].name = "Renamed Person"
    db.session.commit()
    after = client.get(path, headers={"If-Modified-Since": before.headers["Last-Modified"]})
    assert after.status_code == 200 and b"Renamed Person" in after.data
    assert after.headers["ETag"] != before.headers["ETag"]


# --- Starts the clocks skip or repeat ------------------------------------------------------------


def _gap(zone: str = ROME) -> clock.Change:
    return next_change(zone, datetime.now(UTC) + timedelta(days=2), gap=True)


def _repeat(zone: str = ROME) -> clock.Change:
    return next_change(zone, datetime.now(UTC) + timedelta(days=2), gap=False)


def test_a_new_series_at_a_skipped_time_is_refused_naming_the_gap(client, db, pair):
    _manager, report, headers = pair(ROME)
    day = _gap().local_before.date()
    response = client.post("/api/v1/one-on-ones", headers=headers, json={
        "report_email": report.email, "cadence": "weekly", "starts_at": f"{day}T02:30:00+01:00"})
    assert response.status_code == 422
    message = response.get_json()["error"]["fields"]["starts_at"]
    assert message == (f"There is no 2:30\u202fAM on {day:%A, %B} {day.day}, {day.year} in Europe/Rome: the clocks "
                       "go forward from 2:00\u202fAM to 3:00\u202fAM. Choose another time.")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Series)) == 0


def test_the_same_instant_written_in_utc_is_not_a_skipped_time(client, pair):
    _manager, report, headers = pair(ROME)
    day = _gap().local_before.date()
    series = create(client, headers, report, cadence="weekly", starts_at=f"{day}T02:30:00+00:00")
    assert series["starts_at"] == f"{day}T02:30:00+00:00"  # 04:30 in Rome, summer time


def test_a_series_cannot_start_at_the_second_of_a_repeated_time(client, pair):
    _manager, report, headers = pair(ROME)
    day = _repeat().local_before.date()
    refused = client.post("/api/v1/one-on-ones", headers=headers, json={
        "report_email": report.email, "cadence": "weekly", "starts_at": f"{day}T02:30:00+01:00"})
    assert refused.status_code == 422
    message = refused.get_json()["error"]["fields"]["starts_at"]
    assert "comes twice" in message and "the clocks go back from 3:00\u202fAM to 2:00\u202fAM" in message
    assert f"{day}T02:30:00+02:00" in message
    assert create(client, headers, report, cadence="weekly", starts_at=f"{day}T02:30:00+02:00")["id"]


def test_the_schedule_form_refuses_a_skipped_time_on_the_page(client, auth, pair):
    manager, report, _headers = pair(ROME)
    auth.login(manager.email)
    day = _gap().local_before.date()
    response = client.post("/one-on-ones/new", data={
        "report_id": str(report.id), "cadence": "weekly", "starts_on": day.isoformat(), "start_time": "02:30",
        "duration_minutes": "60", "timezone": ROME})
    assert response.status_code == 422
    assert "the clocks go forward from 2:00\u202fAM to 3:00\u202fAM" in response.get_data(as_text=True)


def test_a_new_schedule_at_a_skipped_time_is_refused_on_the_page(client, auth, weekly_rome):
    auth.login(weekly_rome["manager"].email)
    day = _gap().local_before.date()
    response = client.post(f"/one-on-ones/{weekly_rome['series']['id']}/edit", data={
        "cadence": "weekly", "starts_on": day.isoformat(), "start_time": "02:30", "duration_minutes": "60",
        "timezone": ROME})
    assert response.status_code == 422
    assert "There is no 2:30\u202fAM on" in response.get_data(as_text=True)


def test_a_move_to_a_skipped_time_is_refused_by_the_api_and_the_page(client, auth, db, weekly_rome):
    s, headers, key = weekly_rome["series"], weekly_rome["headers"], weekly_rome["meetings"][0]["key"]
    gap = _gap()
    day = gap.local_before.date()
    refused = change(client, headers, s["id"], key, "move", starts_at=f"{day}T02:30:00+02:00")
    assert refused.status_code == 422 and "clocks go forward" in refused.get_json()["error"]["fields"]["starts_at"]
    auth.login(weekly_rome["manager"].email)
    page = client.post(f"/one-on-ones/{s['id']}/meetings/{key}/move", data={
        "move-starts_on": day.isoformat(), "move-start_time": "02:45", "move-duration_minutes": "30"})
    assert page.status_code == 422 and "There is no 2:45\u202fAM on" in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_a_weekly_meeting_that_falls_in_the_gap_is_an_hour_later_in_the_api_and_the_feed(client, pair, api_token):
    """RFC 5545 reads a skipped time with the offset before the gap; the feed writes that meeting out in UTC."""
    now = datetime.now(UTC)
    gap = _gap()
    manager, report, headers = pair(ROME)
    series = create(client, headers, report, cadence="weekly",
                    starts_at=at(gap.local_before.date() - timedelta(days=7), 2, 30, ROME))
    day = gap.local_before.date()
    [meeting] = meetings(client, headers, series["id"], day.isoformat(), day.isoformat())
    assert (meeting["starts_at"], meeting["ends_at"]) == (f"{day}T01:30:00+00:00", f"{day}T02:30:00+00:00")
    ics = client.get(feed_path(manager, now)).data
    override = next(e for e in Calendar.from_ical(ics).walk("VEVENT") if "RECURRENCE-ID" in e)
    assert override["RECURRENCE-ID"].to_ical().decode() == f"{day:%Y%m%d}T023000"  # as the RRULE names it
    assert [override.decoded(name).astimezone(UTC).isoformat() for name in ("DTSTART", "DTEND")] == [
        meeting["starts_at"], meeting["ends_at"]]
    window = (now, now + timedelta(days=400))
    expected = api_meetings(client, headers, series["id"], *window)
    assert ical_js(ics, *window) == expected == vobject_meetings(ics, *window)


# --- A revoked feed stays revoked --------------------------------------------------------------


def test_a_revoked_feed_is_made_again_only_by_an_explicit_create(client, auth, pair):
    manager, _report, headers = pair(ROME)
    missing = client.get("/api/v1/me/calendar", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    made = client.post("/api/v1/me/calendar", headers=headers)
    assert made.status_code == 201
    old = made.get_json()["url"]
    assert client.get("/api/v1/me/calendar", headers=headers).get_json() == {"url": old}

    auth.login(manager.email)
    assert old in client.get("/one-on-ones/calendar").get_data(as_text=True)
    assert client.post("/one-on-ones/calendar/revoke").status_code == 302
    for _ in range(2):  # asking again does not bring it back
        gone = client.get("/api/v1/me/calendar", headers=headers)
        assert gone.status_code == 404
        assert gone.get_json()["error"]["message"] == ("You have no calendar feed: none was made, or it was "
                                                       "switched off. POST /api/v1/me/calendar makes one.")
    assert client.get(old.removeprefix("http://localhost")).status_code == 404
    page = client.get("/one-on-ones/calendar").get_data(as_text=True)
    assert "You have no calendar link." in page and "/calendar/" not in page.split("<main", 1)[-1].split(
        "one-on-ones/calendar/create")[0].replace("/one-on-ones/calendar/", "")

    new = client.post("/api/v1/me/calendar", headers=headers).get_json()["url"]
    assert new != old and client.get(new.removeprefix("http://localhost")).status_code == 200
    assert new in client.get("/one-on-ones/calendar").get_data(as_text=True)
    rotated = client.post("/api/v1/me/calendar", headers=headers).get_json()["url"]  # a new secret; the old dies
    assert rotated != new and client.get(new.removeprefix("http://localhost")).status_code == 404


# --- Moving, cancelling and restoring one meeting through the API ------------------------------


def _outbox(db) -> list[str]:
    return [m.kind for m in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))]


def test_the_manager_moves_cancels_and_restores_a_meeting_and_the_report_is_told_once_each(client, db,
                                                                                          weekly_rome):
    s, headers, first = weekly_rome["series"], weekly_rome["headers"], weekly_rome["meetings"]
    new_start = at(weekly_rome["monday"] + timedelta(days=1), 15, 30, ROME)
    moved = change(client, headers, s["id"], first[0]["key"], "move", starts_at=new_start, duration_minutes=30)
    assert moved.status_code == 200
    body = moved.get_json()
    assert (body["status"], body["key"], body["original_starts_at"]) == ("moved", first[0]["key"],
                                                                        first[0]["starts_at"])
    assert datetime.fromisoformat(body["ends_at"]) - datetime.fromisoformat(body["starts_at"]) == timedelta(minutes=30)
    assert datetime.fromisoformat(body["starts_at"]) == datetime.fromisoformat(new_start)
    again = change(client, headers, s["id"], first[0]["key"], "move", starts_at=new_start, duration_minutes=30)
    assert again.status_code == 200 and again.get_json() == body  # unchanged: nobody told twice

    cancelled = change(client, headers, s["id"], first[1]["key"], "cancel")
    assert cancelled.status_code == 200 and cancelled.get_json() == {**first[1], "status": "cancelled"}
    assert change(client, headers, s["id"], first[1]["key"], "cancel").get_json()["status"] == "cancelled"

    for key in (first[0]["key"], first[1]["key"]):
        restored = change(client, headers, s["id"], key, "restore")
        assert restored.status_code == 200 and restored.get_json()["status"] == "scheduled"
    assert change(client, headers, s["id"], first[0]["key"], "restore").get_json() == first[0]
    # Back from a move is a move (both times named); back from a cancellation, a reinstatement.
    assert _outbox(db) == ["oneonone_moved", "oneonone_cancelled", "oneonone_moved", "oneonone_reinstated"]
    assert {m.to_address for m in db.session.scalars(sa.select(OutboxMessage))} == {weekly_rome["report"].email}


def test_only_the_manager_changes_a_meeting(client, factory, api_token, weekly_rome):
    s, key = weekly_rome["series"], weekly_rome["meetings"][0]["key"]
    hr = factory.person("hr@example.com", role="hr_admin")
    for headers, status in ((api_token(weekly_rome["report"].email), 403), (api_token(hr.email), 403), ({}, 401)):
        for action, body in (("move", {"starts_at": at(weekly_rome["monday"], 16, 0, ROME)}), ("cancel", {}),
                             ("restore", {})):
            response = change(client, headers, s["id"], key, action, **body)
            assert response.status_code == status, (action, headers, response.get_json())
    report_says = change(client, api_token(weekly_rome["report"].email), s["id"], key, "cancel").get_json()
    assert report_says["error"]["message"] == "Only the manager can change the schedule."


def test_a_move_onto_another_one_on_one_is_a_409_naming_it_and_changes_nothing(client, db, factory, weekly_rome):
    s, headers, first = weekly_rome["series"], weekly_rome["headers"], weekly_rome["meetings"]
    colleague = factory.person("colleague@example.com", name="Carla Neri", manager=weekly_rome["manager"])
    create(client, headers, colleague, cadence="weekly", starts_at=at(weekly_rome["monday"], 14, 0, ROME))
    clash = change(client, headers, s["id"], first[0]["key"], "move",
                   starts_at=at(weekly_rome["monday"], 14, 30, ROME))
    assert clash.status_code == 409
    assert "Carla Neri" in clash.get_json()["error"]["message"]
    assert change(client, headers, s["id"], first[0]["key"], "cancel").status_code == 200
    # Its usual time is taken meanwhile: putting it back there is refused too.
    other = meetings(client, headers, s["id"] + 1, weekly_rome["monday"].isoformat(),
                     weekly_rome["monday"].isoformat())[0]
    moved = change(client, headers, s["id"] + 1, other["key"], "move", starts_at=first[0]["starts_at"])
    assert moved.status_code == 200
    assert change(client, headers, s["id"], first[0]["key"], "restore").status_code == 409
    assert _outbox(db) == ["oneonone_cancelled", "oneonone_moved"]


def test_a_meeting_of_an_ended_series_cannot_be_changed(client, weekly_rome):
    s, headers, first = weekly_rome["series"], weekly_rome["headers"], weekly_rome["meetings"]
    series = get_series(s["id"], weekly_rome["manager"], datetime.now(UTC))
    end_series(series, weekly_rome["manager"], datetime.fromisoformat(first[2]["starts_at"]))
    response = change(client, headers, s["id"], first[0]["key"], "cancel")
    assert response.status_code == 409 and response.get_json()["error"]["message"] == (
        "This one-on-one series has ended.")
    assert change(client, headers, s["id"], first[3]["key"], "restore").status_code == 409


@pytest.mark.parametrize(("body", "field"), [
    ({"starts_at": "tomorrow"}, "starts_at"), ({"starts_at": "2030-03-04T10:00:00"}, "starts_at"),
    ({"starts_at": "9999-12-31T23:00:00-14:00"}, "starts_at"),
    ({"starts_at": "0001-01-01T00:30:00+14:00"}, "starts_at"),
    ({"starts_at": 20300304}, "starts_at"), ({}, "starts_at"),
    ({"starts_at": "2030-03-04T10:00:00+01:00", "duration_minutes": 5}, "duration_minutes"),
    ({"starts_at": "2030-03-04T10:00:00+01:00", "duration_minutes": True}, "duration_minutes"),
    ({"starts_at": "2030-03-04T10:00:00+01:00", "duration_minutes": "60"}, "duration_minutes"),
    ({"starts_at": "2030-03-04T10:00:00+01:00", "room": "B"}, "room"),
])
def test_a_bad_move_is_a_422_naming_the_field_and_changes_nothing(client, db, weekly_rome, body, field):
    s, key = weekly_rome["series"], weekly_rome["meetings"][0]["key"]
    response = client.post(f"/api/v1/one-on-ones/{s['id']}/occurrences/{key}/move", headers=weekly_rome["headers"],
                           json=body)
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"], response.get_json()
    assert meetings(client, weekly_rome["headers"], s["id"], weekly_rome["monday"].isoformat(),
                    weekly_rome["monday"].isoformat())[0]["status"] == "scheduled"
    assert _outbox(db) == []


@pytest.mark.parametrize("key", ["99991231T230000Z", "00010101T000000Z", "20300304T100000", "%C2%B2", "x" * 500])
def test_a_key_no_meeting_can_have_is_a_404_not_a_500(client, weekly_rome, key):
    s, headers = weekly_rome["series"], weekly_rome["headers"]
    assert client.get(f"/api/v1/one-on-ones/{s['id']}/occurrences/{key}", headers=headers).status_code == 404
    for action in ("cancel", "restore"):
        assert change(client, headers, s["id"], key, action).status_code == 404


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "9999-12-30"}, "from"), ({"to": "9999-12-31"}, "to"), ({"from": "0001-01-01"}, "from"),
    ({"from": "9999-12-31T23:00:00-14:00"}, "from"), ({"to": "0001-01-01T00:30:00+14:00"}, "to"),
    ({"from": "2030-02-30"}, "from"), ({"from": "2030-03-04T10:00:00"}, "from"),
])
def test_occurrence_bounds_outside_the_supported_years_are_a_422_naming_them(client, weekly_rome, query, field):
    response = client.get(f"/api/v1/one-on-ones/{weekly_rome['series']['id']}/occurrences",
                          headers=weekly_rome["headers"], query_string=query)
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"], response.get_json()


@pytest.mark.parametrize("starts_at", ["9999-12-31T23:00:00-14:00", "0001-01-01T00:30:00+14:00"])
def test_a_new_series_at_the_edge_of_time_is_a_422_naming_starts_at(client, pair, starts_at):
    _manager, report, headers = pair(ROME)
    response = client.post("/api/v1/one-on-ones", headers=headers,
                           json={"report_email": report.email, "cadence": "weekly", "starts_at": starts_at})
    assert response.status_code == 422 and "starts_at" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(("field", "value"), [("duration_minutes", "٦٠"), ("duration_minutes", "1_0"),
                                              ("duration_minutes", "9" * 5000), ("start_time", "25:00"),
                                              ("starts_on", "2030-02-30"), ("report_id", "²")])
def test_the_schedule_form_reads_with_the_same_readers(client, auth, pair, field, value):
    manager, report, _headers = pair(ROME)
    auth.login(manager.email)
    data = {"report_id": str(report.id), "cadence": "weekly", "starts_on": "2030-03-04", "start_time": "10:00",
            "duration_minutes": "60", "timezone": ROME, field: value}
    response = client.post("/one-on-ones/new", data=data)
    assert response.status_code == 422, (field, value)
    assert client.get("/one-on-ones/new?report=%C2%B2").status_code == 200


def test_the_change_endpoints_answer_as_the_document_says(client, weekly_rome):
    """Each new or changed operation's answers validate against the OpenAPI document, for each status."""
    document = client.get("/api/v1/openapi.json").get_json()
    s, headers, first = weekly_rome["series"], weekly_rome["headers"], weekly_rome["meetings"]
    feeds.revoke_feed(weekly_rome["manager"])
    base = f"/api/v1/one-on-ones/{s['id']}/occurrences"
    calls = [
        ("/one-on-ones/{series_id}/occurrences/{key}/move", change(
            client, headers, s["id"], first[0]["key"], "move",
            starts_at=at(weekly_rome["monday"] + timedelta(days=1), 15, 0, ROME))),
        ("/one-on-ones/{series_id}/occurrences/{key}/move", change(client, headers, s["id"], first[0]["key"],
                                                                   "move", starts_at="x")),
        ("/one-on-ones/{series_id}/occurrences/{key}/move", client.post(f"{base}/{first[0]['key']}/move",
                                                                        headers=headers, data="x")),
        ("/one-on-ones/{series_id}/occurrences/{key}/cancel", change(client, headers, s["id"], first[2]["key"],
                                                                     "cancel")),
        ("/one-on-ones/{series_id}/occurrences/{key}/cancel", change(client, headers, s["id"], "nope", "cancel")),
        ("/one-on-ones/{series_id}/occurrences/{key}/restore", change(client, headers, s["id"], first[2]["key"],
                                                                      "restore")),
        ("/one-on-ones/{series_id}/occurrences", client.get(base, headers=headers,
                                                            query_string={"from": "9999-12-30"})),
        ("/me/calendar", client.get("/api/v1/me/calendar", headers=headers)),
        ("/me/calendar", client.post("/api/v1/me/calendar", headers=headers)),
        ("/me/calendar", client.get("/api/v1/me/calendar", headers=headers)),
    ]
    for path, response in calls:
        method = response.request.method.lower()
        operation = document["paths"][path][method]
        described = operation["responses"]
        assert str(response.status_code) in described, (path, response.status_code, response.get_json())
        schema = described[str(response.status_code)]["content"]["application/json"]["schema"]
        validator = jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})
        assert validator.is_valid(response.get_json()), (path, response.status_code, response.get_json())
    statuses = [response.status_code for _path, response in calls]
    assert statuses == [200, 422, 400, 200, 404, 200, 422, 404, 201, 200]
