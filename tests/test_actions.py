"""Action plans: who plans and sees them, their figures through the guard, significance, reminders, the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import tasks
from actions import figures, reminders, services
from actions.models import Action, ActionUpdate
from audit.models import AuditEvent
from errors import Forbidden, NotFound, ValidationError
from mail.models import OutboxMessage
from oneonones.models import AgendaItem
from oneonones.series import create_series
from scoring import compare, compare_favorability
from surveys import answering, building, invitations
from surveys.models import Round
from tests.conftest import PASSWORD, axe_violations

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def login(client, email: str) -> None:
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302


@pytest.fixture
def org(factory):
    """Dora directs Ann's and Bob's teams (8 each) and six people of her own; HR outside."""
    hr = factory.person("hr@example.com", role="hr_admin", name="Hana HR")
    dora = factory.person("dora@example.com", name="Dora Director")
    ann = factory.person("ann@example.com", name="Ann Lead", manager=dora)
    bob = factory.person("bob@example.com", name="Bob Lead", manager=dora)
    teams = {"ann": [factory.person(f"a{i}@example.com", manager=ann) for i in range(8)],
             "bob": [factory.person(f"b{i}@example.com", manager=bob) for i in range(8)],
             "dora": [ann, bob] + [factory.person(f"d{i}@example.com", manager=dora) for i in range(6)]}
    return {"hr": hr, "dora": dora, "ann": ann, "bob": bob, "teams": teams, "others": [hr, dora]}


def _round(db, survey, org, opens_at: datetime, answers) -> Round:
    """Open a round at ``opens_at``; ``answers(team, index)`` gives (eNPS, Likert) or None (no answer); close it."""
    round_id = tasks.tick(opens_at).pulses.opened[0]
    q = {question.kind: question.id for question in survey.questions}
    groups = {**org["teams"], "others": org["others"]}
    for team, people in groups.items():
        for index, person in enumerate(people):
            given = answers(team, index)
            if given is None:
                continue
            answering.submit_response(invitations.invitation_for(person, round_id),
                                      {q["enps"]: given[0], q["likert"]: given[1]}, opens_at + timedelta(hours=1))
    round_ = db.session.get(Round, round_id)
    tasks.tick(round_.closes_at)
    db.session.refresh(round_)
    return round_


@pytest.fixture
def survey(org, db):
    return building.create_survey({"title": "Pulse", "cadence": "weekly", "starts_on": "2026-03-02",
                                   "questions": [{"library_key": "enps", "required": True},
                                                 {"library_key": "workload_manageable", "required": True}]}, NOW)


@pytest.fixture
def baseline(db, survey, org):
    """Round 1: everyone answers eNPS 6 and workload 2 (unfavorable)."""
    return _round(db, survey, org, NOW, lambda team, i: (6, 2))


def _likert(survey) -> int:
    return next(q.id for q in survey.questions if q.kind == "likert")


def _plan(org, survey, who="hr", **values):
    data = {"title": "Fewer meetings", "survey_id": survey.id, "question_id": _likert(survey),
            "owner_email": "ann@example.com", **values}
    return services.create_action(org[who], data, NOW + timedelta(days=6))


@pytest.fixture
def later(db, survey, org, baseline):
    """Actions planned after round 1; round 2: Ann's team all favorable, Bob's one more; round 3: Ann's team 3
    answers (hidden), Bob's as in round 2."""
    ann_action = _plan(org, survey, manager_id=org["ann"].id)
    bob_action = _plan(org, survey, manager_id=org["bob"].id, owner_email="bob@example.com")
    enps_action = _plan(org, survey, question_id=None, manager_id=org["ann"].id, title="Career paths")

    def second(team, i):
        if team == "ann":
            return (10, 5)
        if team == "bob":
            return (6, 5 if i == 0 else 2)
        return (6, 2)

    def third(team, i):
        if team == "ann":
            return (10, 5) if i < 3 else None
        return second(team, i)

    rounds = [baseline, _round(db, survey, org, NOW + WEEK, second), _round(db, survey, org, NOW + 2 * WEEK, third)]
    return {"ann": ann_action, "bob": bob_action, "enps": enps_action, "rounds": rounds}


# --- planning and who may --------------------------------------------------------------------------


def test_an_action_takes_the_latest_closed_round_as_its_baseline_and_is_audited(db, org, survey, baseline):
    action = _plan(org, survey, manager_id=org["ann"].id)
    assert action.baseline_round_id == baseline.id and action.status == "planned"
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "action.created"))
    assert event.target_id == action.id and event.actor_id == org["hr"].id


def test_a_manager_plans_for_their_own_team_only(db, org, survey, baseline):
    assert _plan(org, survey, who="ann", manager_id=org["ann"].id).manager_id == org["ann"].id
    with pytest.raises(Forbidden):
        _plan(org, survey, who="ann", manager_id=org["bob"].id)
    with pytest.raises(Forbidden):
        _plan(org, survey, who="ann")  # the whole company
    # Dora manages both teams
    assert _plan(org, survey, who="dora", manager_id=org["bob"].id).manager_id == org["bob"].id


def test_an_employee_cannot_plan(client, org, survey, baseline):
    with pytest.raises(Forbidden):
        services.create_action(org["teams"]["ann"][0], {"title": "x"}, NOW)
    login(client, "a0@example.com")
    assert client.get("/actions/new").status_code == 403


def test_bad_values_name_their_field_and_store_nothing(db, org, survey, baseline):
    with pytest.raises(ValidationError) as refused:
        services.create_action(org["hr"], {"title": "", "survey_id": survey.id, "question_id": 999999,
                                           "owner_email": "nobody@example.com", "status": "someday",
                                           "department_id": 1, "manager_id": org["ann"].id}, NOW)
    assert set(refused.value.fields) >= {"title", "question_id", "owner_email", "status", "manager_id"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Action)) == 0


def test_employees_see_their_teams_and_the_companys_actions_never_another_teams(client, db, org, survey, baseline):
    ours = _plan(org, survey, manager_id=org["ann"].id, title="Ann team action")
    theirs = _plan(org, survey, manager_id=org["bob"].id, title="Bob team action")
    company = _plan(org, survey, title="Company action")
    employee = org["teams"]["ann"][0]
    assert {a.id for a in services.visible_actions(employee)} == {ours.id, company.id}
    with pytest.raises(NotFound):
        services.get_action(theirs.id, employee)
    login(client, employee.email)
    page = client.get("/actions").get_data(as_text=True)
    assert "Ann team action" in page and "Company action" in page and "Bob team action" not in page
    assert client.get(f"/actions/{theirs.id}").status_code == 404
    assert client.get(f"/actions/{ours.id}").status_code == 200
    # read-only: no form to change it
    assert client.post(f"/actions/{ours.id}/updates", data={"note": "x", "status": "done"}).status_code == 403


def test_the_owner_and_the_teams_manager_change_it_and_each_change_is_kept(db, org, survey, baseline):
    action = _plan(org, survey, manager_id=org["ann"].id, owner_email="a1@example.com")
    owner = org["teams"]["ann"][1]
    services.update_action(action, owner, {"status": "in_progress", "note": "Started"}, NOW + timedelta(days=8))
    services.update_action(action, org["dora"], {"due_on": "2026-05-01"}, NOW + timedelta(days=9))
    with pytest.raises(Forbidden):
        services.update_action(action, org["bob"], {"status": "done"}, NOW)
    update = db.session.scalar(sa.select(ActionUpdate))
    assert (update.from_status, update.to_status, update.body, update.author_id) == (
        "planned", "in_progress", "Started", owner.id)
    assert action.due_on == date(2026, 5, 1)
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "action.updated")) == 2


# --- figures ------------------------------------------------------------------------------------


def test_a_big_change_is_beyond_noise_and_a_small_one_within_it_by_the_scoring_test(db, org, later):
    hr = org["hr"]
    ann = figures.figures(later["ann"], hr)
    assert [f.shown for f in ann] == [True, True, False]
    assert (ann[0].value, ann[1].value) == (0.0, 100.0)
    change = figures.change(later["ann"], ann)
    expected = compare_favorability([0, 8, 0, 0, 0], [0, 0, 0, 0, 8])
    assert change.significant and change.p_value == pytest.approx(expected.p_value)
    assert change.to_round_id == later["rounds"][1].id  # the latest round shown

    bob = figures.figures(later["bob"], hr)
    small = figures.change(later["bob"], bob)
    expected = compare_favorability([0, 8, 0, 0, 0], [0, 7, 0, 0, 1])
    assert not small.significant and small.p_value == pytest.approx(expected.p_value)
    assert small.delta == pytest.approx(12.5)


def test_an_enps_action_uses_the_enps_test(db, org, later):
    shown = figures.figures(later["enps"], org["hr"])
    change = figures.change(later["enps"], shown)
    expected = compare(shown[0].enps, shown[1].enps)
    assert (change.delta, change.p_value, change.significant) == (expected.delta, expected.p_value,
                                                                  expected.significant)
    assert change.significant  # 0 → +100 over eight answers


def test_the_interval_holds_the_value(db, org, later):
    for f in figures.figures(later["bob"], org["hr"]):
        if f.shown:
            assert 0 <= f.ci_low <= f.value <= f.ci_high <= 100


def test_a_hidden_round_carries_its_reason_and_no_number(client, db, org, later, api_token):
    hidden = figures.figures(later["ann"], org["hr"])[2]
    assert (hidden.shown, hidden.reason, hidden.value, hidden.n, hidden.ci_low) == (False, "below_k", None, None, None)
    body = client.get(f"/api/v1/actions/{later['ann'].id}", headers=api_token("hr@example.com")).get_json()
    last = body["figures"][2]
    assert last == {"round_id": later["rounds"][2].id, "closes_on": last["closes_on"], "baseline": False,
                    "suppressed": True, "reason": "below_k"}
    assert body["change_significant"] is True
    login(client, "hr@example.com")
    page = client.get(f"/actions/{later['ann'].id}").get_data(as_text=True)
    assert "Hidden: fewer than 5 responses." in page and "Changed beyond noise: +100 percentage points" in page
    assert "<td>100 %</td>" in page and "Overdue" not in page


def test_the_page_says_within_noise_in_words(client, org, later):
    login(client, "bob@example.com")
    page = client.get(f"/actions/{later['bob'].id}").get_data(as_text=True)
    assert "Within noise" in page and "Changed beyond noise" not in page


def test_an_employee_sees_their_teams_action_but_not_its_figures(client, db, org, later):
    shown = figures.figures(later["ann"], org["teams"]["ann"][0])
    assert all(not f.shown and f.reason == figures.NOT_YOURS and f.value is None for f in shown)
    assert figures.change(later["ann"], shown) is None
    login(client, "a0@example.com")
    page = client.get(f"/actions/{later['ann'].id}").get_data(as_text=True)
    assert "Not shown to you" in page and "100 %" not in page


# --- from the results page, into one-on-ones, reminders ------------------------------------------


def test_the_results_page_links_each_driver_to_a_prefilled_plan(client, org, survey, baseline):
    login(client, "ann@example.com")
    page = client.get("/results").get_data(as_text=True)
    link = f"/actions/new?survey={survey.id}&amp;question={_likert(survey)}&amp;team={org['ann'].id}"
    assert link in page
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert f'<option selected value="team:{org["ann"].id}">' in form
    assert f'<option selected value="{_likert(survey)}">' in form


def test_planning_through_the_page(client, db, org, survey, baseline):
    login(client, "ann@example.com")
    response = client.post("/actions/new", data={
        "survey": survey.id, "title": "Quiet Fridays", "question": _likert(survey), "group": f"team:{org['ann'].id}",
        "owner_email": "ann@example.com", "due_on": "2026-04-01", "status": "planned"})
    assert response.status_code == 302
    action = db.session.scalar(sa.select(Action))
    assert (action.title, action.manager_id, action.question_id) == ("Quiet Fridays", org["ann"].id, _likert(survey))
    refused = client.post("/actions/new", data={"survey": survey.id, "title": "X", "question": "",
                                                "group": f"team:{org['bob'].id}", "owner_email": "ann@example.com",
                                                "status": "planned"})
    assert refused.status_code == 403


def test_the_owner_posts_an_update_and_changes_the_action_through_the_pages(client, db, org, survey, baseline):
    action = _plan(org, survey, manager_id=org["ann"].id, owner_email="a2@example.com")
    login(client, "a2@example.com")
    client.post(f"/actions/{action.id}/updates", data={"note": "Booked the room", "status": "in_progress"})
    response = client.post(f"/actions/{action.id}/edit", data={
        "title": "Fewer, shorter meetings", "description": "", "owner_email": "a2@example.com",
        "due_on": "2026-06-30", "status": "done"})
    assert response.status_code == 302
    page = client.get(f"/actions/{action.id}").get_data(as_text=True)
    assert "Booked the room" in page and "Fewer, shorter meetings" in page
    assert [(u.from_status, u.to_status) for u in action.updates] == [("planned", "in_progress"),
                                                                       ("in_progress", "done")]
    refused = client.post(f"/actions/{action.id}/edit", data={"title": "X", "owner_email": "ghost@example.com",
                                                              "status": "done"})
    assert refused.status_code == 422 and "No active person has this e-mail address." in refused.get_data(as_text=True)


def test_the_owner_raises_it_in_their_next_one_on_one(client, db, org, survey, baseline):
    now = datetime.now(UTC)
    series = create_series(org["ann"], {"report_email": "a0@example.com", "cadence": "weekly",
                                        "starts_at": (now + timedelta(days=2)).replace(microsecond=0).isoformat()},
                           now)
    action = _plan(org, survey, manager_id=org["ann"].id)
    login(client, "ann@example.com")
    response = client.post(f"/actions/{action.id}/raise")
    assert response.status_code == 302 and f"/one-on-ones/{series.id}/meetings/" in response.headers["Location"]
    item = db.session.scalar(sa.select(AgendaItem))
    assert item.text == "Action: Fewer meetings" and item.author_id == org["ann"].id
    client.post("/logout")
    login(client, "bob@example.com")  # not the owner
    assert client.post(f"/actions/{action.id}/raise").status_code in (403, 404)


def test_an_overdue_action_reminds_its_owner_once_a_day(db, org, survey, baseline):
    action = _plan(org, survey, manager_id=org["ann"].id, due_on="2026-03-20")
    assert reminders.tick(datetime(2026, 3, 20, 12, tzinfo=UTC))["overdue_action_reminders"] == 0  # due today
    day = datetime(2026, 3, 21, 9, tzinfo=UTC)
    assert tasks.tick(day).actions["overdue_action_reminders"] == 1
    assert tasks.tick(day + timedelta(hours=3)).actions["overdue_action_reminders"] == 0
    messages = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "action_overdue")).all()
    assert len(messages) == 1 and messages[0].to_address == "ann@example.com"
    assert "Fewer meetings" in messages[0].subject and "%" not in messages[0].body_text
    assert reminders.tick(day + timedelta(days=1))["overdue_action_reminders"] == 1  # the next day
    services.update_action(action, org["hr"], {"status": "done"}, day)
    assert reminders.tick(day + timedelta(days=2))["overdue_action_reminders"] == 0


# --- the API ---------------------------------------------------------------------------------------


def test_the_api_creates_lists_and_changes_actions(client, db, org, survey, baseline, api_token):
    hr = api_token("hr@example.com")
    body = {"title": "Lunch and learn", "survey_id": survey.id, "question_id": _likert(survey),
            "manager_id": org["bob"].id, "owner_email": "bob@example.com", "due_on": "2026-04-30"}
    created = client.post("/api/v1/actions", json=body, headers=hr)
    assert created.status_code == 201, created.get_json()
    action = created.get_json()
    assert action["baseline_round_id"] == baseline.id and action["figures"][0]["baseline"] is True
    assert action["change_significant"] is None
    listed = client.get("/api/v1/actions", headers=api_token("b0@example.com")).get_json()["items"]
    assert [a["id"] for a in listed] == [action["id"]]
    assert client.get("/api/v1/actions", headers=api_token("a0@example.com")).get_json()["items"] == []
    patched = client.patch(f"/api/v1/actions/{action['id']}", json={"status": "in_progress", "note": "Booked"},
                           headers=api_token("bob@example.com"))
    assert patched.status_code == 200
    assert patched.get_json()["status"] == "in_progress"
    assert patched.get_json()["updates"][0]["to_status"] == "in_progress"


def test_the_api_refuses_bad_input_naming_the_field_and_stores_nothing(client, db, org, survey, baseline,
                                                                        api_token):
    hr = api_token("hr@example.com")
    cases = [({"title": "T", "survey_id": "1", "owner_email": "ann@example.com"}, "survey_id"),
             ({"title": "T", "survey_id": survey.id, "owner_email": "ghost@example.com"}, "owner_email"),
             ({"title": "T", "survey_id": survey.id, "owner_email": "ann@example.com", "status": "maybe"}, "status"),
             ({"title": "T", "survey_id": survey.id, "owner_email": "ann@example.com", "colour": "red"}, "colour"),
             ({"title": "T", "survey_id": survey.id, "owner_email": "ann@example.com", "due_on": "soon"}, "due_on")]
    for body, name in cases:
        response = client.post("/api/v1/actions", json=body, headers=hr)
        assert response.status_code == 422, (body, response.get_json())
        assert name in response.get_json()["error"]["fields"], (body, response.get_json())
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Action)) == 0
    manager = api_token("ann@example.com")
    assert client.post("/api/v1/actions", json={"title": "T", "survey_id": survey.id, "owner_email": "ann@example.com",
                                                "manager_id": org["bob"].id}, headers=manager).status_code == 403
    action = _plan(org, survey, manager_id=org["ann"].id)
    response = client.patch(f"/api/v1/actions/{action.id}", json={"survey_id": 2}, headers=hr)
    assert response.status_code == 422 and "survey_id" in response.get_json()["error"]["fields"]
    assert client.patch(f"/api/v1/actions/{action.id}", json={"status": "done"},
                        headers=api_token("a0@example.com")).status_code == 403


def test_the_model_matches_the_migration(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert [d for d in diff if "action" in repr(d)] == []


# --- in a browser --------------------------------------------------------------------------------


PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}


def _sign_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _check_pages(page, paths) -> dict:
    problems = {}
    for path in paths:
        assert page.goto(path).status == 200, path
        for size in (DESKTOP, PHONE):
            page.set_viewport_size(size)
            if found := axe_violations(page):
                problems[(path, size["width"])] = found
            if size == PHONE and page.evaluate("document.documentElement.scrollWidth") > size["width"]:
                problems[(path, size["width"])] = "scrolls sideways"
        page.set_viewport_size(DESKTOP)
    return problems


@pytest.mark.browser
def test_action_pages_pass_axe_at_desktop_and_phone_width(page, db, org, later):
    _sign_in(page, "hr@example.com")
    ann = later["ann"].id
    assert _check_pages(page, ["/actions", f"/actions/{ann}", f"/actions/{ann}/edit", "/actions/new",
                               f"/actions/new?survey={later['ann'].survey_id}&team={org['ann'].id}"]) == {}
    page.get_by_label("Title").fill("Walking meetings")
    page.get_by_label("Owner's e-mail").fill("ann@example.com")
    page.get_by_role("button", name="Plan the action").click()
    page.get_by_role("heading", name="Walking meetings").wait_for()
    assert page.console_errors == [] and page.foreign_requests == []


@pytest.mark.browser
def test_the_employees_view_passes_axe(page, db, org, later):
    _sign_in(page, "a0@example.com")
    assert _check_pages(page, ["/actions", f"/actions/{later['ann'].id}"]) == {}
    assert page.console_errors == []
