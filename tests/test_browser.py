"""Real Chromium through Playwright: the foundation's pages as a person uses them."""

import pytest

from tests.conftest import axe_violations

pytestmark = pytest.mark.browser


def test_hr_signs_in_lists_people_and_switches_to_italian(page, factory):
    factory.person("hr@example.com", role="hr_admin", name="Helena Rinaldi", locale=None)
    for i in range(3):
        factory.person(f"p{i}@example.com", name=f"Paola {i}")

    page.goto("/login")
    assert axe_violations(page) == []
    page.get_by_label("E-mail").fill("hr@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Welcome, Helena Rinaldi").wait_for()

    page.get_by_role("link", name="People", exact=True).first.click()
    page.get_by_role("heading", name="People").wait_for()
    assert axe_violations(page) == []
    rows = page.locator("tbody tr")
    assert rows.count() == 4
    page.get_by_label("Search by name or e-mail").fill("Paola 1")
    page.get_by_label("Search by name or e-mail").press("Enter")
    page.wait_for_url("**/people?q=Paola*")
    assert page.locator("tbody tr").count() == 1

    page.get_by_role("button", name="Italiano").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "it"
    page.get_by_role("heading", name="Persone").wait_for()
    assert page.get_by_label("Cerca per nome o e-mail").is_visible()
    assert axe_violations(page) == []
    assert page.console_errors == []
    assert page.foreign_requests == []


def test_keyboard_reaches_the_sign_in_form_through_the_skip_link(page, factory):
    page.goto("/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "email"
