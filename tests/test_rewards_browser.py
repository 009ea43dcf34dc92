"""Real Chromium: the recipient submits, the approver approves, HR pays, and the history chart shows the payout."""

import pytest
from playwright.sync_api import expect

from tests import rewards_support as support
from tests.conftest import PASSWORD, axe_violations, chart_drawn
from tests.rewards_support import drive, make_plan

pytestmark = pytest.mark.browser
parties = support.parties  # a fixture


def sign_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Welcome").wait_for()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to Polso").wait_for()


def test_a_milestone_goes_from_evidence_to_payout_and_into_the_history_chart(page, parties):
    plan = make_plan(parties, title="Beta programme")
    drive(parties, plan.milestones[0].id, "agreed")

    sign_in(page, "rita@example.com")
    page.get_by_role("link", name="Rewards", exact=True).click()
    page.get_by_text("Next: submit evidence for milestone 1").wait_for()
    page.get_by_role("link", name="Beta programme").click()
    assert axe_violations(page) == []
    page.get_by_label("What was achieved, against the criteria").fill("Beta live for 60 users.")
    page.get_by_label("Link to the evidence").fill("https://intranet.example/beta-report")
    page.get_by_role("button", name="Submit for approval").click()
    page.get_by_text("Your evidence was submitted to the approver.").wait_for()
    assert page.get_by_role("button", name="Approve").count() == 0  # never one's own
    sign_out(page)

    sign_in(page, "approver@example.com")
    page.goto("/rewards/approvals")
    page.get_by_role("link", name="Review").click()
    page.get_by_text("Beta live for 60 users.").first.wait_for()
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("The milestone was approved.").wait_for()
    sign_out(page)

    sign_in(page, "hr@example.com")
    page.goto("/rewards/overview")
    page.locator("#payable").get_by_role("link", name="1. Milestone 1").click()
    page.get_by_label("Payment reference").fill("PAYROLL-2026-03")
    page.get_by_role("button", name="Record payout").click()
    page.get_by_text("The payout was recorded in the ledger.").wait_for()
    assert page.locator("#ledger tfoot").inner_text().split() == ["Total", "paid", "€1,000.00"]
    assert axe_violations(page) == []

    page.goto("/rewards/history")
    chart_drawn(page, "payouts-chart")
    expect(page.locator("#payouts-chart .bars path")).to_have_count(1)
    page.get_by_text("Show as a table").click()
    row = page.locator("#payouts-chart-title ~ details tbody tr").first
    assert "€1,000.00" in row.inner_text()
    assert axe_violations(page) == []
    assert page.console_errors == []
    assert page.foreign_requests == []
