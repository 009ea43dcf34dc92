"""HR reads the dashboard in real Chromium: charts draw, filters update them, Italian works."""

import re

import pytest

from dashboards import services
from tests.conftest import axe_violations, chart_drawn

pytestmark = pytest.mark.browser


def open_results_as_hr(page):
    page.goto("/login")
    page.get_by_label("E-mail").fill("hr@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Results", exact=True).click()


def test_hr_dashboard_charts_render_filter_and_translate(page, closed, org):
    open_results_as_hr(page)
    page.get_by_role("heading", name="Results: Pulse").wait_for()
    for chart in ("chart-trend", "chart-distribution", "chart-participation", "chart-favorability"):
        chart_drawn(page, chart)
    company = page.locator("#headline-score").inner_text()
    assert page.console_errors == [] and page.foreign_requests == []
    assert axe_violations(page) == []

    page.get_by_label("Department (with everything below it)").select_option(label="Acme / Parent")
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("heading", name="Results: Pulse · Parent").wait_for()
    chart_drawn(page, "chart-trend")
    parent = services.results_for_round(closed["survey"], closed["round"],
                                        services.Scope("department", org["parent"].id))
    expected = "+0" if round(parent.enps.score) == 0 else None
    assert page.locator("#headline-score").inner_text() != company
    if expected:
        assert page.locator("#headline-score").inner_text() == expected

    page.get_by_role("button", name="Italiano").click()
    page.get_by_role("heading", name="Risultati: Pulse · Parent").wait_for()
    assert page.locator("html").get_attribute("lang") == "it"
    assert page.get_by_label("Reparto (con tutto ciò che contiene)").is_visible()
    chart_drawn(page, "chart-trend")
    # one round: a week either side, ticked in days, and in Italian ("2 mar 2026", never "Mar 2, 2026")
    ticks = page.locator("#chart-trend .xtick text").evaluate_all("els => els.map(e => e.textContent)")
    assert ticks and all(re.fullmatch(r"\d{1,2} (gen|feb|mar|apr|mag|giu|lug|ago|set|ott|nov|dic) \d{4}", t)
                         for t in ticks), ticks
    assert page.console_errors == [] and page.foreign_requests == []


def _modebar_titles(page, chart: str) -> list[str]:
    chart_drawn(page, chart)
    page.locator(f"#{chart}").hover()
    return page.locator(f"#{chart} .modebar-btn").evaluate_all("els => els.map(e => e.dataset.title)")


def test_charts_offer_no_control_that_sends_data_off_the_server(page, closed, org):
    open_results_as_hr(page)
    charts = page.locator("div.chart[data-figure]").evaluate_all("els => els.map(e => e.id)")
    assert len(charts) >= 4
    for chart in charts:
        assert _modebar_titles(page, chart) == ["Download plot as a PNG", "Reset axes"], chart
    assert page.locator(".modebar-btn[data-title*='Share'], .modebar-btn[data-title*='Chart Studio'],"
                        " .modebar-btn[data-title*='cloud' i]").count() == 0
    assert page.evaluate("() => document.querySelector('div.chart')._context.plotlyServerURL") == ""

    page.get_by_role("button", name="Italiano").click()
    page.locator("html[lang=it]").wait_for()
    assert _modebar_titles(page, charts[0]) == ["Scarica il grafico come PNG", "Reimposta gli assi"]
    assert page.console_errors == [] and page.foreign_requests == []


def test_hr_finds_a_department_of_a_large_organisation_with_the_keyboard(page, closed, org, monkeypatch):
    from dashboards import choices

    monkeypatch.setattr(choices, "FULL_LIST", 0)  # as if there were too many departments to list
    open_results_as_hr(page)
    page.get_by_role("heading", name="Results: Pulse").wait_for()
    department = page.get_by_label("Department (with everything below it)")
    assert "Acme / Parent / Child" not in department.inner_text()
    page.get_by_label("Find a department by name").focus()
    page.keyboard.type("chil")
    page.keyboard.press("Enter")
    results = page.get_by_role("region", name="Found for “chil”")
    results.get_by_role("link", name="Acme / Parent / Child").focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Results: Pulse · Child").wait_for()
    assert "Acme / Parent / Child" in department.locator("option:checked").inner_text()
    assert axe_violations(page) == []
    assert page.console_errors == [] and page.foreign_requests == []
