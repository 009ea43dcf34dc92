"""What a new user meets: empty results, reordering, confirmation pages, and no dead ends (issue 13: 3, 4, 9, 10)."""

import re
import subprocess
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import g

from dashboards import services as dashboards
from oneonones import series as oneonones
from surveys import building, invitations, rounds
from surveys.models import Question, Round, Survey
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[1]


def login(client, email: str) -> None:
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302


def pulse(title: str = "Weekly pulse", questions: int = 3):
    keys = ["enps", "workload_manageable", "recognition_valued", "growth_learning"][:questions]
    return building.create_survey({"title": title, "cadence": "weekly",
                                   "questions": [{"library_key": key} for key in keys]}, datetime.now(UTC))


@pytest.fixture
def hr(factory, client):
    person = factory.person("hr@example.com", name="Hana HR", role="hr_admin")
    login(client, person.email)
    return person


# --- 3: results before there are any ---------------------------------------------------------


def test_results_on_a_fresh_install_say_to_create_a_survey(client, hr):
    response = client.get("/results")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "There are no results to show yet." in html
    assert 'href="/surveys/new"' in html


def test_results_of_a_survey_without_rounds_link_to_opening_one(client, hr):
    survey = pulse()
    html = client.get("/results").get_data(as_text=True)
    assert "has no closed round yet" in html
    assert f'href="/surveys/{survey.id}/open-round"' in html


def test_results_while_the_first_round_is_open_say_when_they_come(client, hr, factory):
    factory.person("ada@example.com")
    survey = pulse()
    rounds.open_round_now(survey, datetime.now(UTC))
    html = client.get(f"/results?survey={survey.id}").get_data(as_text=True)
    assert "is open until" in html and "open-round" not in html


def test_a_manager_without_results_is_told_what_to_expect(client, factory):
    manager = factory.person("manager@example.com")
    factory.person("report@example.com", manager=manager)
    login(client, manager.email)
    response = client.get("/results")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "once HR has run a pulse survey" in html and "/surveys/new" not in html


def test_a_new_survey_without_results_does_not_hide_an_older_one_with_results(client, closed, db):
    pulse("Newer survey")
    login(client, "hr@example.com")
    response = client.get("/results")
    assert response.status_code == 302
    assert f"survey={closed['survey'].id}" in response.headers["Location"]
    assert 'id="headline-score"' in client.get(response.headers["Location"]).get_data(as_text=True)


def test_results_of_an_unknown_survey_are_still_not_found(client, hr):
    assert client.get("/results?survey=999").status_code == 404


# --- 4: reordering ----------------------------------------------------------------------------


def buttons(html: str) -> list[tuple[str, bool]]:
    """(label, disabled) of every move button, in page order."""
    found = re.findall(r'<button class="btn btn-sm btn-outline-secondary" type="submit" aria-label="[^"]*"'
                       r'\s*(disabled)?>(Move \w+)', html)
    return [(label, bool(disabled)) for disabled, label in found]


def test_only_the_first_question_cannot_move_up_and_only_the_last_cannot_move_down(client, hr):
    survey = pulse(questions=3)
    assert buttons(client.get(f"/surveys/{survey.id}").get_data(as_text=True)) == [
        ("Move up", True), ("Move down", False),
        ("Move up", False), ("Move down", False),
        ("Move up", False), ("Move down", True)]


def test_moving_questions_up_and_down_changes_their_order(client, hr, db):
    survey = pulse(questions=3)
    first, second, third = (q.id for q in survey.questions)
    assert client.post(f"/surveys/{survey.id}/questions/{third}/up").status_code == 302
    assert client.post(f"/surveys/{survey.id}/questions/{first}/down").status_code == 302
    order = db.session.scalars(sa.select(Question.id).where(Question.survey_id == survey.id)
                               .order_by(Question.position)).all()
    assert order == [third, first, second]


# --- 9: confirmations -------------------------------------------------------------------------


def test_opening_a_round_is_previewed_with_whom_it_invites_and_the_first_email(client, hr, factory, db):
    factory.person("ada@example.com", name="Ada Lovelace")
    factory.person("bob@example.com", name="Bob")
    survey = pulse()
    html = client.get(f"/surveys/{survey.id}/open-round").get_data(as_text=True)
    assert "3 people will be invited by e-mail now." in html  # HR is an employee too
    assert "Polso Demo pulse survey: Weekly pulse" in html
    assert "Hello " in html and "/s/…" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Round)) == 0
    assert client.post(f"/surveys/{survey.id}/open-round").status_code == 302
    assert db.session.scalar(sa.select(Round.invited_count)) == 3


def test_a_round_that_cannot_open_is_said_so_before_confirming(client, hr, factory):
    factory.person("ada@example.com")
    survey = pulse()
    rounds.open_round_now(survey, datetime.now(UTC))
    html = client.get(f"/surveys/{survey.id}/open-round").get_data(as_text=True)
    assert "This survey already has an open round." in html
    assert re.search(r'<button class="btn btn-primary" type="submit"\s*disabled>', html)


def test_archiving_asks_first_and_unarchiving_brings_the_survey_back(client, hr, db):
    survey = pulse()
    html = client.get(f"/surveys/{survey.id}/archive").get_data(as_text=True)
    assert "No new rounds will open" in html
    db.session.refresh(survey)
    assert survey.status == "active"
    client.post(f"/surveys/{survey.id}/archive")
    db.session.refresh(survey)
    assert survey.status == "archived"
    assert f'href="/surveys/{survey.id}/unarchive"' in client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    client.post(f"/surveys/{survey.id}/unarchive")
    db.session.refresh(survey)
    assert survey.status == "active"


def test_sharing_results_asks_first_then_shares(client, closed):
    login(client, "hr@example.com")
    round_id = closed["round"].id
    html = client.post(f"/results/rounds/{round_id}/share", headers={"Referer": "http://localhost/results?x=1"}
                       ).get_data(as_text=True)
    assert "Share these results with every employee?" in html
    assert 'name="next" value="/results?x=1"' in html
    assert not dashboards.is_shared(round_id)
    response = client.post(f"/results/rounds/{round_id}/share", data={"confirm": "yes", "next": "/results?x=1"})
    assert response.headers["Location"] == "/results?x=1"
    assert dashboards.is_shared(round_id)


def test_ending_a_series_asks_first(client, factory, db):
    manager = factory.person("marta@example.com", name="Marta")
    report = factory.person("enzo@example.com", name="Enzo", manager=manager)
    now = datetime.now(UTC)
    day = (now + timedelta(days=3)).astimezone(ZoneInfo("Europe/Rome")).date()
    series = oneonones.create_series(manager, {"report_email": report.email, "cadence": "weekly", "starts_at":
                                               datetime.combine(day, time(10), ZoneInfo("Europe/Rome")).isoformat()},
                                     now)
    login(client, manager.email)
    assert f'href="/one-on-ones/{series.id}/end"' in client.get(f"/one-on-ones/{series.id}").get_data(as_text=True)
    html = client.get(f"/one-on-ones/{series.id}/end").get_data(as_text=True)
    assert "End the one-on-ones with Enzo?" in html and "cannot be restarted" in html
    db.session.refresh(series)
    assert series.status == "active"
    client.post(f"/one-on-ones/{series.id}/end")
    db.session.refresh(series)
    assert series.status == "ended"
    assert client.get(f"/one-on-ones/{series.id}/end").status_code == 302  # nothing left to confirm


# --- 10: dead ends ----------------------------------------------------------------------------


def test_the_thank_you_page_leads_on_when_signed_in(client, factory):
    ada = factory.person("ada@example.com")
    other = pulse("Another pulse")
    rounds.open_round_now(other, datetime.now(UTC))
    login(client, ada.email)
    html = client.get("/s/thanks").get_data(as_text=True)
    assert "One more survey is waiting for you" in html and "Another pulse" in html
    assert 'href="/"' in html and 'href="/results/shared"' in html


def test_the_thank_you_page_offers_to_sign_in_otherwise(client):
    html = client.get("/s/thanks").get_data(as_text=True)
    assert 'href="/login"' in html


def test_the_navigation_marks_the_current_section(client, hr):
    survey = pulse()
    html = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    current = re.findall(r'<a class="nav-link[^"]*"[^>]*aria-current="page">([^<]+)</a>', html)
    assert current == ["Surveys"]
    html = client.get("/one-on-ones").get_data(as_text=True)
    assert re.findall(r'<a class="nav-link[^"]*"[^>]*aria-current="page">([^<]+)</a>', html) == ["One-on-ones"]
    assert 'class="nav-link active' in html


@pytest.fixture
def development(app):
    app.config["POLSO_ENV"] = "development"


def test_the_login_page_lists_the_demo_logins_in_development(client, factory, development):
    factory.person("hr@polso.example", role="hr_admin")
    html = client.get("/login").get_data(as_text=True)
    assert 'id="demo-logins"' in html and "hr@polso.example" in html and "polso-demo" in html
    assert "employee@polso.example" not in html  # not in this database


def test_the_login_page_lists_no_demo_logins_in_production(client, factory):
    factory.person("hr@polso.example", role="hr_admin")
    assert "polso-demo" not in client.get("/login").get_data(as_text=True)


def test_make_run_takes_host_and_port():
    out = subprocess.run(["make", "-n", "run", "HOST=0.0.0.0", "PORT=8123"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert "--host 0.0.0.0 --port 8123" in out
    assert "Open http://0.0.0.0:8123" in out
    default = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "--host 127.0.0.1 --port 5000" in default


class TestExpiredForms:
    """With CSRF on: a form sent without a valid token comes back as it was typed, and nothing is done."""

    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "WTF_CSRF_ENABLED": True}

    @pytest.fixture(autouse=True)
    def fresh_g(self, app):
        # The app fixture keeps one app context (one ``g``) for the whole test, where each real request has its
        # own: forget the token flask-wtf caches in ``g`` (e-mails rendered in the test set one for no session).
        @app.before_request
        def forget_cached_token():
            g.pop("csrf_token", None)
            g.pop("csrf_valid", None)

    @staticmethod
    def token(client, path: str) -> str:
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                         client.get(path).get_data(as_text=True)).group(1)

    def sign_in(self, client, email):
        response = client.post("/login", data={"email": email, "password": PASSWORD,
                                                "csrf_token": self.token(client, "/login")})
        assert response.status_code == 302

    def test_the_login_form_comes_back_with_the_email(self, client, factory):
        factory.person("a@example.com")
        response = client.post("/login", data={"email": "a@example.com", "password": PASSWORD})
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert 'id="form-expired"' in html and 'value="a@example.com"' in html
        assert PASSWORD not in html
        assert client.get("/").status_code == 302  # still not signed in

    def test_a_new_survey_form_comes_back_filled_in_and_nothing_is_created(self, client, factory, db):
        factory.person("hr@example.com", role="hr_admin")
        self.sign_in(client, "hr@example.com")
        response = client.post("/surveys/new", data={"title": "Typed before lunch", "cadence": "monthly",
                                                      "starts_on": "2026-05-04", "open_days": "5",
                                                      "remind_days_before_close": "2", "audience_department_id": "0",
                                                      "min_group_size": "5", "library_keys": "enps",
                                                      "csrf_token": "expired"})
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "This form had expired" in html and 'value="Typed before lunch"' in html
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Survey)) == 0

    def test_an_action_button_offers_to_send_it_again(self, client, factory, db):
        factory.person("hr@example.com", role="hr_admin")
        survey = pulse()
        self.sign_in(client, "hr@example.com")
        response = client.post(f"/surveys/{survey.id}/archive", data={"csrf_token": "old"})
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "This form has expired" in html and f'action="/surveys/{survey.id}/archive"' in html
        db.session.refresh(survey)
        assert survey.status == "active"
        fresh = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        assert client.post(f"/surveys/{survey.id}/archive", data={"csrf_token": fresh}).status_code == 302
        db.session.refresh(survey)
        assert survey.status == "archived"

    def test_a_survey_answer_comes_back_with_what_was_chosen(self, client, factory, db):
        ada = factory.person("ada@example.com")
        survey = pulse(questions=2)
        round_ = rounds.open_round_now(survey, datetime.now(UTC))
        self.sign_in(client, ada.email)
        enps, likert = (q.id for q in survey.questions)
        response = client.post("/s/answer", data={"round": str(round_.id), f"q{enps}": "7", f"q{likert}": "2"})
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert 'id="form-expired"' in html
        assert re.search(rf'name="q{enps}"[^>]*value="7"[^>]*checked', html)
        assert not invitations.invitation_for(ada, round_.id).answered

    def test_the_api_still_answers_in_json(self, client):
        assert client.post("/api/v1/auth/token", json={}).is_json


def test_sharing_and_unsharing_results_are_in_the_audit_log_and_asking_is_not(client, closed, db):
    import sqlalchemy as sa

    from audit.models import AuditEvent

    login(client, "hr@example.com")
    round_id = closed["round"].id
    client.post(f"/results/rounds/{round_id}/share")  # only asks
    client.post(f"/results/rounds/{round_id}/share", data={"confirm": "yes"})
    client.post(f"/results/rounds/{round_id}/unshare")
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("results.%"))
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["results.shared", "results.unshared"]
