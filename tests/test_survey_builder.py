"""HR builds surveys: the rules hold the same on the page and through the API."""

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

import tasks
from errors import Conflict, ValidationError
from surveys import building, periodic, rounds
from surveys.models import LibraryQuestion, Question, Survey

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def tick(now, **kwargs):
    """The surveys' periodic work, storing each closed round's results as ``tasks.tick`` does."""
    return periodic.tick(now, on_close=tasks.store_results, **kwargs)


def likert(n: int) -> list[dict]:
    return [{"kind": "likert", "text": f"Statement {i}"} for i in range(n)]


def count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_library_is_seeded_by_migration_in_both_languages(db):
    questions = db.session.scalars(sa.select(LibraryQuestion)).all()
    assert sum(q.kind == "enps" for q in questions) == 1
    drivers = {q.driver for q in questions if q.kind == "likert"}
    assert len([q for q in questions if q.kind == "likert"]) >= 12
    assert {"recognition", "growth", "manager_support", "workload", "wellbeing", "alignment", "belonging",
            "autonomy", "communication"} <= drivers
    assert all(q.text_en and q.text_it and q.text_en != q.text_it for q in questions)


def test_create_survey_from_the_library(db):
    survey = building.create_survey({"title": "Weekly pulse", "cadence": "weekly", "starts_on": "2026-03-09",
                                     "questions": [{"library_key": "enps", "required": True},
                                                   {"library_key": "workload_manageable"}]}, NOW)
    assert [q.kind for q in survey.questions] == ["enps", "likert"]
    assert survey.questions[0].text_it.startswith("Con quale probabilità")
    assert survey.questions[0].required and survey.min_group_size == 5
    assert (survey.starts_on, survey.open_days, survey.remind_days_before_close) == (date(2026, 3, 9), 5, 2)


@pytest.mark.parametrize(("data", "field"), [
    ({"questions": likert(11)}, "questions"),
    ({"questions": [{"library_key": "enps"}, {"kind": "enps", "text": "Again?"}]}, "questions"),
    ({"questions": []}, "questions"),
    ({"questions": [{"kind": "choice", "text": "Pick", "options": ["only one"]}]}, "questions.0.options"),
    ({"questions": [{"kind": "choice", "text": "Pick", "options": ["a", "A"]}]}, "questions.0.options"),
    ({"questions": [{"kind": "likert", "text": "x", "options": ["a", "b"]}]}, "questions.0.options"),
    ({"questions": [{"kind": "rating", "text": "x"}]}, "questions.0.kind"),
    ({"questions": [{"kind": "likert", "text": " "}]}, "questions.0.text"),
    ({"questions": [{"kind": "likert", "text": "x" * 301}]}, "questions.0.text"),
    ({"questions": [{"library_key": "nope"}]}, "questions.0.library_key"),
    ({"questions": [{"kind": "likert", "text": "x", "required": "yes"}]}, "questions.0.required"),
    ({"title": ""}, "title"),
    ({"cadence": "daily"}, "cadence"),
    ({"starts_on": "next monday"}, "starts_on"),
    ({"min_group_size": 2}, "min_group_size"),
    ({"min_group_size": 11}, "min_group_size"),
    ({"min_group_size": 5.5}, "min_group_size"),
    ({"open_days": 0}, "open_days"),
    ({"cadence": "weekly", "open_days": 8}, "open_days"),
    ({"open_days": 3, "remind_days_before_close": 3}, "remind_days_before_close"),
    ({"audience_department_id": 999}, "audience_department_id"),
])
def test_bad_survey_is_refused_naming_the_field_and_stores_nothing(db, data, field):
    body = {"title": "Pulse", "cadence": "weekly", "questions": likert(2)} | data
    with pytest.raises(ValidationError) as error:
        building.create_survey(body, NOW)
    assert field in error.value.fields
    assert count(db, Survey) == 0 and count(db, Question) == 0


def test_api_refuses_an_eleventh_question_with_422(client, factory, api_token, db):
    factory.person("hr@example.com", role="hr_admin")
    response = client.post("/api/v1/surveys", headers=api_token("hr@example.com"),
                           json={"title": "Too long", "cadence": "weekly", "questions": likert(11)})
    assert response.status_code == 422
    assert "questions" in response.get_json()["error"]["fields"]
    assert count(db, Survey) == 0


def test_api_creates_a_survey_and_opens_a_round(client, factory, api_token):
    factory.person("hr@example.com", role="hr_admin")
    factory.person("e@example.com")
    headers = api_token("hr@example.com")
    created = client.post("/api/v1/surveys", headers=headers, json={
        "title": "Pulse", "cadence": "once", "min_group_size": 3,
        "questions": [{"kind": "enps", "text": "Recommend us?", "required": True},
                      {"kind": "choice", "text": "Office?", "options": ["Milan", "Rome"]}]})
    assert created.status_code == 201
    body = created.get_json()
    assert [q["kind"] for q in body["questions"]] == ["enps", "choice"] and body["min_group_size"] == 3
    opened = client.post(f"/api/v1/surveys/{body['id']}/rounds", headers=headers)
    assert opened.status_code == 201 and opened.get_json()["invited"] == 2
    again = client.post(f"/api/v1/surveys/{body['id']}/rounds", headers=headers)
    assert again.status_code == 409


def test_questions_can_be_added_reordered_and_removed_before_the_first_round(db):
    survey = building.create_survey({"title": "P", "cadence": "weekly", "questions": likert(2)}, NOW)
    building.add_question(survey, {"library_key": "enps"})
    enps_id = survey.questions[2].id
    building.move_question(survey, enps_id, -1)
    building.move_question(survey, enps_id, -1)
    assert [q.kind for q in survey.questions] == ["enps", "likert", "likert"]
    assert [q.position for q in survey.questions] == [1, 2, 3]
    building.remove_question(survey, survey.questions[1].id)
    db.session.expire_all()
    assert [(q.position, q.text) for q in survey.questions] == [(1, survey.questions[0].text), (2, "Statement 1")]


def test_adding_a_second_enps_or_an_eleventh_question_is_refused(db):
    survey = building.create_survey({"title": "P", "cadence": "weekly",
                                     "questions": [{"library_key": "enps"}, *likert(9)]}, NOW)
    with pytest.raises(ValidationError) as error:
        building.add_question(survey, {"kind": "likert", "text": "One too many"})
    assert "questions" in error.value.fields
    building.remove_question(survey, survey.questions[-1].id)
    with pytest.raises(ValidationError) as error:
        building.add_question(survey, {"kind": "enps", "text": "Again"})
    assert "question.kind" in error.value.fields
    assert len(survey.questions) == 9


def test_questions_and_group_size_lock_once_a_round_opens(db, factory):
    factory.person("e@example.com")
    survey = building.create_survey({"title": "P", "cadence": "weekly", "questions": likert(2)}, NOW)
    rounds.open_round_now(survey, NOW)
    with pytest.raises(Conflict):
        building.add_question(survey, {"kind": "likert", "text": "Late"})
    with pytest.raises(Conflict):
        building.move_question(survey, survey.questions[1].id, -1)
    with pytest.raises(ValidationError) as error:
        building.update_survey(survey, {"min_group_size": 3}, NOW)
    assert "min_group_size" in error.value.fields
    building.update_survey(survey, {"title": "Renamed"}, NOW)
    assert survey.title == "Renamed" and survey.min_group_size == 5


def test_archived_survey_opens_no_more_rounds(db, factory):
    factory.person("e@example.com")
    survey = building.create_survey({"title": "P", "cadence": "weekly", "starts_on": "2026-03-02",
                                     "questions": likert(1)}, NOW)
    building.archive_survey(survey)
    assert tick(NOW).opened == []
    with pytest.raises(Conflict):
        rounds.open_round_now(survey, NOW)


@pytest.fixture
def hr(factory, auth):
    person = factory.person("hr@example.com", role="hr_admin")
    auth.login("hr@example.com")
    return person


def test_hr_creates_a_survey_on_the_page(client, hr, db):
    response = client.post("/surveys/new", data={
        "title": "Team pulse", "cadence": "biweekly", "starts_on": "2026-03-09", "open_days": "5",
        "remind_days_before_close": "2", "audience_department_id": "0", "min_group_size": "6",
        "library_keys": ["enps", "growth_learning", "wellbeing_balance"]})
    assert response.status_code == 302
    survey = db.session.scalar(sa.select(Survey))
    assert (survey.title, survey.cadence, survey.min_group_size) == ("Team pulse", "biweekly", 6)
    assert [q.library_key for q in survey.questions] == ["enps", "growth_learning", "wellbeing_balance"]
    assert survey.questions[0].required


def test_page_refuses_eleven_library_questions_and_stores_nothing(client, hr, db):
    keys = [q.key for q in building.library()][:11]
    response = client.post("/surveys/new", data={
        "title": "Too many", "cadence": "weekly", "starts_on": "2026-03-09", "open_days": "5",
        "remind_days_before_close": "2", "audience_department_id": "0", "min_group_size": "5",
        "library_keys": keys})
    assert response.status_code == 200
    assert b"A survey has at most 10 questions." in response.data
    assert count(db, Survey) == 0


def test_hr_adds_a_custom_choice_question_and_reorders_on_the_page(client, hr, db):
    survey = building.create_survey({"title": "P", "cadence": "weekly", "questions": likert(1)}, NOW)
    client.post(f"/surveys/{survey.id}/questions", data={
        "q-kind": "choice", "q-text": "Where do you work?", "q-options": "Milan\nRome\n", "q-submit": "1"})
    db.session.expire_all()
    added = survey.questions[1]
    assert (added.kind, added.options) == ("choice", ["Milan", "Rome"])
    client.post(f"/surveys/{survey.id}/questions/{added.id}/up")
    db.session.expire_all()
    assert [q.kind for q in survey.questions] == ["choice", "likert"]
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert "Where do you work?" in page and "Milan, Rome" in page


def test_hr_archives_on_the_page(client, hr, db):
    survey = building.create_survey({"title": "P", "cadence": "weekly", "questions": likert(1)}, NOW)
    client.post(f"/surveys/{survey.id}/archive")
    db.session.refresh(survey)
    assert survey.status == "archived"
    assert "Archived" in client.get("/surveys").get_data(as_text=True)


JUST_AFTER_MIDNIGHT_IN_ROME = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 00:30 on 3 March in Rome


def test_a_new_survey_without_a_start_date_starts_today_in_its_time_zone_not_in_utc(db):
    survey = building.create_survey({"title": "P", "cadence": "weekly", "questions": likert(1)},
                                    JUST_AFTER_MIDNIGHT_IN_ROME)
    assert (survey.timezone, survey.starts_on) == ("Europe/Rome", date(2026, 3, 3))
    later = building.create_survey({"title": "Q", "cadence": "weekly", "questions": likert(1),
                                    "timezone": "America/New_York"}, JUST_AFTER_MIDNIGHT_IN_ROME)
    assert later.starts_on == date(2026, 3, 2)  # 18:30 on 2 March in New York
    building.update_survey(survey, {"starts_on": ""}, JUST_AFTER_MIDNIGHT_IN_ROME)
    assert survey.starts_on == date(2026, 3, 3)


def test_the_new_survey_page_offers_today_in_the_hr_persons_time_zone(client, hr, db, monkeypatch):
    from surveys import views

    monkeypatch.setattr(views, "_now", lambda: JUST_AFTER_MIDNIGHT_IN_ROME)
    page = client.get("/surveys/new").get_data(as_text=True)
    assert 'value="2026-03-03"' in page
    hr.timezone = "America/New_York"
    db.session.commit()
    assert 'value="2026-03-02"' in client.get("/surveys/new").get_data(as_text=True)


def test_a_survey_is_in_the_configured_time_zone_unless_given_one(app, db):
    app.config["POLSO_DEFAULT_TIMEZONE"] = "Asia/Tokyo"
    created = building.create_survey({"title": "P", "cadence": "weekly", "questions": likert(1)},
                                     JUST_AFTER_MIDNIGHT_IN_ROME)
    assert (created.timezone, created.starts_on) == ("Asia/Tokyo", date(2026, 3, 3))
    bare = Survey(title="Bare", cadence="once", starts_on=date(2026, 3, 3))
    db.session.add(bare)
    db.session.commit()
    assert bare.timezone == "Asia/Tokyo"


def test_creating_changing_a_survey_and_opening_a_round_are_in_the_audit_log(client, hr, factory, db):
    from audit.models import AuditEvent

    factory.person("e@example.com")
    settings = {"cadence": "weekly", "starts_on": "2026-03-02", "open_days": "5", "remind_days_before_close": "2",
                "audience_department_id": "0", "min_group_size": "5"}
    response = client.post("/surveys/new", data={**settings, "title": "Pulse", "library_keys": ["enps"]})
    assert response.status_code == 302
    survey = db.session.scalar(sa.select(Survey))
    assert client.post(f"/surveys/{survey.id}", data={**settings, "title": "Weekly pulse"}).status_code == 302
    client.post(f"/surveys/{survey.id}/open-round", data={"confirm": "yes"})
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action != "signin.password")
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_email) for e in events] == [
        ("survey.created", "hr@example.com"), ("survey.updated", "hr@example.com"),
        ("round.opened", "hr@example.com")]
    assert "title" in events[1].summary and "invited" in events[2].summary
    assert "e@example.com" not in " ".join(e.summary for e in events)  # a count, never who was invited


def test_a_round_polso_opens_on_schedule_is_in_the_audit_log_as_automatic(db, factory):
    from audit.models import AuditEvent

    factory.person("e@example.com")
    survey = building.create_survey({"title": "P", "cadence": "weekly", "questions": [{"library_key": "enps"}]},
                                    NOW)
    rounds.open_round_now(survey, NOW)
    event = db.session.scalars(sa.select(AuditEvent)).one()  # created by a command: no survey.created
    assert (event.action, event.actor_id) == ("round.opened", None)
