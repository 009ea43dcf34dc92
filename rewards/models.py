"""Milestone plans, milestones, their events and the payouts ledger.

A ``Milestone`` row holds the current state; ``MilestoneEvent`` rows are the
history (who, when, from, to, note) and ``Payout`` rows the ledger. Events and
payouts are append-only: the code only inserts them, and the migration adds
database triggers that refuse UPDATE and DELETE on both tables. Balances are
always sums over ``Payout``; nothing stores a total.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from dbtypes import UTCDateTime
from extensions import db
from people.models import Department, Person, utcnow

STATES = ("draft", "agreed", "submitted", "changes_requested", "approved", "paid", "cancelled")
# "edit": HR corrected a draft milestone's terms before anyone agreed (see ``rewards.editing.edit_plan``).
ACTIONS = ("create", "agree", "submit", "approve", "request-changes", "pay", "cancel", "edit")
FINAL_STATES = ("paid", "cancelled")
MAX_AMOUNT_MINOR = 10**12
DEFAULT_PAYMENT_TERMS_DAYS = 14


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class MilestonePlan(db.Model):
    """A recipient's plan: who approves, in which currency, from when. These never change.

    Its milestones' terms can be edited by HR until anyone has agreed to them.
    """

    __tablename__ = "milestone_plans"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    title: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    recipient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    approver_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"))
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    starts_on: so.Mapped[date] = so.mapped_column()
    payment_terms_days: so.Mapped[int] = so.mapped_column(default=DEFAULT_PAYMENT_TERMS_DAYS)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    recipient: so.Mapped[Person] = so.relationship(foreign_keys=[recipient_id])
    approver: so.Mapped[Person] = so.relationship(foreign_keys=[approver_id])
    created_by: so.Mapped[Person | None] = so.relationship(foreign_keys=[created_by_id])
    milestones: so.Mapped[list[Milestone]] = so.relationship(back_populates="plan", order_by="Milestone.position")

    __table_args__ = (
        sa.CheckConstraint("approver_id <> recipient_id", name="approver_not_recipient"),
        sa.CheckConstraint("length(currency) = 3 AND currency = upper(currency)", name="currency_code"),
        sa.CheckConstraint("payment_terms_days BETWEEN 0 AND 365", name="payment_terms_range"),
    )

    def __repr__(self) -> str:
        return f"<MilestonePlan {self.id} {self.currency}>"


class Milestone(db.Model):
    """One milestone of a plan, in a state of the machine in ``rewards.transitions``.

    Its terms (title, criteria, amount, due date, position) are locked by a
    database trigger once it leaves ``draft``; ``paid`` and ``cancelled`` are final.
    """

    __tablename__ = "milestones"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    plan_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("milestone_plans.id", ondelete="RESTRICT"))
    position: so.Mapped[int] = so.mapped_column()
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    criteria: so.Mapped[str] = so.mapped_column(sa.Text())
    amount_minor: so.Mapped[int] = so.mapped_column(sa.BigInteger())
    due_on: so.Mapped[date] = so.mapped_column()
    state: so.Mapped[str] = so.mapped_column(sa.String(20), default="draft", index=True)
    recipient_agreed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    approver_agreed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    evidence_note: so.Mapped[str | None] = so.mapped_column(sa.Text())
    evidence_url: so.Mapped[str | None] = so.mapped_column(sa.String(2000))
    approved_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    state_changed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    plan: so.Mapped[MilestonePlan] = so.relationship(back_populates="milestones")

    __table_args__ = (
        sa.UniqueConstraint("plan_id", "position", name="uq_milestones_plan_position"),
        sa.CheckConstraint("position >= 1", name="position_positive"),
        sa.CheckConstraint(f"amount_minor > 0 AND amount_minor <= {MAX_AMOUNT_MINOR}", name="amount_range"),
        sa.CheckConstraint(f"state IN {_in(STATES)}", name="state_known"),
        sa.CheckConstraint("state <> 'agreed' OR (recipient_agreed_at IS NOT NULL AND approver_agreed_at IS NOT NULL)",
                           name="agreed_by_both"),
        sa.CheckConstraint("state NOT IN ('approved', 'paid') OR approved_at IS NOT NULL", name="approval_time"),
    )

    def __repr__(self) -> str:
        return f"<Milestone {self.id} #{self.position} {self.state}>"


class MilestoneEvent(db.Model):
    """One transition (or an agreement that leaves the state as it was). Append-only."""

    __tablename__ = "milestone_events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    milestone_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("milestones.id", ondelete="RESTRICT"), index=True)
    actor_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    action: so.Mapped[str] = so.mapped_column(sa.String(20))
    from_state: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    to_state: so.Mapped[str] = so.mapped_column(sa.String(20))
    note: so.Mapped[str | None] = so.mapped_column(sa.Text())
    evidence_url: so.Mapped[str | None] = so.mapped_column(sa.String(2000))

    actor: so.Mapped[Person] = so.relationship()
    milestone: so.Mapped[Milestone] = so.relationship()

    __table_args__ = (
        sa.CheckConstraint(f"action IN {_in(ACTIONS)}", name="action_known"),
        sa.CheckConstraint(f"from_state IS NULL OR from_state IN {_in(STATES)}", name="from_state_known"),
        sa.CheckConstraint(f"to_state IN {_in(STATES)}", name="to_state_known"),
    )


class Payout(db.Model):
    """A ledger row: one milestone paid. Append-only, and at most one per milestone (UNIQUE)."""

    __tablename__ = "milestone_payouts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    milestone_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("milestones.id", ondelete="RESTRICT"),
                                                    unique=True)
    amount_minor: so.Mapped[int] = so.mapped_column(sa.BigInteger())
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    paid_on: so.Mapped[date] = so.mapped_column(index=True)
    paid_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    reference: so.Mapped[str] = so.mapped_column(sa.String(200))
    # The recipient's department when paid, so reports by department do not move when people do.
    department_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("departments.id", ondelete="RESTRICT"))
    recorded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"))

    milestone: so.Mapped[Milestone] = so.relationship()
    department: so.Mapped[Department | None] = so.relationship()
    recorded_by: so.Mapped[Person] = so.relationship()

    __table_args__ = (
        sa.CheckConstraint(f"amount_minor > 0 AND amount_minor <= {MAX_AMOUNT_MINOR}", name="amount_range"),
        sa.CheckConstraint("length(currency) = 3", name="currency_code"),
        sa.CheckConstraint("length(reference) > 0", name="reference_given"),
    )
