"""What people see: each person's plans and what happens next, the approver's queue, HR's list.

One job: read plans and milestones for the pages and the API as each viewer needs them, with the
plan's one-word status, the next step from the viewer's point of view, and what is approved but
unpaid (overdue or blocked by an earlier milestone). Reads only.

May import: ``rewards.ledger``, the models and the session; not the state machine or the reminders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from extensions import db
from people.models import Person
from rewards.ledger import is_overdue, paid_totals
from rewards.models import FINAL_STATES, Milestone, MilestonePlan


def plan_status(states: Iterable[str]) -> str:
    """One word for a plan: cancelled, completed, awaiting_agreement or active."""
    states = list(states)
    if all(s == "cancelled" for s in states):
        return "cancelled"
    if all(s in FINAL_STATES for s in states):
        return "completed"
    if any(s == "draft" for s in states):
        return "awaiting_agreement"
    return "active"


PLAN_STATUS_LABELS = {"cancelled": _l("Cancelled"), "completed": _l("Completed"),
                      "awaiting_agreement": _l("Awaiting agreement"), "active": _l("In progress")}


def plan_status_label(status: str) -> str:
    return str(PLAN_STATUS_LABELS[status])


@dataclass(frozen=True)
class NextStep:
    """What happens next in a plan, from one person's point of view.

    ``code``: agree, wait_agreement, submit, resubmit, wait_decision, decide, wait_payment, pay, overdue,
    done. ``mine`` says whether the viewer is the one to act.
    """

    code: str
    milestone: Milestone | None
    mine: bool


def next_step(plan: MilestonePlan, viewer: Person, now: datetime) -> NextStep:
    is_recipient = viewer.id == plan.recipient_id
    is_approver = viewer.id == plan.approver_id
    open_ = [m for m in plan.milestones if m.state not in FINAL_STATES]
    drafts = [m for m in open_ if m.state == "draft"]
    for m in drafts:
        if (is_recipient and m.recipient_agreed_at is None) or (is_approver and m.approver_agreed_at is None):
            return NextStep("agree", m, True)
    if drafts:
        return NextStep("wait_agreement", drafts[0], False)
    for m in open_:
        if m.state == "submitted":
            return NextStep("decide" if is_approver else "wait_decision", m, is_approver)
        if m.state == "approved":
            if is_overdue(m, now):
                return NextStep("overdue", m, viewer.is_hr and not is_recipient)
            return NextStep("pay" if viewer.is_hr and not is_recipient else "wait_payment", m,
                            viewer.is_hr and not is_recipient)
        if m.state == "changes_requested":
            return NextStep("resubmit", m, is_recipient)
        if m.state == "agreed":
            return NextStep("submit", m, is_recipient)
    return NextStep("done", None, False)


def plans_for_recipient(person: Person) -> list[MilestonePlan]:
    return list(db.session.scalars(
        sa.select(MilestonePlan).where(MilestonePlan.recipient_id == person.id)
        .options(so.selectinload(MilestonePlan.milestones)).order_by(MilestonePlan.created_at.desc())))


def plans_for_approver(person: Person) -> list[MilestonePlan]:
    return list(db.session.scalars(
        sa.select(MilestonePlan).where(MilestonePlan.approver_id == person.id)
        .options(so.selectinload(MilestonePlan.milestones), so.joinedload(MilestonePlan.recipient))
        .order_by(MilestonePlan.created_at.desc())))


def approval_queue(person: Person) -> dict[str, list[Milestone]]:
    """For an approver: submitted milestones to decide on, and draft ones waiting for their agreement."""
    base = (sa.select(Milestone).join(MilestonePlan, MilestonePlan.id == Milestone.plan_id)
            .where(MilestonePlan.approver_id == person.id)
            .options(so.joinedload(Milestone.plan).joinedload(MilestonePlan.recipient)))
    return {
        "decide": list(db.session.scalars(base.where(Milestone.state == "submitted")
                                          .order_by(Milestone.state_changed_at, Milestone.id))),
        "agree": list(db.session.scalars(base.where(Milestone.state == "draft",
                                                    Milestone.approver_agreed_at.is_(None))
                                         .order_by(Milestone.due_on, Milestone.id))),
    }


def approved_unpaid(now: datetime) -> list[tuple[Milestone, bool, Milestone | None]]:
    """Every approved milestone, oldest approval first, with whether it is overdue and what blocks it.

    The blocker is the earliest unpaid, not cancelled, milestone before it in its plan (None when it can be paid).
    """
    milestones = list(db.session.scalars(
        sa.select(Milestone).where(Milestone.state == "approved")
        .options(so.joinedload(Milestone.plan).joinedload(MilestonePlan.recipient))
        .order_by(Milestone.approved_at, Milestone.id)))
    plan_ids = {m.plan_id for m in milestones}
    unpaid: dict[int, list[Milestone]] = defaultdict(list)
    if plan_ids:
        for m in db.session.scalars(sa.select(Milestone).where(Milestone.plan_id.in_(plan_ids),
                                                               Milestone.state.not_in(FINAL_STATES))
                                    .order_by(Milestone.position)):
            unpaid[m.plan_id].append(m)
    out = []
    for m in milestones:
        blocker = next((e for e in unpaid[m.plan_id] if e.position < m.position), None)
        out.append((m, is_overdue(m, now), blocker))
    return out


@dataclass(frozen=True)
class PlanRow:
    plan: MilestonePlan
    status: str
    counts: dict[str, int]
    planned_minor: int
    paid_minor: int


def search_plans(query: str | None, page: int, per_page: int):
    """HR's list: a page of plans, newest first, filtered by the recipient's or approver's name or e-mail.

    Returns (pagination, rows) where rows carry each plan's status, milestone counts and ledger totals.
    """
    recipient = so.aliased(Person)
    approver = so.aliased(Person)
    stmt = (sa.select(MilestonePlan).join(recipient, recipient.id == MilestonePlan.recipient_id)
            .join(approver, approver.id == MilestonePlan.approver_id)
            .order_by(MilestonePlan.created_at.desc(), MilestonePlan.id.desc()))
    if query:
        like = f"%{query.strip().lower()}%"
        stmt = stmt.where(sa.or_(sa.func.lower(recipient.name).like(like), recipient.email.like(like),
                                 sa.func.lower(approver.name).like(like), approver.email.like(like),
                                 sa.func.lower(sa.func.coalesce(MilestonePlan.title, "")).like(like)))
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    ids = [p.id for p in pagination.items]
    paid = paid_totals(ids)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    planned: dict[int, int] = defaultdict(int)
    if ids:
        for plan_id, state, n, total in db.session.execute(
                sa.select(Milestone.plan_id, Milestone.state, sa.func.count(), sa.func.sum(Milestone.amount_minor))
                .where(Milestone.plan_id.in_(ids)).group_by(Milestone.plan_id, Milestone.state)):
            counts[plan_id][state] = n
            if state != "cancelled":
                planned[plan_id] += int(total)
    rows = [PlanRow(p, plan_status(counts[p.id]), counts[p.id], planned[p.id], paid[p.id])
            for p in pagination.items]
    return pagination, rows
