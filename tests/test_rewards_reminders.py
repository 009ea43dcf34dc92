"""Reminders queued by ``tick``: overdue payments to every HR administrator, long-waiting decisions to the
approver; each once (per week for overdue payments), in the recipient's language, through the outbox."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from mail import services as mail
from mail.models import OutboxMessage
from rewards import plans, reminders, transitions
from rewards.models import Milestone
from tests import rewards_support as support
from tests.rewards_support import EVIDENCE, NOW, count, drive, make_plan

parties = support.parties  # a fixture

DUE = NOW + timedelta(days=14)  # a milestone approved at NOW is due by then (14 days' terms)


@pytest.fixture
def admins(factory, parties):
    """Besides hr@ (English): an Italian HR administrator and a deactivated one."""
    return {"it": factory.person("hr-it@example.com", name="Ilaria HR", role="hr_admin", locale="it"),
            "gone": factory.person("hr-gone@example.com", role="hr_admin", active=False)}


def outbox(db, kind: str) -> dict[str, OutboxMessage]:
    return {m.to_address: m for m in db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))}


def approved_plan(parties, **extra):
    plan = make_plan(parties, **extra)
    drive(parties, plan.milestones[0].id, "approved")
    return plan


def test_an_overdue_payment_is_reminded_to_each_active_hr_admin_in_their_language(db, parties, admins):
    plan = approved_plan(parties, title="2026 goals")
    milestone_id = plan.milestones[0].id
    assert reminders.tick(DUE + timedelta(days=2)) == {"overdue_payment_reminders": 2, "decision_reminders": 0}
    sent = outbox(db, "reward_overdue")
    assert set(sent) == {"hr@example.com", "hr-it@example.com"}
    english, italian = sent["hr@example.com"], sent["hr-it@example.com"]
    link = f"http://localhost/rewards/plans/{plan.id}#milestone-{milestone_id}"
    assert english.subject == "Payment overdue: “Milestone 1” for Rita Recipient"
    assert "2026 goals: milestone 1, “Milestone 1”, was approved on Mar 2, 2026." in english.body_text
    assert "Its payment of €1,000.00 to Rita Recipient was due by Mar 16, 2026." in english.body_text
    assert "The payment is 2 days overdue." in english.body_text
    assert link in english.body_text and link in english.body_html
    assert '<html lang="en">' in english.body_html
    assert italian.body_text.startswith("Gentile Ilaria HR,")
    assert "1.000,00\xa0€" in italian.body_text and "16 mar 2026" in italian.body_text
    assert '<html lang="it">' in italian.body_html and link in italian.body_text


def test_a_second_tick_queues_no_reminder_again(db, parties, admins):
    approved_plan(parties)
    first = reminders.tick(DUE + timedelta(hours=1))
    queued = count(db, OutboxMessage)
    for later in (DUE + timedelta(hours=1), DUE + timedelta(days=3), DUE + timedelta(days=6, hours=23)):
        assert reminders.tick(later) == {"overdue_payment_reminders": 0, "decision_reminders": 0}, later
    assert first["overdue_payment_reminders"] == 2 and count(db, OutboxMessage) == queued


def test_an_unpaid_overdue_payment_is_reminded_again_every_seven_days(db, parties):
    approved_plan(parties)
    ticks = {days: reminders.tick(DUE + timedelta(days=days, minutes=1))["overdue_payment_reminders"]
             for days in (0, 1, 6, 7, 8, 13, 14, 15)}
    # Days overdue 1..7 are the first week, 8..14 the second, 15.. the third.
    assert ticks == {0: 1, 1: 0, 6: 0, 7: 1, 8: 0, 13: 0, 14: 1, 15: 0}
    keys = db.session.scalars(sa.select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "reward_overdue")
                              .order_by(OutboxMessage.id)).all()
    assert [k.rsplit(":", 1)[1] for k in keys] == ["0", "1", "2"]


def test_paid_and_not_yet_overdue_milestones_are_not_reminded(db, parties, admins):
    paid = make_plan(parties)
    drive(parties, paid.milestones[0].id, "paid")
    approved_plan(parties)  # due by DUE, exactly: not overdue yet at DUE
    submitted = make_plan(parties)
    drive(parties, submitted.milestones[0].id, "submitted", now=DUE)
    assert reminders.tick(DUE)["overdue_payment_reminders"] == 0
    assert reminders.tick(DUE + timedelta(days=30))["overdue_payment_reminders"] == 2  # the approved one only
    assert {m.body_text.count(f"/rewards/plans/{paid.id}#") for m in outbox(db, "reward_overdue").values()} == {0}


def test_a_payment_recorded_before_the_tick_stops_the_reminders(db, parties):
    plan = approved_plan(parties)
    assert reminders.tick(DUE + timedelta(days=1))["overdue_payment_reminders"] == 1
    transitions.perform(plan.milestones[0].id, "pay", parties["hr_admin"], {"reference": "PAY-9"},
                     DUE + timedelta(days=2))
    assert reminders.tick(DUE + timedelta(days=9))["overdue_payment_reminders"] == 0


def test_the_reminder_names_what_blocks_the_payment_and_skips_the_recipient_if_hr(db, factory, parties):
    other_hr = factory.person("hr2@example.com", role="hr_admin")
    plan = plans.create_plan(support.plan_data(recipient="hr@example.com", count=2), other_hr, NOW)
    first, second = (m.id for m in plan.milestones)
    for actor, action, data in (("hr_admin", "agree", {}), ("approver", "agree", {}),
                                ("hr_admin", "submit", EVIDENCE), ("approver", "approve", {})):
        transitions.perform(second, action, parties[actor], data, NOW)
    assert reminders.tick(DUE + timedelta(days=1))["overdue_payment_reminders"] == 1
    (message,) = outbox(db, "reward_overdue").values()
    assert message.to_address == "hr2@example.com"  # hr@ cannot record a payout to themselves
    assert "It can be recorded only after milestone 1, “Milestone 1”, is paid." in message.body_text
    assert db.session.get(Milestone, first).state == "draft"


# --- The approver's decision ------------------------------------------------------------------


def test_the_approver_is_reminded_once_of_a_submission_waiting_more_than_seven_days(db, parties):
    parties["approver"].locale = "it"
    db.session.commit()
    plan = make_plan(parties)
    milestone_id = plan.milestones[0].id
    drive(parties, milestone_id, "submitted")
    assert reminders.tick(NOW + timedelta(days=7))["decision_reminders"] == 0
    assert reminders.tick(NOW + timedelta(days=7, minutes=1))["decision_reminders"] == 1
    assert reminders.tick(NOW + timedelta(days=7, minutes=1))["decision_reminders"] == 0
    assert reminders.tick(NOW + timedelta(days=20))["decision_reminders"] == 0
    (message,) = outbox(db, "reward_decision_reminder").values()
    assert message.to_address == "approver@example.com"
    assert message.body_text.startswith("Gentile Ada Approver,") and "1.000,00\xa0€" in message.body_text
    assert "da 7 giorni" in message.body_text and "2 mar 2026" in message.body_text
    assert f"http://localhost/rewards/plans/{plan.id}#milestone-{milestone_id}" in message.body_text


def test_a_resubmission_starts_a_new_wait(db, parties):
    plan = make_plan(parties)
    milestone_id = plan.milestones[0].id
    drive(parties, milestone_id, "submitted")
    assert reminders.tick(NOW + timedelta(days=8))["decision_reminders"] == 1
    transitions.perform(milestone_id, "request-changes", parties["approver"], {"note": "More"}, NOW + timedelta(days=9))
    assert reminders.tick(NOW + timedelta(days=17))["decision_reminders"] == 0  # waiting for the recipient now
    transitions.perform(milestone_id, "submit", parties["recipient"], EVIDENCE, NOW + timedelta(days=10))
    assert reminders.tick(NOW + timedelta(days=17))["decision_reminders"] == 0
    assert reminders.tick(NOW + timedelta(days=18))["decision_reminders"] == 1
    assert len(outbox(db, "reward_decision_reminder")) == 1  # one address ...
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.kind == "reward_decision_reminder")) == 2  # ... two reminders


def test_decided_milestones_and_deactivated_approvers_get_no_reminder(db, parties):
    decided = make_plan(parties)
    drive(parties, decided.milestones[0].id, "approved")
    waiting = make_plan(parties)
    drive(parties, waiting.milestones[0].id, "submitted")
    parties["approver"].active = False
    db.session.commit()
    assert reminders.tick(NOW + timedelta(days=8))["decision_reminders"] == 0


def test_pulses_tick_reports_the_reminders(db, parties, runner):
    approved_plan(parties)
    result = runner.invoke(args=["pulses", "tick", "--now", (DUE + timedelta(days=1)).isoformat()])
    assert result.exit_code == 0, result.output
    assert "overdue payment reminders 1, decision reminders 0" in result.output
    again = runner.invoke(args=["pulses", "tick", "--now", (DUE + timedelta(days=1)).isoformat()])
    assert "overdue payment reminders 0" in again.output


def test_a_decision_waiting_for_months_is_not_reminded_again_once_the_outbox_is_purged(db, parties):
    plan = make_plan(parties)
    milestone_id = plan.milestones[0].id
    drive(parties, milestone_id, "submitted")
    assert reminders.tick(NOW + timedelta(days=8))["decision_reminders"] == 1
    later = NOW + timedelta(days=100)
    assert mail.purge_sent(later) == 0  # not sent yet in this test: mark it sent long ago, then purge
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.kind == "reward_decision_reminder")
                       .values(sent_at=NOW + timedelta(days=8), next_attempt_at=None))
    db.session.commit()
    assert mail.purge_sent(later) == 1  # the reminder's dedupe key is gone
    assert reminders.tick(later)["decision_reminders"] == 0
