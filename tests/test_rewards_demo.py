"""``demo seed`` writes milestone plans in every state with a year of payouts, consistent with the rules."""

from collections import defaultdict
from datetime import date, timedelta
from itertools import pairwise

import sqlalchemy as sa

from people.models import Person
from rewards.models import STATES, Milestone, MilestoneEvent, MilestonePlan, Payout


def test_demo_seed_makes_plans_in_every_state_with_a_year_of_consistent_history(runner, db):
    result = runner.invoke(args=["demo", "seed", "--employees", "150", "--weeks", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "milestone plans" in result.output and "milestone payouts" in result.output

    milestones = db.session.scalars(sa.select(Milestone).order_by(Milestone.plan_id, Milestone.position)).all()
    assert {m.state for m in milestones} == set(STATES)
    paid_on = db.session.scalars(sa.select(Payout.paid_on)).all()
    assert min(paid_on) <= date.today() - timedelta(days=330) and max(paid_on) <= date.today()

    plans = db.session.scalars(sa.select(MilestonePlan)).all()
    kinds = {p.recipient.kind for p in plans}
    assert kinds == {"employee", "contractor"}
    assert all(p.approver_id != p.recipient_id for p in plans)
    demo = db.session.scalar(sa.select(Person).where(Person.email == "employee@polso.example"))
    mine = [p for p in plans if p.recipient_id == demo.id]
    assert {p.approver.email for p in mine} == {"manager@polso.example"}
    assert any(m.state == "submitted" for p in mine for m in p.milestones)

    events = defaultdict(list)
    for event in db.session.scalars(sa.select(MilestoneEvent).order_by(MilestoneEvent.at, MilestoneEvent.id)):
        events[event.milestone_id].append(event)
    payouts = {p.milestone_id: p for p in db.session.scalars(sa.select(Payout))}
    by_plan = defaultdict(list)
    for m in milestones:
        by_plan[m.plan_id].append(m)
        chain = events[m.id]
        assert chain[0].action == "create" and chain[-1].to_state == m.state
        assert all(a.to_state == b.from_state for a, b in pairwise(chain))
        assert (m.id in payouts) == (m.state == "paid")
        if m.id in payouts:
            assert payouts[m.id].amount_minor == m.amount_minor and payouts[m.id].paid_at == chain[-1].at
    for ordered in by_plan.values():  # paid in sequence: nothing unpaid before a paid milestone
        paid = [m for m in ordered if m.state == "paid"]
        for m in paid:
            assert all(e.state in ("paid", "cancelled") for e in ordered if e.position < m.position)
        times = [payouts[m.id].paid_at for m in paid]
        assert times == sorted(times)
