"""The payouts ledger: what was paid, what is planned, and when an approved milestone falls due.

One job: read totals from the append-only ``milestone_payouts`` rows. Balances are always summed
from the ledger, never stored (DESIGN.md §3); payouts are written only by the state machine's
``pay`` (``rewards.transitions``).

May import: the session and the models; no other rewards module.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from extensions import db
from rewards.models import Milestone, MilestoneEvent, MilestonePlan, Payout


def paid_total(plan: MilestonePlan) -> int:
    """What the plan has paid so far, in minor units of its currency: the sum of its ledger rows."""
    # int(): PostgreSQL sums a BIGINT column as NUMERIC.
    return int(db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payout.amount_minor), 0))
        .join(Milestone, Milestone.id == Payout.milestone_id).where(Milestone.plan_id == plan.id)))


def paid_totals(plan_ids: Iterable[int]) -> dict[int, int]:
    ids = list(plan_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Milestone.plan_id, sa.func.sum(Payout.amount_minor))
        .join(Milestone, Milestone.id == Payout.milestone_id).where(Milestone.plan_id.in_(ids))
        .group_by(Milestone.plan_id)).all()
    return dict.fromkeys(ids, 0) | {plan_id: int(total) for plan_id, total in rows}


def totals_by_currency(since: date | None = None) -> dict[str, int]:
    """Everything paid (since ``since``, inclusive), per currency, from the ledger."""
    stmt = sa.select(Payout.currency, sa.func.sum(Payout.amount_minor)).group_by(Payout.currency)
    if since is not None:
        stmt = stmt.where(Payout.paid_on >= since)
    return {currency: int(total) for currency, total in db.session.execute(stmt.order_by(Payout.currency))}


def planned_total(plan: MilestonePlan) -> int:
    """The sum of the plan's milestones that are not cancelled."""
    return sum(m.amount_minor for m in plan.milestones if m.state != "cancelled")


def plan_events(plan: MilestonePlan) -> list[MilestoneEvent]:
    return list(db.session.scalars(
        sa.select(MilestoneEvent).join(Milestone, Milestone.id == MilestoneEvent.milestone_id)
        .where(Milestone.plan_id == plan.id).options(so.joinedload(MilestoneEvent.actor))
        .order_by(MilestoneEvent.at, MilestoneEvent.id)))


def plan_payouts(plan: MilestonePlan) -> list[Payout]:
    return list(db.session.scalars(
        sa.select(Payout).join(Milestone, Milestone.id == Payout.milestone_id).where(Milestone.plan_id == plan.id)
        .order_by(Payout.paid_at, Payout.id)))


def is_overdue(milestone: Milestone, now: datetime) -> bool:
    """Approved and unpaid for longer than the plan's payment terms."""
    return milestone.state == "approved" and milestone.approved_at is not None \
        and now > milestone.approved_at + timedelta(days=milestone.plan.payment_terms_days)


def payment_due(milestone: Milestone) -> datetime | None:
    if milestone.approved_at is None:
        return None
    return milestone.approved_at + timedelta(days=milestone.plan.payment_terms_days)
