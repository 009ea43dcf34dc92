"""Two requests at once: exactly one payout per milestone, and both agreements counted.

Each thread has its own app context (so its own session and connection). A short pause after the
checks makes both requests pass them before either writes: on PostgreSQL the second waits on the
row lock, on SQLite at the conditional UPDATE; either way it then sees the new state and gets 409.
Run on PostgreSQL with TEST_DATABASE_URL set.
"""

import time

import pytest
import sqlalchemy as sa

from rewards import transitions
from rewards.models import Milestone, MilestoneEvent, Payout
from tests import rewards_support as support
from tests.conftest import run_concurrently
from tests.rewards_support import drive, make_plan

parties = support.parties  # a fixture


def _race(app, monkeypatch, requests, pause_in: str):
    """Send ``requests`` [(url, json, headers)] at the same moment, one thread each; return the statuses."""
    original = getattr(transitions, pause_in)

    def slow(*args, **kwargs):
        result = original(*args, **kwargs)
        time.sleep(0.3)
        return result

    monkeypatch.setattr(transitions, pause_in, slow)

    def post(url, body, headers):
        with app.app_context(), app.test_client() as client:
            return client.post(url, json=body, headers=headers).status_code

    return sorted(run_concurrently(*(lambda r=r: post(*r) for r in requests)))


@pytest.fixture
def tokens(client, parties):
    def token(email):
        response = client.post("/api/v1/auth/token", json={"email": email, "password": "correct horse battery"})
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return token


def test_two_concurrent_payments_make_one_payout(app, db, parties, tokens, monkeypatch):
    plan = make_plan(parties)
    milestone_id = plan.milestones[0].id
    drive(parties, milestone_id, "approved")
    headers = tokens("hr@example.com")
    db.session.commit()
    db.session.close()  # release the test's own connection: SQLite would otherwise see it as a reader
    url = f"/api/v1/milestones/{milestone_id}/pay"
    statuses = _race(app, monkeypatch, [(url, {"reference": "PAY-A"}, headers), (url, {"reference": "PAY-B"}, headers)],
                     "_check_sequence")
    assert statuses == [200, 409]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payout)) == 1
    assert db.session.scalar(sa.select(Milestone.state).where(Milestone.id == milestone_id)) == "paid"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MilestoneEvent)
                             .where(MilestoneEvent.action == "pay")) == 1


def test_recipient_and_approver_agreeing_at_once_make_the_milestone_agreed(app, db, parties, tokens,
                                                                           monkeypatch):
    plan = make_plan(parties)
    milestone_id = plan.milestones[0].id
    headers = [tokens("rita@example.com"), tokens("approver@example.com")]
    db.session.commit()
    db.session.close()
    url = f"/api/v1/milestones/{milestone_id}/agree"
    assert _race(app, monkeypatch, [(url, {}, headers[0]), (url, {}, headers[1])], "_check_state") == [200, 200]
    assert db.session.scalar(sa.select(Milestone.state).where(Milestone.id == milestone_id)) == "agreed"
    moves = db.session.execute(sa.select(MilestoneEvent.from_state, MilestoneEvent.to_state)
                               .where(MilestoneEvent.action == "agree").order_by(MilestoneEvent.id)).all()
    assert [tuple(m) for m in moves] == [("draft", "draft"), ("draft", "agreed")]
