"""The reward pages: my plans, the approver's queue, HR's overview, a plan, the history chart, the CSV export."""

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape

import sqlalchemy as sa
from flask_babel import refresh

from rewards import ledger, payout_history, plans
from rewards.models import Milestone, Payout
from tests import rewards_support as support
from tests.rewards_support import EVIDENCE, NOW, count, drive, make_plan, plan_data, state_of

parties = support.parties  # a fixture


def login(auth, email: str) -> None:
    """Sign in; the test's app context outlives each request, so drop the language cached by the last one."""
    auth.login(email)
    refresh()


def text(response) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, spaces collapsed."""
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    # Collapse ordinary white space only: amounts keep their no-break spaces ("1.000,00\xa0€").
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def test_recipient_sees_their_plan_and_what_is_next_in_their_language(client, db, auth, parties):
    parties["recipient"].locale = "it"
    db.session.commit()
    plan = make_plan(parties, count=2)
    login(auth, "rita@example.com")
    page = text(client.get("/rewards"))
    assert "Milestone 1" in page and "Milestone 2" in page
    assert "1.000,00\xa0€" in page and "2.000,00\xa0€" in page
    assert client.get("/rewards").status_code == 200
    drive(parties, plan.milestones[0].id, "agreed")
    drive(parties, plan.milestones[1].id, "agreed")
    parties["recipient"].locale = "en"
    db.session.commit()
    refresh()
    page = text(client.get("/rewards"))
    assert "Next: submit evidence for milestone 1, “Milestone 1”, due Mar 31, 2026." in page


def test_approver_queue_lists_submissions_and_terms_to_agree(client, auth, parties):
    first, second = make_plan(parties), make_plan(parties)
    drive(parties, first.milestones[0].id, "submitted")
    auth.login("approver@example.com")
    page = text(client.get("/rewards/approvals"))
    decide = page.split("Waiting for your decision", 1)[1].split("Terms waiting for your agreement", 1)[0]
    agree = page.split("Terms waiting for your agreement", 1)[1].split("Plans you approve", 1)[0]
    assert "Rita Recipient" in decide and "€1,000.00" in decide
    assert "Rita Recipient · 1. Milestone 1 · €1,000.00" in agree
    assert f'/rewards/plans/{second.id}#milestone-{second.milestones[0].id}"' in client.get(
        "/rewards/approvals").get_data(as_text=True)
    assert "2 items wait for you as an approver." in text(client.get("/rewards"))


def test_hr_overview_shows_overdue_payments(client, auth, parties):
    late, recent = make_plan(parties), make_plan(parties, count=2)
    drive(parties, late.milestones[0].id, "approved", now=datetime.now(UTC) - timedelta(days=15))
    drive(parties, recent.milestones[1].id, "approved", now=datetime.now(UTC) - timedelta(days=2))
    auth.login("hr@example.com")
    page = text(client.get("/rewards/overview"))
    overdue = page.split("Overdue payments", 1)[1].split("Approved, to be paid", 1)[0]
    payable = page.split("Approved, to be paid", 1)[1].split("Export payouts", 1)[0]
    assert "Overdue" in overdue and "1. Milestone 1" in overdue and "2. Milestone 2" not in overdue
    assert "2. Milestone 2" in payable and "Waits for milestone 1 to be paid" in payable


def test_overview_search_finds_plans_by_recipient(client, auth, parties, factory):
    factory.person("zed@example.com", name="Zed Zeta")
    make_plan(parties)
    plans.create_plan(plan_data(recipient="zed@example.com"), parties["hr_admin"], NOW)
    auth.login("hr@example.com")
    page = text(client.get("/rewards/overview?q=zeta"))
    assert "Zed Zeta" in page and "Rita Recipient" not in page


def test_hr_creates_a_plan_with_the_form_adding_rows_without_javascript(client, db, auth, parties):
    auth.login("hr@example.com")
    assert client.get("/rewards/plans/new").status_code == 200
    form = {"recipient_email": "rita@example.com", "approver_email": "approver@example.com", "currency": "EUR",
            "starts_on": "2026-03-01", "payment_terms_days": "14",
            "milestones-0-title": "Beta", "milestones-0-criteria": "Beta live for 50 users",
            "milestones-0-amount": "1,234.50", "milestones-0-due_on": "2026-04-30"}
    added = client.post("/rewards/plans/new", data={**form, "add_row": "1"})
    assert added.status_code == 200 and 'name="milestones-3-title"' in added.get_data(as_text=True)
    bad = client.post("/rewards/plans/new", data={**form, "milestones-0-amount": "12.345",
                                                  "milestones-2-title": "Launch", "milestones-2-criteria": "Live",
                                                  "milestones-2-amount": "100", "milestones-2-due_on": "2026-01-01"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="milestones-0-amount-error"' in html and "EUR has 2 digits after the decimal point." in html
    assert 'id="milestones-2-due_on-error"' in html and "cannot be before the plan starts" in html
    assert count(db, Milestone) == 0
    created = client.post("/rewards/plans/new", data=form)
    assert created.status_code == 302
    milestone = db.session.scalar(sa.select(Milestone))
    assert (milestone.title, milestone.amount_minor, milestone.plan.currency) == ("Beta", 123450, "EUR")


def test_the_whole_flow_through_the_pages(client, db, auth, parties):
    plan = make_plan(parties)
    milestone_id = plan.milestones[0].id
    for email in ("rita@example.com", "approver@example.com"):
        auth.login(email)
        assert client.post(f"/rewards/plans/{plan.id}/agree").status_code == 302
        auth.logout()
    assert state_of(db, milestone_id) == "agreed"

    auth.login("rita@example.com")
    missing = client.post(f"/rewards/milestones/{milestone_id}/submit", data={f"m{milestone_id}-note": "Done"})
    assert missing.status_code == 422
    assert "Link to the evidence (a document, a report, a dashboard)." in text(missing)
    done = client.post(f"/rewards/milestones/{milestone_id}/submit", data={
        f"m{milestone_id}-note": EVIDENCE["note"], f"m{milestone_id}-evidence_url": EVIDENCE["evidence_url"]})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"#milestone-{milestone_id}")
    assert client.post(f"/rewards/milestones/{milestone_id}/approve").status_code == 403  # not her own
    auth.logout()

    auth.login("approver@example.com")
    assert "Your decision" in text(client.get(f"/rewards/plans/{plan.id}"))
    assert client.post(f"/rewards/milestones/{milestone_id}/approve",
                       data={f"m{milestone_id}-note": "Great"}).status_code == 302
    auth.logout()

    auth.login("hr@example.com")
    assert client.post(f"/rewards/milestones/{milestone_id}/pay",
                       data={f"m{milestone_id}-reference": "PAY-7"}).status_code == 302
    again = client.post(f"/rewards/milestones/{milestone_id}/pay", data={f"m{milestone_id}-reference": "PAY-8"})
    assert again.status_code == 409 and "This milestone is already paid." in text(again)
    page = text(client.get(f"/rewards/plans/{plan.id}"))
    assert "Paid on" in page and "PAY-7" in page and "Total paid €1,000.00" in page
    assert count(db, Payout) == 1


def test_someone_outside_the_plan_cannot_open_it_or_act(client, auth, parties):
    plan = make_plan(parties)
    auth.login("otto@example.com")
    assert client.get(f"/rewards/plans/{plan.id}").status_code == 403
    assert client.post(f"/rewards/milestones/{plan.milestones[0].id}/agree").status_code == 403
    assert client.get("/rewards/plans/999").status_code == 404


# --- The CSV export --------------------------------------------------------------------------


def test_hr_exports_the_ledger_as_csv_for_payroll(client, db, auth, parties):
    parties["recipient"].name = "=HYPERLINK(\"x\")"
    db.session.commit()
    plan = make_plan(parties, count=2, title="2026 goals")
    yen = make_plan(parties, currency="JPY")
    drive(parties, plan.milestones[0].id, "paid")
    drive(parties, plan.milestones[1].id, "paid", now=NOW + timedelta(days=40))
    drive(parties, yen.milestones[0].id, "paid", now=NOW + timedelta(days=40))
    auth.login("hr@example.com")
    response = client.get("/rewards/payouts.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"polso-payouts.csv\"; filename*=UTF-8''polso-payouts.csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["Paid on", "E-mail", "Recipient", "Kind", "Department", "Plan", "Milestone", "Amount",
                       "Currency", "Reference"]
    assert rows[1:] == [
        ["2026-03-02", "rita@example.com", "'=HYPERLINK(\"x\")", "Contractor", "Engineering", "2026 goals",
         "Milestone 1", "1000.00", "EUR", "PAY-2026-03"],
        ["2026-04-11", "rita@example.com", "'=HYPERLINK(\"x\")", "Contractor", "Engineering", "2026 goals",
         "Milestone 2", "2000.00", "EUR", "PAY-2026-03"],
        ["2026-04-11", "rita@example.com", "'=HYPERLINK(\"x\")", "Contractor", "Engineering",
         f"Plan {yen.id} · =HYPERLINK(\"x\")", "Milestone 1", "100000", "JPY", "PAY-2026-03"],
    ]
    april = list(csv.reader(io.StringIO(client.get("/rewards/payouts.csv?from=2026-04-01&to=2026-04-30")
                                         .data.decode("utf-8-sig"))))
    assert [r[6] for r in april[1:]] == ["Milestone 2", "Milestone 1"]
    assert sum(Decimal(r[7]) for r in rows[1:] if r[8] == "EUR") * 100 == ledger.totals_by_currency()["EUR"]
    assert client.get("/rewards/payouts.csv?from=2026-05-01&to=2026-04-01").status_code == 422
    assert client.get("/rewards/payouts.csv?from=yesterday").status_code == 422


def test_csv_export_is_for_hr_only(client, auth, parties):
    make_plan(parties)
    for email in ("rita@example.com", "approver@example.com"):
        auth.login(email)
        assert client.get("/rewards/payouts.csv").status_code == 403
        auth.logout()


# --- History -------------------------------------------------------------------------------


def test_monthly_payouts_by_department_and_by_plan_come_from_the_ledger(db, factory, parties):
    company = factory.department("Acme")
    sales = factory.department("Sales", parent=company)
    team = factory.department("Sales · North", parent=sales)
    seller = factory.person("sam@example.com", name="Sam Seller", department=team, manager=parties["approver"])
    first = make_plan(parties, count=2, title="Rita's goals")
    second = plans.create_plan(plan_data(recipient="sam@example.com"), parties["hr_admin"], NOW)
    parties["recipient"].department.parent_id = company.id
    db.session.commit()
    drive(parties, first.milestones[0].id, "paid")
    drive(parties, first.milestones[1].id, "paid", now=NOW + timedelta(days=31))
    drive({**parties, "recipient": seller}, second.milestones[0].id, "paid", now=NOW + timedelta(days=31))
    assert seller.department_id == team.id
    by_department = payout_history.monthly_payouts("EUR", "department")
    assert [(r.month, r.group, r.amount_minor) for r in by_department] == [
        (date(2026, 3, 1), "Engineering", 100000), (date(2026, 4, 1), "Engineering", 200000),
        (date(2026, 4, 1), "Sales", 100000)]
    by_plan = payout_history.monthly_payouts("EUR", "plan", top=1)
    assert [(r.month, r.group, r.amount_minor) for r in by_plan] == [
        (date(2026, 3, 1), "Rita's goals", 100000), (date(2026, 4, 1), "Other", 100000),
        (date(2026, 4, 1), "Rita's goals", 200000)]
    assert sum(r.amount_minor for r in by_department) == ledger.totals_by_currency()["EUR"]
    assert payout_history.monthly_payouts("USD") == []


def test_history_page_charts_payouts_beside_enps_with_the_numbers_as_a_table(client, auth, parties):
    plan = make_plan(parties)
    drive(parties, plan.milestones[0].id, "paid")
    auth.login("hr@example.com")
    response = client.get("/rewards/history")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    figure = json.loads(unescape(re.search(r'id="payouts-chart"[^>]*data-figure="([^"]*)"', html).group(1)))
    bars = [t for t in figure["data"] if t["type"] == "bar"]
    assert bars[0]["x"] == ["2026-03-01"] and bars[0]["y"] == [1000.0] and bars[0]["name"] == "Engineering"
    page = text(response)
    assert "March 2026 €1,000.00 €1,000.00" in page
    assert "No closed survey round with an eNPS question yet." in page
    assert "/vendor/plotly.min.js" in html and "<script>" not in html
    assert client.get("/rewards/history?currency=ZZZ&group_by=nonsense").status_code == 200


def test_the_overview_states_the_configured_payment_terms(app, client, auth, parties):
    app.config["REWARDS_PAYMENT_TERMS_DAYS"] = 30
    login(auth, "hr@example.com")
    assert "after their payment terms (30 days unless the plan says otherwise)" in text(client.get("/rewards/overview"))
