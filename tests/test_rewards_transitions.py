"""The milestone state machine as one table: every state × action × actor, through the JSON API.

Each cell says what happens when that person takes that action on a milestone in that state: the
new state when it is allowed, 403 for the wrong person (self-approval included), 409 for a
transition the machine does not allow. Refusals are tried first and must change nothing; then
the allowed actors act in the order listed (in ``draft`` the recipient agrees, then the approver,
which makes the milestone ``agreed``).
"""

import pytest
import sqlalchemy as sa

from rewards.models import Milestone, MilestoneEvent, Payout
from tests import rewards_support as support
from tests.rewards_support import EVIDENCE, drive, make_plan, snapshot

parties, shared_database = support.parties, support.shared_database  # fixtures



@pytest.fixture(scope="module")
def database_uri(shared_database):
    """One database for the whole table (each row makes its own plan): 48 fresh ones cost too much on PostgreSQL."""
    return shared_database


R, A, H, X = "recipient", "approver", "hr_admin", "outsider"
F, C = 403, 409

TABLE = {
    ("draft", "agree"): {R: "draft", A: "agreed", H: F, X: F},
    ("draft", "submit"): {R: C, A: F, H: F, X: F},
    ("draft", "approve"): {R: F, A: C, H: F, X: F},
    ("draft", "request-changes"): {R: F, A: C, H: F, X: F},
    ("draft", "pay"): {R: F, A: F, H: C, X: F},
    ("draft", "cancel"): {R: F, A: F, H: "cancelled", X: F},
    ("draft_recipient_agreed", "agree"): {R: C, A: "agreed", H: F, X: F},
    ("draft_recipient_agreed", "submit"): {R: C, A: F, H: F, X: F},
    ("draft_recipient_agreed", "approve"): {R: F, A: C, H: F, X: F},
    ("draft_recipient_agreed", "request-changes"): {R: F, A: C, H: F, X: F},
    ("draft_recipient_agreed", "pay"): {R: F, A: F, H: C, X: F},
    ("draft_recipient_agreed", "cancel"): {R: F, A: F, H: "cancelled", X: F},
    ("agreed", "agree"): {R: C, A: C, H: F, X: F},
    ("agreed", "submit"): {R: "submitted", A: F, H: F, X: F},
    ("agreed", "approve"): {R: F, A: C, H: F, X: F},
    ("agreed", "request-changes"): {R: F, A: C, H: F, X: F},
    ("agreed", "pay"): {R: F, A: F, H: C, X: F},
    ("agreed", "cancel"): {R: F, A: F, H: "cancelled", X: F},
    ("submitted", "agree"): {R: C, A: C, H: F, X: F},
    ("submitted", "submit"): {R: C, A: F, H: F, X: F},
    ("submitted", "approve"): {R: F, A: "approved", H: F, X: F},
    ("submitted", "request-changes"): {R: F, A: "changes_requested", H: F, X: F},
    ("submitted", "pay"): {R: F, A: F, H: C, X: F},
    ("submitted", "cancel"): {R: F, A: F, H: C, X: F},
    ("changes_requested", "agree"): {R: C, A: C, H: F, X: F},
    ("changes_requested", "submit"): {R: "submitted", A: F, H: F, X: F},
    ("changes_requested", "approve"): {R: F, A: C, H: F, X: F},
    ("changes_requested", "request-changes"): {R: F, A: C, H: F, X: F},
    ("changes_requested", "pay"): {R: F, A: F, H: C, X: F},
    ("changes_requested", "cancel"): {R: F, A: F, H: C, X: F},
    ("approved", "agree"): {R: C, A: C, H: F, X: F},
    ("approved", "submit"): {R: C, A: F, H: F, X: F},
    ("approved", "approve"): {R: F, A: C, H: F, X: F},
    ("approved", "request-changes"): {R: F, A: C, H: F, X: F},
    ("approved", "pay"): {R: F, A: F, H: "paid", X: F},
    ("approved", "cancel"): {R: F, A: F, H: C, X: F},
    ("paid", "agree"): {R: C, A: C, H: F, X: F},
    ("paid", "submit"): {R: C, A: F, H: F, X: F},
    ("paid", "approve"): {R: F, A: C, H: F, X: F},
    ("paid", "request-changes"): {R: F, A: C, H: F, X: F},
    ("paid", "pay"): {R: F, A: F, H: C, X: F},
    ("paid", "cancel"): {R: F, A: F, H: C, X: F},
    ("cancelled", "agree"): {R: C, A: C, H: F, X: F},
    ("cancelled", "submit"): {R: C, A: F, H: F, X: F},
    ("cancelled", "approve"): {R: F, A: C, H: F, X: F},
    ("cancelled", "request-changes"): {R: F, A: C, H: F, X: F},
    ("cancelled", "pay"): {R: F, A: F, H: C, X: F},
    ("cancelled", "cancel"): {R: F, A: F, H: C, X: F},
}
# What each action sends: everything it needs, so only the state and the person decide.
BODY = {"agree": {}, "submit": EVIDENCE, "approve": {"note": "Well done."},
        "request-changes": {"note": "Add last week's numbers."}, "pay": {"reference": "PAY-2026-03"},
        "cancel": {"note": "Goals changed."}}
STATES = ("draft", "draft_recipient_agreed", "agreed", "submitted", "changes_requested", "approved", "paid",
          "cancelled")
ACTIONS = ("agree", "submit", "approve", "request-changes", "pay", "cancel")


def test_the_table_covers_every_state_and_action():
    assert set(TABLE) == {(s, a) for s in STATES for a in ACTIONS}
    assert all(set(row) == {R, A, H, X} for row in TABLE.values())


@pytest.mark.parametrize(("state", "action"), list(TABLE))
def test_transition(client, db, parties, api_token, state, action):
    plan = make_plan(parties)
    milestone_id = plan.milestones[0].id
    drive(parties, milestone_id, state)
    headers = {who: api_token(parties[who].email) for who in TABLE[(state, action)]}
    row = TABLE[(state, action)]
    refusals = [(who, want) for who, want in row.items() if isinstance(want, int)]
    successes = [(who, want) for who, want in row.items() if isinstance(want, str)]
    url = f"/api/v1/milestones/{milestone_id}/{action}"

    before = snapshot(db)
    for who, status in refusals:
        response = client.post(url, json=BODY[action], headers=headers[who])
        assert response.status_code == status, (who, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == {403: "forbidden", 409: "conflict"}[status]
        assert error["message"]
        db.session.expire_all()
        assert snapshot(db) == before, f"a refused {action} by {who} changed something"

    for who, new_state in successes:
        events = db.session.scalar(sa.select(sa.func.count()).select_from(MilestoneEvent))
        previous = db.session.scalar(sa.select(Milestone.state).where(Milestone.id == milestone_id))
        response = client.post(url, json=BODY[action], headers=headers[who])
        assert response.status_code == 200, (who, response.get_json())
        assert response.get_json()["state"] == new_state
        db.session.expire_all()
        event = db.session.scalars(sa.select(MilestoneEvent).order_by(MilestoneEvent.id.desc())).first()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MilestoneEvent)) == events + 1
        assert (event.milestone_id, event.actor_id, event.action, event.from_state, event.to_state) == (
            milestone_id, parties[who].id, action, previous, new_state)
    payouts = db.session.scalar(sa.select(sa.func.count()).select_from(Payout)
                                .where(Payout.milestone_id == milestone_id))
    assert payouts == (1 if state == "paid" or (state, action) == ("approved", "pay") else 0)


def test_payment_blockers_name_the_first_earlier_milestone_neither_paid_nor_cancelled(db, parties):
    from rewards import transitions

    plan = make_plan(parties, count=3)
    first, second, third = plan.milestones
    drive(parties, first.id, "paid")
    db.session.refresh(plan)
    assert transitions.payment_blockers(plan) == {first.id: None, second.id: None, third.id: second}
    transitions.perform(second.id, "cancel", parties["hr_admin"], {}, support.NOW)
    db.session.refresh(plan)
    assert transitions.payment_blockers(plan)[third.id] is None


def test_only_hr_can_cancel_and_only_while_a_milestone_is_draft_or_agreed(db, parties):
    from rewards import transitions

    plan = make_plan(parties, count=1)
    assert transitions.can_cancel(plan, parties["hr_admin"])
    assert not transitions.can_cancel(plan, parties["approver"])
    drive(parties, plan.milestones[0].id, "submitted")
    db.session.refresh(plan)
    assert not transitions.can_cancel(plan, parties["hr_admin"])
