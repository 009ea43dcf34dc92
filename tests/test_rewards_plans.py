"""Milestone plans: creation and its validation, visibility, the sequential rule, the ledger,
money in both languages, and the append-only history (in the code and in the database)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import format_currency, refresh
from sqlalchemy.exc import DBAPIError

from errors import Conflict, Forbidden, ValidationError
from mail.models import OutboxMessage
from rewards import ledger, money, overview, plans, reminders, transitions
from rewards.models import Milestone, MilestoneEvent, MilestonePlan, Payout
from tests import rewards_support as support
from tests.rewards_support import EVIDENCE, NOW, count, drive, make_plan, plan_data, state_of

parties, bare_app = support.parties, support.bare_app  # fixtures


@pytest.fixture
def hr(api_token, parties):
    return api_token("hr@example.com")


# --- Creating a plan -------------------------------------------------------------------------


def test_hr_creates_a_plan_for_a_contractor_with_milestone_ids(client, db, hr, parties):
    response = client.post("/api/v1/milestone-plans", json=plan_data(count=3, title="2026 goals"), headers=hr)
    assert response.status_code == 201, response.get_json()
    plan = response.get_json()
    assert response.headers["Location"] == f"/api/v1/milestone-plans/{plan['id']}"
    assert (plan["recipient_email"], plan["recipient_kind"], plan["approver_email"], plan["currency"]) == (
        "rita@example.com", "contractor", "approver@example.com", "EUR")
    assert [m["position"] for m in plan["milestones"]] == [1, 2, 3]
    assert all(isinstance(m["id"], int) and m["state"] == "draft" for m in plan["milestones"])
    assert plan["milestones"][1] | {"id": 0} == plan["milestones"][1] | {
        "id": 0, "title": "Milestone 2", "criteria": "Criterion 2 met", "amount_minor": 200000, "amount": "2000.00",
        "currency": "EUR", "due_on": "2026-04-30", "recipient_agreed": False, "approver_agreed": False}
    assert (plan["paid_total"], plan["paid_total_amount"], plan["planned_total"]) == (0, "0.00", 600000)
    assert plan["payment_terms_days"] == 14
    assert [(e["action"], e["to_state"], e["actor_email"]) for e in plan["events"]] == [
        ("create", "draft", "hr@example.com")] * 3
    assert plan["payouts"] == []


def test_both_parties_are_asked_to_agree_by_email_in_their_language(db, parties):
    parties["approver"].locale = "it"
    db.session.commit()
    make_plan(parties)
    messages = {m.to_address: m for m in db.session.scalars(sa.select(OutboxMessage))}
    assert set(messages) == {"rita@example.com", "approver@example.com"}
    assert "1.000,00\xa0€" in messages["approver@example.com"].body_text
    assert "€1,000.00" in messages["rita@example.com"].body_text
    assert "/rewards/plans/" in messages["rita@example.com"].body_text


BAD_MILESTONES = [
    ({"amount_minor": -100}, "milestones.0.amount_minor"),
    ({"amount_minor": 0}, "milestones.0.amount_minor"),
    ({"amount_minor": 12.5}, "milestones.0.amount_minor"),
    ({"amount_minor": 1200.0}, "milestones.0.amount_minor"),
    ({"amount_minor": True}, "milestones.0.amount_minor"),
    ({"amount_minor": "1000"}, "milestones.0.amount_minor"),
    ({"amount_minor": 10**12 + 1}, "milestones.0.amount_minor"),
    ({"amount_minor": None}, "milestones.0.amount_minor"),
    ({"due_on": "2026-02-28"}, "milestones.0.due_on"),
    ({"due_on": "31/03/2026"}, "milestones.0.due_on"),
    ({"title": ""}, "milestones.0.title"),
    ({"title": "x" * 201}, "milestones.0.title"),
    ({"criteria": "  "}, "milestones.0.criteria"),
]
BAD_PLANS = [
    ({"currency": "EURO"}, "currency"),
    ({"currency": "ZZZ"}, "currency"),
    ({"currency": "XXX"}, "currency"),
    ({"currency": ""}, "currency"),
    ({"currency": 978}, "currency"),
    ({"approver_email": "rita@example.com"}, "approver_email"),
    ({"recipient_email": "nobody@example.com"}, "recipient_email"),
    ({"approver_email": None}, "approver_email"),
    ({"starts_on": "soon"}, "starts_on"),
    ({"payment_terms_days": -1}, "payment_terms_days"),
    ({"payment_terms_days": "14"}, "payment_terms_days"),
    ({"milestones": []}, "milestones"),
    ({"milestones": "three"}, "milestones"),
    ({"milestones": [plan_data()["milestones"][0]] * 25}, "milestones"),
    ({"bonus": 1}, "bonus"),
]


def test_bad_milestones_are_refused_by_field_and_nothing_is_stored(client, db, hr):
    """Negative, zero, fractional, float, boolean, text and too large amounts; dates before the start; no title."""
    for change, field in BAD_MILESTONES:
        data = plan_data()
        data["milestones"][0].update(change)
        response = client.post("/api/v1/milestone-plans", json=data, headers=hr)
        assert response.status_code == 422, change
        assert field in response.get_json()["error"]["fields"], change
    assert (count(db, MilestonePlan), count(db, Milestone), count(db, MilestoneEvent), count(db, OutboxMessage)) \
        == (0, 0, 0, 0)


def test_bad_plans_are_refused_by_field_and_nothing_is_stored(client, db, hr):
    """Unknown currencies, the recipient as approver, unknown people, bad dates and terms, no milestones."""
    for change, field in BAD_PLANS:
        response = client.post("/api/v1/milestone-plans", json=plan_data() | change, headers=hr)
        assert response.status_code == 422, change
        assert field in response.get_json()["error"]["fields"], change
    assert count(db, MilestonePlan) == 0


def test_due_date_on_the_start_day_is_allowed_and_lower_case_currency_is_normalised(client, hr):
    data = plan_data(currency="jpy")
    data["milestones"][0].update(due_on="2026-03-01", amount_minor=150000)
    plan = client.post("/api/v1/milestone-plans", json=data, headers=hr).get_json()
    assert plan["currency"] == "JPY"
    assert plan["milestones"][0]["amount"] == "150000"  # the yen has no minor unit


def test_a_deactivated_person_cannot_be_given_a_plan(client, db, hr, parties):
    parties["recipient"].active = False
    db.session.commit()
    response = client.post("/api/v1/milestone-plans", json=plan_data(), headers=hr)
    assert response.get_json()["error"]["fields"]["recipient_email"] == "This person is deactivated."


def test_only_hr_creates_plans(db, parties):
    with pytest.raises(Forbidden):
        plans.create_plan(plan_data(), parties["approver"], NOW)
    assert count(db, MilestonePlan) == 0


# --- Who sees a plan -----------------------------------------------------------------------


def test_a_plan_is_visible_to_its_recipient_its_approver_and_hr_only(client, parties, api_token):
    plan = make_plan(parties)
    for who, status in (("recipient", 200), ("approver", 200), ("hr_admin", 200), ("outsider", 403)):
        headers = api_token(parties[who].email)
        assert client.get(f"/api/v1/milestone-plans/{plan.id}", headers=headers).status_code == status, who
        listed = client.get("/api/v1/milestone-plans", headers=headers).get_json()["items"]
        assert [p["id"] for p in listed] == ([plan.id] if status == 200 else []), who


def test_the_plan_list_is_paginated_like_employees(client, parties, hr):
    ids = [make_plan(parties).id for _ in range(5)]
    first = client.get("/api/v1/milestone-plans?per_page=2", headers=hr).get_json()
    assert (first["page"], first["per_page"], first["total"], first["pages"]) == (1, 2, 5, 3)
    assert [p["id"] for p in first["items"]] == ids[:2]
    second = client.get("/api/v1/milestone-plans?page=2&per_page=2", headers=hr).get_json()
    assert [p["id"] for p in second["items"]] == ids[2:4]
    last = client.get("/api/v1/milestone-plans?page=3&per_page=2", headers=hr).get_json()
    assert ([p["id"] for p in last["items"]], last["page"], last["pages"]) == ([ids[4]], 3, 3)
    past = client.get("/api/v1/milestone-plans?page=4&per_page=2", headers=hr).get_json()
    assert (past["items"], past["total"]) == ([], 5)
    default = client.get("/api/v1/milestone-plans", headers=hr).get_json()
    assert (len(default["items"]), default["page"], default["per_page"], default["pages"]) == (5, 1, 50, 1)
    assert default["items"][0]["paid_total"] == 0 and "events" not in default["items"][0]


def test_a_page_counts_only_the_plans_the_caller_may_see(client, factory, parties, api_token):
    factory.person("zed@example.com")
    mine = [make_plan(parties).id for _ in range(3)]
    plans.create_plan(plan_data(recipient="zed@example.com"), parties["hr_admin"], NOW)
    page = client.get("/api/v1/milestone-plans?per_page=2&page=2&role=recipient",
                      headers=api_token("rita@example.com")).get_json()
    assert ([p["id"] for p in page["items"]], page["total"], page["pages"]) == ([mine[2]], 3, 2)


@pytest.mark.parametrize(("query", "fields"), [
    ("page=0", {"page"}), ("page=x", {"page"}), ("page=1.5", {"page"}), ("per_page=0", {"per_page"}),
    ("per_page=201", {"per_page"}), ("per_page=-1", {"per_page"}), ("per_page=", {"per_page"}),
    ("page=0&per_page=500&role=boss", {"page", "per_page", "role"}),
])
def test_bad_page_parameters_are_422_naming_each_field(client, parties, hr, query, fields):
    response = client.get(f"/api/v1/milestone-plans?{query}", headers=hr)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == fields


def test_unknown_plan_milestone_and_action_are_404(client, parties, api_token):
    plan = make_plan(parties)
    headers = api_token("hr@example.com")
    assert client.get("/api/v1/milestone-plans/999", headers=headers).status_code == 404
    assert client.post("/api/v1/milestones/999/agree", headers=headers).status_code == 404
    assert client.post(f"/api/v1/milestones/{plan.milestones[0].id}/delete", headers=headers).status_code == 404


def test_action_body_must_be_a_json_object_when_given(client, parties, api_token):
    plan = make_plan(parties)
    response = client.post(f"/api/v1/milestones/{plan.milestones[0].id}/agree", data="[1]",
                           headers={**api_token("rita@example.com"), "Content-Type": "application/json"})
    assert response.status_code == 400


# --- Transitions that need fields, and their reasons ---------------------------------------------


MISSING = [
    ("agreed", "submit", {"note": "Done", "evidence_url": ""}, "evidence_url"),
    ("agreed", "submit", {"note": "Done", "evidence_url": "javascript:alert(1)"}, "evidence_url"),
    ("agreed", "submit", {"evidence_url": "https://intranet.example/x"}, "note"),
    ("submitted", "request-changes", {}, "note"),
    ("approved", "pay", {"reference": "  "}, "reference"),
    ("approved", "pay", {"reference": "PAY-1", "amount_minor": 1}, "amount_minor"),
]


def test_a_transition_missing_what_it_needs_is_422_and_changes_nothing(client, db, parties, api_token):
    actor = {"submit": "rita@example.com", "request-changes": "approver@example.com", "pay": "hr@example.com"}
    headers = {email: api_token(email) for email in actor.values()}
    for state, action, body, field in MISSING:
        plan = make_plan(parties)
        milestone_id = plan.milestones[0].id
        drive(parties, milestone_id, state)
        events = count(db, MilestoneEvent)
        response = client.post(f"/api/v1/milestones/{milestone_id}/{action}", json=body,
                               headers=headers[actor[action]])
        assert response.status_code == 422, body
        assert field in response.get_json()["error"]["fields"], body
        assert (state_of(db, milestone_id), count(db, MilestoneEvent), count(db, Payout)) == (state, events, 0)


def test_self_approval_is_refused_with_the_reason(client, parties, api_token):
    plan = make_plan(parties)
    drive(parties, plan.milestones[0].id, "submitted")
    response = client.post(f"/api/v1/milestones/{plan.milestones[0].id}/approve",
                           headers=api_token("rita@example.com"))
    assert response.status_code == 403
    assert response.get_json()["error"]["message"] == "You cannot approve your own milestone: Ada Approver decides."


def test_hr_cannot_pay_a_plan_of_their_own(db, factory, parties):
    other_hr = factory.person("hr2@example.com", role="hr_admin")
    plan = plans.create_plan(plan_data(recipient="hr@example.com"), other_hr, NOW)
    milestone_id = plan.milestones[0].id
    for actor, action, data in (("hr_admin", "agree", {}), ("approver", "agree", {}), ("hr_admin", "submit", EVIDENCE),
                                ("approver", "approve", {})):
        transitions.perform(milestone_id, action, parties[actor], data, NOW)
    with pytest.raises(Forbidden, match="payout to yourself"):
        transitions.perform(milestone_id, "pay", parties["hr_admin"], {"reference": "X"}, NOW)
    transitions.perform(milestone_id, "pay", other_hr, {"reference": "X"}, NOW)
    assert state_of(db, milestone_id) == "paid"


def test_changes_requested_then_resubmitted_then_approved(db, parties):
    plan = make_plan(parties)
    milestone_id = plan.milestones[0].id
    drive(parties, milestone_id, "changes_requested")
    transitions.perform(milestone_id, "submit", parties["recipient"],
                     {"note": "Now with last week.", "evidence_url": "https://intranet.example/v2"}, NOW)
    transitions.perform(milestone_id, "approve", parties["approver"], {}, NOW)
    events = db.session.scalars(sa.select(MilestoneEvent).where(MilestoneEvent.milestone_id == milestone_id)
                                .order_by(MilestoneEvent.id)).all()
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("create", None, "draft"), ("agree", "draft", "draft"), ("agree", "draft", "agreed"),
        ("submit", "agreed", "submitted"), ("request-changes", "submitted", "changes_requested"),
        ("submit", "changes_requested", "submitted"), ("approve", "submitted", "approved")]
    assert events[4].note == "Add last week's numbers."
    assert db.session.get(Milestone, milestone_id).evidence_url == "https://intranet.example/v2"


# --- Sequential payment ----------------------------------------------------------------------


def test_milestone_n_is_paid_only_after_milestone_n_minus_1(db, parties):
    plan = make_plan(parties, count=3)
    first, second, third = (m.id for m in plan.milestones)
    drive(parties, second, "approved")
    drive(parties, first, "approved")
    with pytest.raises(Conflict, match="milestone 1, “Milestone 1”, is not paid yet"):
        transitions.perform(second, "pay", parties["hr_admin"], {"reference": "PAY-2"}, NOW)
    assert (state_of(db, second), count(db, Payout)) == ("approved", 0)
    transitions.perform(first, "pay", parties["hr_admin"], {"reference": "PAY-1"}, NOW)
    transitions.perform(second, "pay", parties["hr_admin"], {"reference": "PAY-2"}, NOW)
    assert [state_of(db, m) for m in (first, second, third)] == ["paid", "paid", "draft"]


def test_a_cancelled_earlier_milestone_does_not_block_the_next(db, parties):
    plan = make_plan(parties, count=2)
    first, second = (m.id for m in plan.milestones)
    transitions.perform(first, "cancel", parties["hr_admin"], {"note": "Dropped"}, NOW)
    drive(parties, second, "paid")
    assert state_of(db, second) == "paid"


def test_the_sequence_is_refused_through_the_api_with_409(client, parties, api_token):
    plan = make_plan(parties, count=2)
    drive(parties, plan.milestones[1].id, "approved")
    response = client.post(f"/api/v1/milestones/{plan.milestones[1].id}/pay", json={"reference": "P"},
                           headers=api_token("hr@example.com"))
    assert response.status_code == 409
    assert "paid in order" in response.get_json()["error"]["message"]


# --- The ledger and money --------------------------------------------------------------------


def test_totals_are_the_sums_of_the_ledger(client, db, parties, api_token):
    plan = make_plan(parties, count=3)
    other = make_plan(parties, currency="USD")
    for milestone in plan.milestones[:2] + other.milestones:
        drive(parties, milestone.id, "paid")
    rows = db.session.execute(sa.select(Payout.currency, Payout.amount_minor)).all()
    assert sorted(rows) == [("EUR", 100000), ("EUR", 200000), ("USD", 100000)]
    assert ledger.paid_total(plan) == 300000 == sum(a for c, a in rows if c == "EUR")
    assert ledger.paid_totals([plan.id, other.id]) == {plan.id: 300000, other.id: 100000}
    assert ledger.totals_by_currency() == {"EUR": 300000, "USD": 100000}
    body = client.get(f"/api/v1/milestone-plans/{plan.id}", headers=api_token("hr@example.com")).get_json()
    assert (body["paid_total"], body["paid_total_amount"], body["currency"]) == (300000, "3000.00", "EUR")
    assert sum(p["amount_minor"] for p in body["payouts"]) == body["paid_total"]
    assert [(p["reference"], p["recorded_by_email"]) for p in body["payouts"]] == [
        ("PAY-2026-03", "hr@example.com")] * 2
    assert body["planned_total"] == 600000


def test_a_payout_copies_amount_currency_and_the_recipients_department(db, parties):
    plan = make_plan(parties)
    drive(parties, plan.milestones[0].id, "paid")
    payout = db.session.scalar(sa.select(Payout))
    assert (payout.amount_minor, payout.currency, payout.department_id, payout.recorded_by_id, payout.paid_on) == (
        100000, "EUR", parties["recipient"].department_id, parties["hr_admin"].id, NOW.date())


@pytest.mark.parametrize(("locale", "minor", "currency", "text"), [
    ("en", 123450, "EUR", "€1,234.50"),
    ("it", 123450, "EUR", "1.234,50\xa0€"),
    ("en", 5, "EUR", "€0.05"),
    ("it", 5, "EUR", "0,05\xa0€"),
    ("en", 150000, "JPY", "¥150,000"),
    ("it", 150000, "JPY", "150.000\xa0JPY"),
    ("en", 1234567, "BHD", "BHD1,234.567"),
])
def test_amounts_are_shown_in_the_viewers_locale(bare_app, locale, minor, currency, text):
    with bare_app.test_request_context(headers={"Accept-Language": locale}):
        refresh()
        assert money.money(minor, currency) == text
        assert format_currency(Decimal(minor) / 10 ** money.minor_digits(currency), currency) == text


def test_amounts_typed_in_the_form_follow_the_locale(db, parties):
    from rewards.forms import read_amounts

    for locale, typed, minor in (("it", "1.234,50", 123450), ("it", "1234,5", 123450), ("en", "1,234.50", 123450),
                                 ("en", "0.01", 1)):
        amounts, unread = read_amounts([typed], "EUR", locale)
        assert (amounts, unread) == ([minor], {}), (locale, typed)
        data = plan_data()
        data["milestones"][0]["amount_minor"] = amounts[0]
        assert plans.create_plan(data, parties["hr_admin"], NOW).milestones[0].amount_minor == minor


def test_bad_typed_amounts_are_refused_with_what_was_wrong(db, parties):
    from rewards.forms import read_amounts

    for locale, typed in (("it", "1234.50"), ("en", "12.345"), ("en", "-5"), ("en", "0"), ("en", "ten"),
                          ("en", "1e3"), ("en", "NaN"), ("en", "")):
        amounts, unread = read_amounts([typed], "EUR", locale)
        assert amounts == [None] and unread["milestones.0.amount_minor"], (locale, typed)
    # With an unknown currency the amount cannot be read, and the currency's error says why.
    assert read_amounts(["10"], "XYZ", "en") == ([None], {"milestones.0.amount_minor": None})


def test_the_service_takes_amounts_only_as_the_api_sends_them(db, parties):
    data = plan_data()
    data["milestones"][0] = {k: v for k, v in data["milestones"][0].items() if k != "amount_minor"} | {
        "amount": "1000.00"}
    with pytest.raises(ValidationError) as refused:
        plans.create_plan(data, parties["hr_admin"], NOW)
    assert "milestones.0.amount_minor" in refused.value.fields
    assert count(db, MilestonePlan) == 0


# --- Overdue -----------------------------------------------------------------------------


def test_approved_and_unpaid_after_the_payment_terms_is_overdue(db, parties):
    plan = make_plan(parties)
    milestone = plan.milestones[0]
    drive(parties, milestone.id, "approved")
    approved_at = db.session.get(Milestone, milestone.id).approved_at
    assert not ledger.is_overdue(milestone, approved_at + timedelta(days=14))
    assert ledger.is_overdue(milestone, approved_at + timedelta(days=14, seconds=1))
    assert [(m.id, late) for m, late, _blocker in overview.approved_unpaid(NOW + timedelta(days=15))] == [
        (milestone.id, True)]


def test_payment_terms_can_be_set_per_plan(db, parties):
    plan = make_plan(parties, payment_terms_days=30)
    drive(parties, plan.milestones[0].id, "approved")
    assert not ledger.is_overdue(plan.milestones[0], NOW + timedelta(days=20))


# --- Append-only history ---------------------------------------------------------------------


def test_no_route_deletes_rewards_and_only_the_draft_edit_replaces(bare_app):
    """No PATCH or DELETE; the one PUT replaces a draft plan's milestones; every POST is an action that appends
    (the edit page's POST included: it appends an event for each change)."""
    ours = [r for r in bare_app.url_map.iter_rules() if r.endpoint.startswith("rewards.")
            or "milestone" in r.rule]
    assert len(ours) == 16
    for rule in ours:
        assert not rule.methods & {"PATCH", "DELETE"}, rule
    assert {r.endpoint for r in ours if "PUT" in r.methods} == {"api.milestone_plans_edit"}
    posts = {r.endpoint for r in ours if "POST" in r.methods}
    assert posts == {"rewards.plan_new", "rewards.milestone_action", "rewards.plan_agree", "rewards.plan_cancel",
                     "rewards.plan_edit", "api.milestone_plans_create", "api.milestone_action"}


def test_every_post_only_adds_history(client, db, parties, api_token, auth):
    """Drive two plans through every POST there is; no event or payout row ever changes or disappears."""
    plan = make_plan(parties, count=2)
    seen: dict[tuple, tuple] = {}

    def check():
        db.session.expire_all()
        rows = {("e", r.id): tuple(r) for r in db.session.execute(sa.select(MilestoneEvent.__table__))}
        rows |= {("p", r.id): tuple(r) for r in db.session.execute(sa.select(Payout.__table__))}
        for key, value in seen.items():
            assert rows[key] == value, key
        seen.update(rows)

    first, second = (m.id for m in plan.milestones)
    tokens = {who: api_token(parties[who].email) for who in ("recipient", "approver", "hr_admin")}
    check()
    client.post("/api/v1/milestone-plans", json=plan_data(), headers=tokens["hr_admin"])
    check()
    edited = [{"id": first, "title": "Milestone 1, renamed", "criteria": "Criterion 1 met", "amount_minor": 100000,
               "due_on": "2026-03-31"},
              {"id": second, "title": "Milestone 2", "criteria": "Criterion 2 met", "amount_minor": 200000,
               "due_on": "2026-04-30"}]
    client.put(f"/api/v1/milestone-plans/{plan.id}/milestones", json={"milestones": edited},
               headers=tokens["hr_admin"])
    check()
    for who, action, body in (("recipient", "agree", {}), ("approver", "agree", {}), ("recipient", "submit", EVIDENCE),
                              ("approver", "request-changes", {"note": "More"}), ("recipient", "submit", EVIDENCE),
                              ("approver", "approve", {}), ("hr_admin", "pay", {"reference": "R1"}),
                              ("hr_admin", "pay", {"reference": "R2"}), ("hr_admin", "cancel", {})):
        client.post(f"/api/v1/milestones/{first}/{action}", json=body, headers=tokens[who])
        check()
    for who in ("recipient", "approver"):
        auth.login(parties[who].email)
        client.post(f"/rewards/plans/{plan.id}/agree")
        auth.logout()
        check()
    auth.login("hr@example.com")
    client.post(f"/rewards/milestones/{second}/cancel", data={f"c{second}-note": "Dropped"})
    client.post(f"/rewards/plans/{plan.id}/cancel")
    check()
    assert count(db, MilestoneEvent) == len([k for k in seen if k[0] == "e"]) and count(db, Payout) == 1


REWRITES = [
    "UPDATE milestone_events SET note = 'rewritten'",
    "DELETE FROM milestone_events",
    "UPDATE milestone_payouts SET amount_minor = 1",
    "UPDATE milestone_payouts SET reference = 'other'",
    "DELETE FROM milestone_payouts",
    "UPDATE milestones SET amount_minor = 1",
    "UPDATE milestones SET state = 'approved'",
    "DELETE FROM milestones",
    "UPDATE milestone_plans SET currency = 'USD'",
    "UPDATE milestone_plans SET payment_terms_days = 30",
    "DELETE FROM milestone_plans",
]


def test_the_database_refuses_to_rewrite_history(db, parties):
    """Triggers (SQLite and PostgreSQL) keep events and payouts append-only, agreed terms locked, paid final."""
    plan = make_plan(parties)
    drive(parties, plan.milestones[0].id, "paid")
    for statement in REWRITES:
        with pytest.raises(DBAPIError), db.session.begin_nested():
            db.session.execute(sa.text(statement))
        assert count(db, Payout) == 1 and state_of(db, plan.milestones[0].id) == "paid", statement
    db.session.rollback()


def test_draft_terms_are_not_locked_in_the_database_but_agreed_ones_are(db, parties):
    plan = make_plan(parties, count=2)
    first, second = plan.milestones
    drive(parties, first.id, "agreed")
    db.session.execute(sa.update(Milestone).where(Milestone.id == second.id).values(title="Renamed draft"))
    db.session.commit()
    with pytest.raises(DBAPIError, match="locked"):
        db.session.execute(sa.update(Milestone).where(Milestone.id == first.id).values(title="Renamed"))
        db.session.commit()
    db.session.rollback()


def test_timestamps_are_timezone_aware_utc(db, parties):
    plan = make_plan(parties)
    drive(parties, plan.milestones[0].id, "paid")
    db.session.expire_all()
    payout = db.session.scalar(sa.select(Payout))
    event = db.session.scalar(sa.select(MilestoneEvent).order_by(MilestoneEvent.id.desc()))
    assert payout.paid_at == event.at == NOW and payout.paid_at.tzinfo is not None
    assert db.session.get(MilestonePlan, plan.id).created_at.utcoffset() == timedelta(0)


def test_emails_tell_the_approver_of_a_submission_and_the_recipient_of_decisions(db, parties):
    parties["recipient"].locale = "it"
    db.session.commit()
    plan = make_plan(parties)
    db.session.execute(sa.delete(OutboxMessage))
    db.session.commit()
    drive(parties, plan.milestones[0].id, "paid")
    sent = [(m.to_address, m.kind) for m in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))]
    assert sent == [("approver@example.com", "reward_submitted"), ("rita@example.com", "reward_update"),
                    ("rita@example.com", "reward_update")]
    paid = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert "1.000,00\xa0€" in paid.body_text


def test_tick_with_nothing_due_queues_nothing(db, parties):
    make_plan(parties)
    db.session.execute(sa.delete(OutboxMessage))
    db.session.commit()
    assert reminders.tick(datetime.now(UTC)) == {"overdue_payment_reminders": 0, "decision_reminders": 0}
    assert count(db, OutboxMessage) == 0
