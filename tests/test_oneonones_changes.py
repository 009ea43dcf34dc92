"""One-on-ones: removing agenda and action items added by mistake, and e-mail to the report about changes."""

import time as time_module
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

import tasks
from errors import Conflict, Forbidden, NotFound
from mail.models import OutboxMessage
from oneonones import agenda as agenda_service
from oneonones import meetings
from oneonones.agenda import (
    add_action_item,
    add_agenda_item,
    agenda,
    delete_agenda_item,
    toggle_action_item,
    toggle_agenda_item,
)
from oneonones.meetings import cancel_occurrence, move_occurrence, restore_occurrence
from oneonones.models import ActionItem, AgendaItem, Series
from oneonones.occurrences import find_occurrence, next_occurrence, occurrences
from oneonones.series import create_series, end_series, pause_series, resume_series, update_series
from people.models import Person
from tests.conftest import run_concurrently

ROME, NEW_YORK = "Europe/Rome", "America/New_York"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FIRST = datetime(2025, 3, 10, 10, tzinfo=ZoneInfo(ROME))  # a Monday: 05:00 in New York


@pytest.fixture
def team(factory):
    boss = factory.person("boss@example.com", name="Bianca Boss")
    manager = factory.person("marta@example.com", name="Marta Galli", manager=boss, locale="en")
    return {
        "manager": manager,
        "report": factory.person("enzo@example.com", name="Enzo Fontana", manager=manager, locale="en",
                                 timezone=NEW_YORK),
        "colleague": factory.person("carla@example.com", name="Carla Neri", manager=manager),
        "other_manager": factory.person("olga@example.com", name="Olga Verdi", manager=boss),
        "hr": factory.person("hr@example.com", name="Helena HR", role="hr_admin"),
    }


def weekly(manager, report, when=FIRST, now=NOW):
    return create_series(manager, {"report_email": report.email, "cadence": "weekly",
                                            "starts_at": when.isoformat()}, now)


def soon(team):
    """A series whose first meeting is in three days, for pages and the API (which use the real clock)."""
    now = datetime.now(UTC)
    day = (now + timedelta(days=3)).astimezone(ZoneInfo(ROME)).date()
    series = weekly(team["manager"], team["report"], datetime.combine(day, time(10), ZoneInfo(ROME)), now)
    return series, next_occurrence(series, now), now


def meeting_url(series, occurrence) -> str:
    return f"/one-on-ones/{series.id}/meetings/{occurrence.key}"


def api_meeting(client, headers, series, occurrence) -> dict:
    response = client.get(f"/api/v1/one-on-ones/{series.id}/occurrences/{occurrence.key}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def outbox(db) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def plain(text: str) -> str:
    return text.replace("\u202f", " ")  # CLDR puts a narrow no-break space before AM/PM


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- Removing agenda and action items -------------------------------------------------------


def test_the_author_removes_their_agenda_item_and_it_is_gone_from_the_page_and_the_api(
        team, client, auth, api_token, db):
    series, meeting, now = soon(team)
    item = add_agenda_item(series, meeting, team["report"], "Career goals", now)
    add_agenda_item(series, meeting, team["manager"], "Holiday plan", now)
    auth.login("enzo@example.com")
    page = client.get(meeting_url(series, meeting)).get_data(as_text=True)
    assert "Remove: Career goals" in page and "Remove: Holiday plan" not in page
    assert 'data-confirm="Remove “Career goals”? This cannot be undone."' in page

    response = client.post(f"{meeting_url(series, meeting)}/agenda/{item.id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("#agenda")
    page = client.get(meeting_url(series, meeting)).get_data(as_text=True)
    assert "Removed: “Career goals”." in page
    assert page.count("Career goals") == 1  # only in the message saying it was removed
    assert [a["text"] for a in api_meeting(client, api_token("enzo@example.com"), series, meeting)["agenda"]] == [
        "Holiday plan"]
    assert db.session.get(AgendaItem, item.id) is None


def test_the_author_removes_their_action_item_through_the_api(team, client, api_token, db):
    series, meeting, now = soon(team)
    item = add_action_item(series, meeting, team["manager"],
                                    {"text": "Book a course", "owner_id": team["report"].id}, now)
    headers = api_token("marta@example.com")
    assert [a["id"] for a in api_meeting(client, headers, series, meeting)["action_items"]] == [item.id]
    url = f"/api/v1/one-on-ones/{series.id}/action-items/{item.id}"
    response = client.delete(url, headers=headers)
    assert response.status_code == 204 and response.data == b""
    assert api_meeting(client, headers, series, meeting)["action_items"] == []
    again = client.delete(url, headers=headers)
    assert again.status_code == 404 and again.get_json()["error"]["code"] == "not_found"
    assert count(db, ActionItem) == 0


def test_the_author_removes_their_action_item_from_the_page(team, client, auth, db):
    series, meeting, now = soon(team)
    item = add_action_item(series, meeting, team["report"],
                                    {"text": "Draft the plan", "owner_id": team["report"].id}, now)
    auth.login("enzo@example.com")
    assert "Remove: Draft the plan" in client.get(meeting_url(series, meeting)).get_data(as_text=True)
    response = client.post(f"{meeting_url(series, meeting)}/actions/{item.id}/delete", follow_redirects=True)
    assert response.status_code == 200
    assert "Removed: “Draft the plan”." in response.get_data(as_text=True)
    assert count(db, ActionItem) == 0


def test_the_other_person_in_the_one_on_one_cannot_remove_an_item(team, client, auth, api_token, db):
    series, meeting, now = soon(team)
    agenda_item = add_agenda_item(series, meeting, team["report"], "Career goals", now)
    action = add_action_item(series, meeting, team["report"],
                                      {"text": "Draft the plan", "owner_id": team["manager"].id}, now)
    auth.login("marta@example.com")
    page = client.get(meeting_url(series, meeting)).get_data(as_text=True)
    assert "Remove: Career goals" not in page and "Remove: Draft the plan" not in page
    refused = client.post(f"{meeting_url(series, meeting)}/agenda/{agenda_item.id}/delete")
    assert refused.status_code == 403
    assert "Only Enzo Fontana, who added this item, can remove it." in refused.get_data(as_text=True)
    assert client.post(f"{meeting_url(series, meeting)}/actions/{action.id}/delete").status_code == 403
    headers = api_token("marta@example.com")
    for path in (f"agenda-items/{agenda_item.id}", f"action-items/{action.id}"):
        response = client.delete(f"/api/v1/one-on-ones/{series.id}/{path}", headers=headers)
        assert response.status_code == 403
        assert response.get_json()["error"] == {"code": "forbidden", "message":
                                                "Only Enzo Fontana, who added this item, can remove it."}
    assert (count(db, AgendaItem), count(db, ActionItem)) == (1, 1)


@pytest.mark.parametrize("outsider", ["colleague", "other_manager", "hr"])
def test_people_outside_the_one_on_one_cannot_remove_its_items(team, client, auth, api_token, db, outsider):
    series, meeting, now = soon(team)
    agenda_item = add_agenda_item(series, meeting, team["report"], "Career goals", now)
    action = add_action_item(series, meeting, team["manager"],
                                      {"text": "Book a course", "owner_id": team["report"].id}, now)
    auth.login(team[outsider].email)
    assert client.post(f"{meeting_url(series, meeting)}/agenda/{agenda_item.id}/delete").status_code == 403
    assert client.post(f"{meeting_url(series, meeting)}/actions/{action.id}/delete").status_code == 403
    headers = api_token(team[outsider].email)
    for path in (f"agenda-items/{agenda_item.id}", f"action-items/{action.id}"):
        assert client.delete(f"/api/v1/one-on-ones/{series.id}/{path}", headers=headers).status_code == 403
    with pytest.raises(Forbidden):
        delete_agenda_item(series, team[outsider], agenda_item.id)
    assert (count(db, AgendaItem), count(db, ActionItem)) == (1, 1)


def test_a_ticked_off_item_cannot_be_removed(team, client, auth, api_token, db):
    series, meeting, now = soon(team)
    agenda_item = add_agenda_item(series, meeting, team["report"], "Career goals", now)
    toggle_agenda_item(series, meeting, team["manager"], agenda_item.id, now)
    action = add_action_item(series, meeting, team["report"],
                                      {"text": "Draft the plan", "owner_id": team["report"].id}, now)
    toggle_action_item(series, team["report"], action.id, now)
    auth.login("enzo@example.com")
    assert "Remove: Career goals" not in client.get(meeting_url(series, meeting)).get_data(as_text=True)
    refused = client.post(f"{meeting_url(series, meeting)}/agenda/{agenda_item.id}/delete")
    assert refused.status_code == 409
    assert "This item is ticked off; reopen it first if you want to remove it." in refused.get_data(as_text=True)
    assert client.post(f"{meeting_url(series, meeting)}/actions/{action.id}/delete").status_code == 409
    headers = api_token("enzo@example.com")
    for path in (f"agenda-items/{agenda_item.id}", f"action-items/{action.id}"):
        response = client.delete(f"/api/v1/one-on-ones/{series.id}/{path}", headers=headers)
        assert response.status_code == 409 and response.get_json()["error"]["code"] == "conflict"
    db.session.expire_all()
    assert db.session.get(AgendaItem, agenda_item.id).done_occurrence == meeting.original_start
    assert db.session.get(ActionItem, action.id).done_at is not None


def test_a_reopened_item_can_be_removed_again(team, db):
    series = weekly(team["manager"], team["report"])
    meeting = next_occurrence(series, NOW)
    item = add_agenda_item(series, meeting, team["report"], "Career goals", NOW)
    toggle_agenda_item(series, meeting, team["report"], item.id, NOW)
    with pytest.raises(Conflict):
        delete_agenda_item(series, team["report"], item.id)
    toggle_agenda_item(series, meeting, team["report"], item.id, NOW)
    delete_agenda_item(series, team["report"], item.id)
    assert count(db, AgendaItem) == 0


def test_removing_a_carried_over_item_takes_it_off_every_meeting_and_the_rest_carries_over_as_before(team):
    series = weekly(team["manager"], team["report"])
    first, second, third = occurrences(series, NOW, NOW + timedelta(days=30))[:3]
    career = add_agenda_item(series, first, team["report"], "Career goals", NOW)
    holiday = add_agenda_item(series, first, team["manager"], "Holiday plan", NOW)
    add_agenda_item(series, second, team["report"], "Conference budget", NOW)
    toggle_agenda_item(series, second, team["report"], holiday.id, NOW)

    def texts(occurrence):
        return [(r.item.text, r.carried, r.done_here, r.done_later) for r in agenda(series, occurrence)]

    assert ("Career goals", True, False, False) in texts(second)
    delete_agenda_item(series, team["report"], career.id)  # from the second meeting, where it carried over
    assert texts(first) == [("Holiday plan", False, False, True)]
    assert texts(second) == [("Holiday plan", True, True, False), ("Conference budget", False, False, False)]
    assert texts(third) == [("Conference budget", True, False, False)]


def test_a_removed_item_never_reappears_after_a_cancelled_meeting_or_a_schedule_change(team):
    series = weekly(team["manager"], team["report"])
    first = next_occurrence(series, NOW)
    mistake = add_agenda_item(series, first, team["report"], "Typo", NOW)
    add_agenda_item(series, first, team["report"], "Promotion", NOW)
    cancel_occurrence(series, team["manager"], first.key, NOW)
    later = datetime(2025, 3, 11, tzinfo=UTC)
    current = update_series(series, team["manager"], {
        "cadence": "weekly", "starts_on": date(2025, 3, 20), "start_time": time(9), "timezone": ROME}, later)
    following = next_occurrence(current, later)
    assert [r.item.text for r in agenda(current, following)] == ["Typo", "Promotion"]
    delete_agenda_item(current, team["report"], mistake.id)  # added under the old schedule
    assert [r.item.text for r in agenda(current, following)] == ["Promotion"]
    assert [r.item.text for r in agenda(series, first)] == ["Promotion"]


def test_an_item_of_another_one_on_one_is_not_found(team, client, auth, api_token, db):
    series, meeting, now = soon(team)
    other = weekly(team["manager"], team["colleague"], datetime.combine(
        meeting.starts_at.date(), time(16), ZoneInfo(ROME)), now)
    theirs = add_agenda_item(other, next_occurrence(other, now), team["manager"], "Carla's", now)
    with pytest.raises(NotFound):
        delete_agenda_item(series, team["manager"], theirs.id)
    auth.login("marta@example.com")
    assert client.post(f"{meeting_url(series, meeting)}/agenda/{theirs.id}/delete").status_code == 404
    response = client.delete(f"/api/v1/one-on-ones/{series.id}/agenda-items/{theirs.id}",
                             headers=api_token("marta@example.com"))
    assert response.status_code == 404
    assert count(db, AgendaItem) == 1


def test_nothing_can_be_removed_once_the_reporting_line_changed(team, db):
    series = weekly(team["manager"], team["report"])
    meeting = next_occurrence(series, NOW)
    item = add_agenda_item(series, meeting, team["report"], "Career goals", NOW)
    team["report"].manager_id = team["other_manager"].id
    db.session.commit()
    with pytest.raises(Forbidden):
        delete_agenda_item(series, team["report"], item.id)
    assert count(db, AgendaItem) == 1


# --- Telling the report about changes --------------------------------------------------------


def test_moving_a_meeting_emails_the_report_once_with_both_times_in_their_time_zone(team, db):
    series = weekly(team["manager"], team["report"])
    meeting = next_occurrence(series, NOW)
    move_occurrence(series, team["manager"], meeting.key,
                             {"starts_at": "2025-03-11T15:00:00+01:00", "duration_minutes": 30}, NOW)
    [message] = outbox(db)
    assert (message.to_address, message.kind) == ("enzo@example.com", "oneonone_moved")
    assert plain(message.subject) == "One-on-one with Marta Galli moved to Mar 11, 2025 at 10:00 AM"
    assert plain(message.body_text).startswith(
        "Hello Enzo Fontana,\n\nMarta Galli moved your one-on-one from Monday, March 10, 2025, 5:00 AM–6:00 AM "
        "(America/New_York) to Tuesday, March 11, 2025, 10:00 AM–10:30 AM (America/New_York).")
    link = f"http://localhost/one-on-ones/{series.id}/meetings/{meeting.key}"
    assert link in message.body_text and f'href="{link}"' in message.body_html
    assert message.dedupe_key and message.next_attempt_at == NOW


def test_sending_the_move_back_unchanged_queues_nothing(team, db):
    series = weekly(team["manager"], team["report"])
    meeting = next_occurrence(series, NOW)
    move_occurrence(series, team["manager"], meeting.key, {"starts_at": FIRST.isoformat()}, NOW)
    assert outbox(db) == []
    moved = move_occurrence(series, team["manager"], meeting.key,
                                     {"starts_at": "2025-03-11T15:00:00+01:00"}, NOW)
    move_occurrence(series, team["manager"], meeting.key,
                             {"starts_at": "2025-03-11T15:00:00+01:00"}, NOW + timedelta(minutes=1))
    assert [m.kind for m in outbox(db)] == ["oneonone_moved"] and moved.status == "moved"


def test_cancelling_a_meeting_emails_the_report_once(team, db):
    series = weekly(team["manager"], team["report"])
    meeting = next_occurrence(series, NOW)
    cancel_occurrence(series, team["manager"], meeting.key, NOW)
    cancel_occurrence(series, team["manager"], meeting.key, NOW + timedelta(minutes=1))
    [message] = outbox(db)
    assert (message.to_address, message.kind) == ("enzo@example.com", "oneonone_cancelled")
    assert plain(message.subject) == "One-on-one with Marta Galli on Mar 10, 2025 cancelled"
    assert ("Marta Galli cancelled your one-on-one on Monday, March 10, 2025, 5:00 AM–6:00 AM (America/New_York). "
            "Open agenda items carry over to the next meeting.") in plain(message.body_text)
    assert f"/one-on-ones/{series.id}/meetings/{meeting.key}" in message.body_text


def test_putting_a_meeting_back_emails_the_report(team, db):
    series = weekly(team["manager"], team["report"])
    first, second = occurrences(series, NOW, NOW + timedelta(days=30))[:2]
    cancel_occurrence(series, team["manager"], first.key, NOW)
    restore_occurrence(series, team["manager"], first.key, NOW + timedelta(minutes=1))
    move_occurrence(series, team["manager"], second.key, {"starts_at": "2025-03-18T15:00:00+01:00"},
                             NOW + timedelta(minutes=2))
    restore_occurrence(series, team["manager"], second.key, NOW + timedelta(minutes=3))
    restore_occurrence(series, team["manager"], second.key, NOW + timedelta(minutes=4))  # no change
    messages = outbox(db)
    assert [m.kind for m in messages] == ["oneonone_cancelled", "oneonone_reinstated", "oneonone_moved",
                                          "oneonone_moved"]
    assert ("Marta Galli put back your one-on-one that was cancelled: it takes place on Monday, March 10, 2025, "
            "5:00 AM–6:00 AM (America/New_York).") in plain(messages[1].body_text)
    assert ("from Tuesday, March 18, 2025, 10:00 AM–11:00 AM (America/New_York) to Monday, March 17, 2025, "
            "5:00 AM–6:00 AM (America/New_York)") in plain(messages[3].body_text)


def test_pausing_resuming_and_ending_the_series_email_the_report_once_each(team, db):
    series = weekly(team["manager"], team["report"])
    pause_series(series, team["manager"], NOW)
    pause_series(series, team["manager"], NOW + timedelta(minutes=1))
    resumed_at = datetime(2025, 3, 12, tzinfo=UTC)
    resume_series(series, team["manager"], resumed_at)
    resume_series(series, team["manager"], resumed_at + timedelta(minutes=1))
    end_series(series, team["manager"], datetime(2025, 3, 20, tzinfo=UTC))
    with pytest.raises(Conflict):
        end_series(series, team["manager"], datetime(2025, 3, 21, tzinfo=UTC))
    paused, resumed, ended = outbox(db)
    assert [m.kind for m in (paused, resumed, ended)] == ["oneonone_paused", "oneonone_resumed", "oneonone_ended"]
    assert {m.to_address for m in (paused, resumed, ended)} == {"enzo@example.com"}
    assert plain(paused.subject) == "One-on-ones with Marta Galli paused"
    assert ("Marta Galli paused your one-on-ones: there are no meetings until they are resumed. The meeting on "
            "Monday, March 10, 2025, 5:00 AM–6:00 AM (America/New_York) does not take place.") in plain(
        paused.body_text)
    assert ("Marta Galli resumed your one-on-ones. The next meeting is on Monday, March 17, 2025, 5:00 AM–6:00 AM "
            "(America/New_York).") in plain(resumed.body_text)
    assert ("The meeting on Monday, March 24, 2025, 5:00 AM–6:00 AM (America/New_York) and the ones after it do "
            "not take place.") in plain(ended.body_text)
    assert all(m.body_text.endswith(f"http://localhost/one-on-ones/{series.id}") for m in (paused, resumed, ended))


def test_ending_during_a_meeting_names_the_next_one_as_called_off(team, db):
    series = weekly(team["manager"], team["report"])
    end_series(series, team["manager"], datetime(2025, 3, 10, 9, 30, tzinfo=UTC))  # mid-meeting
    [ended] = outbox(db)
    assert "The meeting on Monday, March 17, 2025, 5:00 AM–6:00 AM (America/New_York) and the ones after" in plain(
        ended.body_text)


def test_the_email_is_in_the_reports_language(team, db):
    team["report"].locale = "it"
    db.session.commit()
    series = weekly(team["manager"], team["report"])
    cancel_occurrence(series, team["manager"], next_occurrence(series, NOW).key, NOW)
    [message] = outbox(db)
    assert "10 mar 2025" in message.subject
    assert message.body_text.startswith("Gentile Enzo Fontana,")
    assert "lunedì 10 marzo 2025, 05:00–06:00 (America/New_York)" in message.body_text
    assert "Apra l'incontro:" in message.body_text
    assert '<html lang="it">' in message.body_html and "Apra l'incontro" in message.body_html
    assert "Monday" not in message.body_text and "March" not in message.body_text


def test_a_refused_change_queues_no_email(team, db):
    weekly(team["manager"], team["colleague"], datetime(2025, 3, 11, 15, tzinfo=ZoneInfo(ROME)))
    series = weekly(team["manager"], team["report"])
    meeting = next_occurrence(series, NOW)
    with pytest.raises(Conflict):
        move_occurrence(series, team["manager"], meeting.key,
                                 {"starts_at": "2025-03-11T15:30:00+01:00"}, NOW)
    with pytest.raises(Forbidden):
        cancel_occurrence(series, team["report"], meeting.key, NOW)
    assert outbox(db) == []


def test_the_page_forms_email_the_report_once_per_change_and_never_when_nothing_changed(team, client, auth, db):
    series, meeting, _now = soon(team)
    base = meeting_url(series, meeting)
    local = meeting.starts_at.astimezone(ZoneInfo(ROME))
    auth.login("marta@example.com")
    unchanged = {"move-starts_on": local.date().isoformat(), "move-start_time": local.strftime("%H:%M"),
                 "move-duration_minutes": "60"}
    assert client.post(base + "/move", data=unchanged).status_code == 302
    assert client.post(f"/one-on-ones/{series.id}/edit", data={
        "cadence": "weekly", "starts_on": local.date().isoformat(), "start_time": local.strftime("%H:%M"),
        "duration_minutes": "60", "timezone": ROME}).status_code == 302
    assert outbox(db) == []
    assert client.post(base + "/move", data={**unchanged, "move-start_time": "15:00"}).status_code == 302
    assert client.post(base + "/move", data={**unchanged, "move-start_time": "15:00"}).status_code == 302
    assert client.post(base + "/cancel").status_code == 302
    assert client.post(base + "/cancel").status_code == 302
    for action in ("pause", "pause", "resume", "resume", "end", "end"):
        assert client.post(f"/one-on-ones/{series.id}/{action}").status_code == 302
    assert [m.kind for m in outbox(db)] == ["oneonone_moved", "oneonone_cancelled", "oneonone_paused",
                                            "oneonone_resumed", "oneonone_ended"]
    assert {m.to_address for m in outbox(db)} == {"enzo@example.com"}


def test_change_emails_are_sent_by_tick(team, smtp, db):
    series = weekly(team["manager"], team["report"])
    cancel_occurrence(series, team["manager"], next_occurrence(series, NOW).key, NOW)
    tasks.tick(NOW)
    tasks.tick(NOW + timedelta(minutes=5))
    [message] = smtp.messages
    assert message["To"] == "enzo@example.com"
    assert plain(message["Subject"]) == "One-on-one with Marta Galli on Mar 10, 2025 cancelled"


@pytest.mark.browser
def test_the_browser_asks_before_removing_an_item(team, page, db):
    from tests.conftest import PASSWORD, axe_violations

    series, meeting, now = soon(team)
    add_agenda_item(series, meeting, team["report"], "Career goals", now)
    page.goto("/login")
    page.get_by_label("E-mail").fill("enzo@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Welcome", exact=False).wait_for()
    page.goto(meeting_url(series, meeting))
    assert axe_violations(page) == []
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Remove: Career goals").click()
    page.wait_for_timeout(300)
    assert asked == ["Remove “Career goals”? This cannot be undone."]
    assert count(db, AgendaItem) == 1
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove: Career goals").click()
    page.get_by_text("Removed: “Career goals”.").wait_for()
    assert page.get_by_role("button", name="Remove: Career goals").count() == 0
    assert count(db, AgendaItem) == 0
    assert page.console_errors == [] and page.foreign_requests == []


# --- Two people acting on the same thing at the same moment --------------------------------------


def _at_once(app, db, *calls):
    """Run ``calls`` (each given a fresh app context) at the same moment; their results or error names."""
    db.session.commit()
    db.session.close()  # the test's own connection out of the way (SQLite would see it as a reader)

    def run(call):
        def inner():
            with app.app_context():
                try:
                    return call()
                except Conflict as error:
                    return f"409 {error.message}"
        return inner

    return run_concurrently(*(run(call) for call in calls))


def test_two_cancels_of_one_moved_meeting_at_once_tell_the_report_once(app, team, db, monkeypatch):
    series = weekly(team["manager"], team["report"])
    key = next_occurrence(series, NOW).key
    move_occurrence(series, team["manager"], key, {"starts_at": "2025-03-11T15:00:00+01:00"}, NOW)
    series_id, manager_id = series.id, team["manager"].id
    find = find_occurrence

    def slow_find(*args):  # each request reads the meeting, then dawdles before changing it
        found = find(*args)
        time_module.sleep(0.3)
        return found

    monkeypatch.setattr(meetings, "find_occurrence", slow_find)

    def cancel(at):  # two clicks, a moment apart
        return lambda: cancel_occurrence(
            db.session.get(Series, series_id), db.session.get(Person, manager_id), key, at).status

    first, second = NOW + timedelta(seconds=1), NOW + timedelta(seconds=2)
    # The later finds it cancelled already.
    assert _at_once(app, db, cancel(first), cancel(second)) == ["cancelled", "cancelled"]
    assert [m.kind for m in outbox(db)] == ["oneonone_moved", "oneonone_cancelled"]


def test_two_new_schedules_submitted_at_once_make_one_change_and_one_clear_refusal(app, team, db):
    series = weekly(team["manager"], team["report"])
    series_id, manager_id = series.id, team["manager"].id
    later = NOW + timedelta(days=20)  # the series has started: a new schedule makes a follower series

    def reschedule():
        current = update_series(db.session.get(Series, series_id), db.session.get(Person, manager_id),
                                         {"cadence": "biweekly", "starts_at": "2025-04-01T16:00:00+02:00"}, later)
        return "ok" if current.id != series_id else "unchanged"

    results = sorted(_at_once(app, db, reschedule, reschedule))
    assert results == ["409 This one-on-one series has ended.", "ok"]
    assert count(db, Series) == 2
    assert [m.kind for m in outbox(db)] == ["oneonone_rescheduled"]


def test_ticking_an_item_removed_a_moment_before_is_not_found_not_a_crash(team, db, monkeypatch):
    series = weekly(team["manager"], team["report"])
    meeting = next_occurrence(series, NOW)
    agenda_item = add_agenda_item(series, meeting, team["report"], "Conference budget", NOW)
    action = add_action_item(series, meeting, team["manager"],
                                      {"text": "Book the flight", "owner_id": team["report"].id}, NOW)
    read_item = agenda_service.pair_item

    def and_meanwhile_it_is_removed(model, series_, item_id):
        item = read_item(model, series_, item_id)
        with db.engine.begin() as other:
            other.execute(sa.delete(model).where(model.id == item_id))
        return item

    monkeypatch.setattr(agenda_service, "pair_item", and_meanwhile_it_is_removed)
    with pytest.raises(NotFound, match="removed meanwhile"):
        toggle_agenda_item(series, meeting, team["manager"], agenda_item.id, NOW)
    with pytest.raises(NotFound, match="removed meanwhile"):
        toggle_action_item(series, team["report"], action.id, NOW)
    assert count(db, AgendaItem) == 0 and count(db, ActionItem) == 0



def test_a_new_schedule_emails_the_report_once_and_an_unchanged_form_sends_nothing(team, db, client, auth):
    series, meeting, _now = soon(team)
    auth.login("marta@example.com")
    url = f"/one-on-ones/{series.id}/edit"
    local = meeting.starts_at.astimezone(ZoneInfo(ROME))
    form = {"cadence": "weekly", "starts_on": local.date().isoformat(), "start_time": "10:00",
            "duration_minutes": "60", "timezone": ROME}
    unchanged = client.post(url, data=form, follow_redirects=True).get_data(as_text=True)
    assert "Nothing was changed." in unchanged and outbox(db) == []

    moved = client.post(url, data={**form, "cadence": "biweekly", "start_time": "15:30"}, follow_redirects=True)
    assert "Enzo Fontana was told by e-mail" in moved.get_data(as_text=True)
    [message] = outbox(db)
    assert (message.to_address, message.kind) == ("enzo@example.com", "oneonone_rescheduled")
    assert plain(message.subject) == "One-on-ones with Marta Galli: new schedule"
    # 15:30 in Rome is 9:30 in New York (the report's time zone) on the days both keep the same offset
    assert "Marta Galli changed the schedule of your one-on-ones. The next meeting is on " in message.body_text
    assert "(America/New_York)" in message.body_text
