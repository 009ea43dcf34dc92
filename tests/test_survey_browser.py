"""An employee answers on a phone, by keyboard only, in real Chromium; axe-core finds no serious issue."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from surveys import building, invitations, rounds
from surveys.models import Answer
from tests.conftest import axe_violations, mix_all, personal_token

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                  device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="en-GB")
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()


@pytest.fixture
def link(factory):
    ada = factory.person("ada@example.com", name="Ada")
    survey = building.create_survey({"title": "Weekly pulse", "cadence": "weekly", "questions": [
        {"library_key": "enps", "required": True},
        {"library_key": "workload_manageable"},
        {"kind": "choice", "text": "Where did you work this week?", "options": ["Office", "Home", "Both"]},
        {"kind": "text", "text": "Anything else?"},
    ]}, datetime.now(UTC))
    round_ = rounds.open_round_now(survey, datetime.now(UTC))
    invitation = invitations.invitation_for(ada, round_.id)
    return f"/s/{personal_token(invitation.id)}"


def tab_to(page, selector: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(sel) => document.activeElement.matches(sel)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_phone_keyboard_only_answer_passes_axe(phone, link, db):
    phone.goto(link)
    assert axe_violations(phone) == []
    # no horizontal scrolling on a phone
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    tab_to(phone, "input[type=radio][value='0']")
    phone.keyboard.press("Space")
    for _ in range(8):
        phone.keyboard.press("ArrowRight")
    phone.keyboard.press("Tab")  # into the agreement scale
    phone.keyboard.press("Space")
    for _ in range(3):
        phone.keyboard.press("ArrowRight")
    phone.keyboard.press("Tab")  # into the options
    phone.keyboard.press("ArrowDown")
    phone.keyboard.press("Tab")  # the comment box
    phone.keyboard.type("Good week")
    assert "characters left" in phone.locator("[id$='-count']").inner_text()
    phone.keyboard.press("Tab")  # asking for a reply to the comment
    assert phone.evaluate("document.activeElement.type") == "checkbox"
    phone.keyboard.press("Space")
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.type") == "submit"
    phone.keyboard.press("Enter")
    phone.get_by_role("heading", name="Thank you").wait_for()
    phone.get_by_role("heading", name="Your secret reply link").wait_for()
    assert axe_violations(phone) == []
    assert phone.console_errors == []

    assert mix_all() == 1
    answers = dict(db.session.execute(sa.select(Answer.kind, sa.func.coalesce(
        sa.cast(Answer.value_int, sa.String), Answer.value_text))).all())
    assert answers == {"enps": "8", "likert": "4", "choice": "1", "text": "Good week"}


def test_missing_required_answer_is_announced_and_focused(phone, link):
    phone.goto(link)
    phone.get_by_role("button", name="Send my answers").click()
    summary = phone.get_by_role("alert")
    summary.wait_for()
    assert "This question needs an answer." in summary.inner_text()
    # survey.js moves focus once it runs, which can be a moment after the alert is parsed
    expect(summary).to_be_focused()
    assert axe_violations(phone) == []
