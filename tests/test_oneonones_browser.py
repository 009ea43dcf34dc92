"""Real Chromium: a manager schedules a one-on-one and adds to its agenda; the report sees it."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import PASSWORD, axe_violations

pytestmark = pytest.mark.browser


def sign_in(page, email):
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Welcome", exact=False).wait_for()


def test_manager_schedules_a_series_adds_an_agenda_item_and_the_report_sees_it(page, factory):
    manager = factory.person("marta@example.com", name="Marta Galli", locale="en")
    factory.person("enzo@example.com", name="Enzo Fontana", manager=manager, locale="en")
    factory.person("carla@example.com", name="Carla Neri", manager=manager, locale="en")
    day = (datetime.now(UTC) + timedelta(days=3)).astimezone(ZoneInfo("Europe/Rome")).date()

    sign_in(page, "marta@example.com")
    page.get_by_role("link", name="One-on-ones", exact=True).click()
    page.get_by_role("heading", name="Your team").wait_for()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Schedule a one-on-one with Enzo Fontana").click()
    page.get_by_role("heading", name="Schedule a one-on-one").wait_for()
    assert axe_violations(page) == []
    assert page.get_by_label("With").input_value() == page.get_by_label("With").locator(
        "option", has_text="Enzo Fontana").get_attribute("value")
    page.get_by_label("How often").select_option("weekly")
    page.get_by_label("First meeting on").fill(day.isoformat())
    page.get_by_label("At", exact=True).fill("10:30")
    page.get_by_role("button", name="Schedule").click()
    page.get_by_role("heading", name="One-on-one with Enzo Fontana").wait_for()
    assert page.get_by_text("Every week on").is_visible()
    assert axe_violations(page) == []

    page.get_by_role("region", name="Upcoming meetings").get_by_role("link").first.click()
    page.get_by_role("heading", name="Shared agenda").wait_for()
    page.get_by_label("New agenda item").fill("Quarterly goals")
    page.get_by_role("button", name="Add to the agenda").click()
    page.get_by_text("Quarterly goals", exact=True).wait_for()
    page.get_by_label("Note for yourself").fill("Ask about the conference")
    page.get_by_role("button", name="Save note").click()
    page.get_by_text("Your private note is saved.").wait_for()
    assert axe_violations(page) == []
    meeting_url = page.url.split("#")[0]
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()

    sign_in(page, "enzo@example.com")
    page.get_by_role("link", name="One-on-ones", exact=True).click()
    page.get_by_role("link", name="One-on-one with Marta Galli").click()
    page.get_by_role("region", name="Upcoming meetings").get_by_role("link").first.click()
    page.get_by_role("heading", name="Shared agenda").wait_for()
    assert page.url == meeting_url
    assert page.get_by_text("Quarterly goals", exact=True).is_visible()
    assert page.get_by_text("Ask about the conference").count() == 0
    page.get_by_role("button", name="Mark done: Quarterly goals").click()
    page.get_by_role("button", name="Reopen: Quarterly goals").wait_for()
    assert axe_violations(page) == []
    assert page.console_errors == []
    assert page.foreign_requests == []
