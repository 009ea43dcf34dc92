"""In real Chromium: the empty results page, reordering questions, each confirmation and an expired form (issue 13)."""

import time as time_module
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from dashboards import services as dashboards
from oneonones import series as oneonones
from oneonones.models import Series
from surveys import building, invitations, rounds
from surveys.models import Question, Round, Survey
from tests.conftest import PASSWORD, axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}  # as in production: every form carries its token


def sign_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: not url.endswith("/login"))


def pulse(questions: int = 3, title: str = "Weekly pulse") -> Survey:
    keys = ["enps", "workload_manageable", "recognition_valued", "growth_learning"][:questions]
    return building.create_survey({"title": title, "cadence": "weekly",
                                   "questions": [{"library_key": key} for key in keys]}, datetime.now(UTC))


@pytest.fixture
def hr(factory):
    return factory.person("hr@example.com", name="Hana HR", role="hr_admin")


def test_results_on_a_fresh_install_say_what_to_do(page, hr):
    sign_in(page, hr.email)
    page.get_by_role("link", name="Results", exact=True).click()
    page.get_by_role("heading", name="Results", exact=True).wait_for()
    expect(page.get_by_text("There are no results to show yet.")).to_be_visible()
    expect(page.get_by_role("link", name="Results", exact=True)).to_have_attribute("aria-current", "page")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Create a pulse survey").click()
    page.get_by_role("heading", name="New pulse survey").wait_for()
    assert page.console_errors == []


def test_reordering_moves_questions_up_and_down(page, hr, db):
    survey = pulse(questions=3)
    texts = ["How likely are you to recommend", "My workload is manageable.", "I receive recognition"]
    ids = [q.id for q in survey.questions]
    sign_in(page, hr.email)
    page.goto(f"/surveys/{survey.id}")
    expect(page.get_by_role("button", name="Move up: question 1")).to_be_disabled()
    expect(page.get_by_role("button", name="Move down: question 3")).to_be_disabled()
    expect(page.get_by_role("button", name="Move up: question 3")).to_be_enabled()
    expect(page.get_by_role("button", name="Move down: question 1")).to_be_enabled()

    page.get_by_role("button", name="Move up: question 3").click()  # third goes second
    page.get_by_role("button", name="Move down: question 1").click()  # first goes second
    items = page.locator("#questions ol > li")
    expect(items.nth(0)).to_contain_text(texts[2])
    expect(items.nth(1)).to_contain_text(texts[0])
    expect(items.nth(2)).to_contain_text(texts[1])
    db.session.expire_all()
    assert db.session.scalars(sa.select(Question.id).where(Question.survey_id == survey.id)
                              .order_by(Question.position)).all() == [ids[2], ids[0], ids[1]]
    assert axe_violations(page) == []


def count_rounds(db) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Round))


def test_opening_a_round_shows_whom_it_invites_and_the_email_then_opens_it(page, hr, factory, db):
    factory.person("ada@example.com", name="Ada")
    survey = pulse()
    sign_in(page, hr.email)
    page.goto(f"/surveys/{survey.id}")
    page.get_by_role("link", name="Open a round now…").click()
    expect(page.locator("#invite-count")).to_contain_text("2 people will be invited by e-mail now.")
    expect(page.locator("#mail-subject")).to_have_text("Polso Demo pulse survey: Weekly pulse")
    expect(page.locator("#mail-text")).to_contain_text("A new pulse survey is open: Weekly pulse.")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("heading", name="Weekly pulse").wait_for()
    assert count_rounds(db) == 0

    page.get_by_role("link", name="Open a round now…").click()
    page.get_by_role("button", name="Open the round and send the invitations").click()
    expect(page.get_by_role("status").filter(has_text="A round is open; 2 people were invited.")).to_be_visible()
    assert count_rounds(db) == 1
    assert page.console_errors == []


def test_the_round_confirmation_works_without_javascript(browser, live_server, hr, factory, db):
    factory.person("ada@example.com")
    survey = pulse()
    context = browser.new_context(base_url=live_server, java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    try:
        sign_in(page, hr.email)
        page.goto(f"/surveys/{survey.id}/open-round")
        page.get_by_role("button", name="Open the round and send the invitations").click()
        page.get_by_role("heading", name="Weekly pulse").wait_for()
        assert count_rounds(db) == 1
    finally:
        context.close()


def survey_status(db, survey) -> str:
    db.session.expire_all()
    return db.session.get(Survey, survey.id).status


def test_archiving_asks_first_and_can_be_undone(page, hr, db):
    survey = pulse()
    sign_in(page, hr.email)
    page.goto(f"/surveys/{survey.id}")
    page.get_by_role("link", name="Archive…").click()
    page.get_by_role("heading", name="Archive “Weekly pulse”?").wait_for()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("heading", name="Weekly pulse").wait_for()
    assert survey_status(db, survey) == "active"

    page.get_by_role("link", name="Archive…").click()
    page.get_by_role("button", name="Archive the survey").click()
    expect(page.get_by_text("The survey was archived")).to_be_visible()
    assert survey_status(db, survey) == "archived"

    page.get_by_role("link", name="Unarchive…").click()
    page.get_by_role("link", name="Cancel").click()
    assert survey_status(db, survey) == "archived"
    page.get_by_role("link", name="Unarchive…").click()
    page.get_by_role("button", name="Unarchive the survey").click()
    expect(page.get_by_text("The survey is active again")).to_be_visible()
    assert survey_status(db, survey) == "active"


def test_sharing_results_with_every_employee_asks_first(page, closed):
    round_id = closed["round"].id
    sign_in(page, "hr@example.com")
    page.goto("/results")
    share = page.get_by_role("button", name="Share the latest round (company level) with all employees")
    share.click()
    page.get_by_role("heading", name="Share these results with every employee?").wait_for()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url("**/results*")
    assert not dashboards.is_shared(round_id)

    share.click()
    page.get_by_role("button", name="Share with every employee").click()
    page.wait_for_url("**/results*")
    expect(page.get_by_text("now visible to every employee")).to_be_visible()
    assert dashboards.is_shared(round_id)


def test_ending_a_one_on_one_series_asks_first(page, factory, db):
    manager = factory.person("marta@example.com", name="Marta Galli")
    report = factory.person("enzo@example.com", name="Enzo Fontana", manager=manager)
    now = datetime.now(UTC)
    rome = ZoneInfo("Europe/Rome")
    day = (now + timedelta(days=3)).astimezone(rome).date()
    series = oneonones.create_series(manager, {"report_email": report.email, "cadence": "weekly",
                                               "starts_at": datetime.combine(day, time(10), rome).isoformat()}, now)

    def status() -> str:
        db.session.expire_all()
        return db.session.get(Series, series.id).status

    sign_in(page, manager.email)
    page.goto(f"/one-on-ones/{series.id}")
    page.get_by_role("link", name="End the series…").click()
    page.get_by_role("heading", name="End the one-on-ones with Enzo Fontana?").wait_for()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("heading", name="One-on-one with Enzo Fontana").wait_for()
    assert status() == "active"

    page.get_by_role("link", name="End the series…").click()
    page.get_by_role("button", name="End the series").click()
    expect(page.get_by_text("The series has ended.")).to_be_visible()
    assert status() == "ended"


def expire_forms(app) -> None:
    """Let every form on the open pages expire: tokens older than a second are refused from now on.

    Token ages are whole seconds and the limit is "more than", so only a wait past two seconds makes
    every open page's token (signed at most a moment ago) certainly too old.
    """
    app.config["WTF_CSRF_TIME_LIMIT"] = 1
    time_module.sleep(2.2)


def test_an_expired_form_comes_back_with_what_was_typed(page, app, hr, db):
    sign_in(page, hr.email)
    page.goto("/surveys/new")
    page.get_by_label("Title").fill("Typed before lunch")
    expire_forms(app)
    page.get_by_role("button", name="Create survey").click()
    alert = page.locator("#form-expired")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("role", "alert")
    expect(page.get_by_label("Title")).to_have_value("Typed before lunch")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Survey)) == 0
    assert axe_violations(page) == []

    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    page.get_by_role("button", name="Create survey").click()
    page.get_by_role("heading", name="Typed before lunch").wait_for()
    db.session.expire_all()
    assert db.session.scalar(sa.select(Survey.title)) == "Typed before lunch"


def test_an_expired_survey_answer_keeps_the_choices_and_the_comment(page, app, factory, db):
    ada = factory.person("ada@example.com", name="Ada")
    survey = building.create_survey({"title": "Weekly pulse", "cadence": "weekly", "questions": [
        {"library_key": "enps", "required": True}, {"kind": "text", "text": "Anything else?"}]}, datetime.now(UTC))
    round_ = rounds.open_round_now(survey, datetime.now(UTC))
    sign_in(page, ada.email)
    page.goto(f"/my/surveys/{round_.id}")
    enps = survey.questions[0].id
    page.locator(f"label[for='q{enps}-8']").click()
    page.get_by_label("Anything else?").fill("A long comment written slowly")
    expire_forms(app)
    page.get_by_role("button", name="Send my answers").click()
    expect(page.locator("#form-expired")).to_be_visible()
    expect(page.locator("input[type=radio][value='8']")).to_be_checked()
    expect(page.get_by_label("Anything else?")).to_have_value("A long comment written slowly")
    assert not invitations.invitation_for(ada, round_.id).answered

    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    page.get_by_role("button", name="Send my answers").click()
    page.get_by_role("heading", name="Thank you").wait_for()
    # and the thank-you page leads somewhere
    expect(page.get_by_role("link", name="Go to your home page")).to_be_visible()
    assert axe_violations(page) == []
    db.session.expire_all()
    assert invitations.invitation_for(ada, round_.id).answered
