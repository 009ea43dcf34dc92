"""Demo milestone plans: a year of agreed, approved and paid milestones, and some in every other state.

About 3 % of the people (at least 8; the demo employee among them, with their
manager as approver) hold a plan; some recipients are contractors. Most plans
started 7 to 11 months ago (one in five over a year ago, now complete) and pay
month by month or quarter by quarter, in order: what fell due more than 20
days ago is paid (a few were cancelled), the next milestone is wherever the
plan's turn puts it (submitted, changes requested, approved, approved and
overdue, or only agreed), the rest are agreed. The first recipients also get a
fresh draft plan and a cancelled one, so every state is there however small
the organisation. Rows are bulk-inserted with their full history of events, so
the ledger and the history always agree; the same seed gives the same plans.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from extensions import db
from people.models import Person
from rewards.models import Milestone, MilestoneEvent, MilestonePlan, Payout

DEMO_EMPLOYEE = "employee@polso.example"
GOALS = (
    ("Customer onboarding revamp", "Median onboarding time under 3 days for 4 consecutive weeks."),
    ("Release 2.0", "Version 2.0 in production with no priority-1 incident in its first 14 days."),
    ("Quarterly sales target", "Signed contracts worth at least the quarterly target in the CRM."),
    ("Support backlog", "Open tickets older than 7 days below 20 at the end of the month."),
    ("Cost reduction", "Cloud spend 10 % below the same month last year."),
    ("Certification", "Certificate obtained and uploaded to the learning platform."),
    ("Data pipeline", "Nightly pipeline green for 30 consecutive days."),
    ("Partner launch", "Three new partners live with at least one order each."),
    ("Security audit", "All high findings of the audit closed and verified."),
    ("Mentoring", "Two new colleagues onboarded and independent on-call."),
)
CURRENCIES = (("EUR", 0.85), ("USD", 0.1), ("GBP", 0.05))
STEP_MONTHS = (1, 1, 1, 3)
# Where each plan's current milestone stands, in turn, so every state appears.
TURNS = ("submitted", "approved", "changes_requested", "overdue", "agreed", "approved", "submitted", "approved")
EVIDENCE_URL = "https://intranet.polso.example/evidence"


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(7, 16), rng.randrange(60)), tzinfo=UTC)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    last = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    return date(year, month, min(day.day, last))


def _currency(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for code, weight in CURRENCIES:
        total += weight
        if roll < total:
            return code
    return CURRENCIES[0][0]


def _with_ids(model, rows: list[dict]) -> list[int]:
    """Insert ``rows`` in one executemany with ids given here, so no row has to be read back."""
    first = (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
    ids = list(range(first, first + len(rows)))
    db.session.execute(model.__table__.insert(), [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def seed(rng: random.Random, today: date) -> dict[str, int]:
    """Write demo plans in bulk (the people and the pulse exist already); return counts for the summary line."""
    people = db.session.execute(
        sa.select(Person.id, Person.email, Person.manager_id, Person.department_id, Person.kind, Person.role)
        .where(Person.active).order_by(Person.id)).all()
    hr_ids = [p.id for p in people if p.role == "hr_admin"]
    if not hr_ids:
        return {}
    hr_id = next((p.id for p in people if p.email == "hr@polso.example"), hr_ids[0])
    by_id = {p.id: p for p in people}
    eligible = [p for p in people if p.manager_id is not None and p.id != hr_id]
    wanted = min(len(eligible), max(8, min(300, round(len(people) * 0.03))))
    showcase = [p for p in eligible if p.email == DEMO_EMPLOYEE]
    contractors = [p for p in eligible if p.kind == "contractor" and p.email != DEMO_EMPLOYEE]
    others = [p for p in eligible if p.kind != "contractor" and p.email != DEMO_EMPLOYEE]
    chosen = rng.sample(contractors, min(len(contractors), max(1, wanted // 6)))
    chosen = showcase + rng.sample(others, min(len(others), max(0, wanted - len(chosen) - len(showcase)))) + chosen
    now = datetime.combine(today, time(12), tzinfo=UTC)

    plans: list[dict] = []
    scenarios: list[tuple[str, str | None, int, int]] = []  # (kind, turn, milestones, months between) per plan
    turn = 0
    steady: list[bool] = []
    half_agreed: list[bool] = []  # draft plans the recipient has already agreed to
    for index, person in enumerate(chosen):
        if person.email == DEMO_EMPLOYEE:
            kinds = [("history", "submitted"), ("draft", None)]  # the demo manager has a submission to decide on
        else:
            roll = rng.random()
            # Every fifth plan started over a year ago and is complete; the others have a current milestone.
            kinds = [("history", None if index % 5 == 4 else TURNS[turn % len(TURNS)])]
            turn += kinds[0][1] is not None
            if index in (1, 2) or roll < 0.08:
                kinds.append(("draft", None))
            if index in (2, 3) or roll > 0.96:
                kinds.append(("cancelled", None))
        for kind, current in kinds:
            history = kind == "history"
            # The demo employee's plan and the complete ones (the start of the year of history) run without a hitch.
            smooth = person.email == DEMO_EMPLOYEE or (history and current is None)
            step = 1 if history and current is None else rng.choice(STEP_MONTHS)
            days = (rng.randint(390, 420) if current is None else rng.randint(200, 330)) if history \
                else rng.randint(0, 20)
            starts_on = today - timedelta(days=days)
            plans.append({
                "title": f"{starts_on.year} {rng.choice(('goals', 'objectives', 'milestones'))}" if history
                else rng.choice(("Next objectives", "New responsibilities", None)),
                "recipient_id": person.id, "approver_id": person.manager_id, "created_by_id": hr_id,
                "currency": "EUR" if smooth else _currency(rng), "starts_on": starts_on, "payment_terms_days": 14,
                "created_at": min(_at(starts_on, rng), now - timedelta(hours=3))})
            steady.append(smooth)
            half_agreed.append(kind == "draft" and person.email != DEMO_EMPLOYEE and rng.random() < 0.5)
            scenarios.append((kind, current, (12 if step == 1 else 4) if history else rng.randint(2, 4), step))
    if not plans:
        return {}
    plan_ids = _with_ids(MilestonePlan, plans)
    for plan, smooth, half in zip(plans, steady, half_agreed, strict=True):
        plan["steady"], plan["half_agreed"] = smooth, half  # after the insert: not columns

    milestones, histories = [], []
    for plan, plan_id, (kind, current, count, step) in zip(plans, plan_ids, scenarios, strict=True):
        contractor = by_id[plan["recipient_id"]].kind == "contractor"
        paid_until = datetime.combine(plan["starts_on"], time(18), tzinfo=UTC)
        for position in range(1, count + 1):
            title, criteria = rng.choice(GOALS)
            due_on = _add_months(plan["starts_on"], step * position)
            if kind == "history" and due_on > today - timedelta(days=20):
                # The plan's current milestone; after it, the rest are only agreed.
                row, history = _milestone(rng, "current" if current else "future", plan, due_on, now, paid_until,
                                          current)
                kind = "future"
            else:
                row, history = _milestone(rng, kind, plan, due_on, now, paid_until, None)
            if history[-1][0] == "pay":
                paid_until = history[-1][1]
            milestones.append({"plan_id": plan_id, "position": position, "title": title, "criteria": criteria,
                               "amount_minor": rng.choice((250, 500, 750, 1000, 1500, 2000))
                               * (300 if contractor else 100), "due_on": due_on, **row})
            histories.append((plan, history))
    milestone_ids = _with_ids(Milestone, milestones)

    events, payouts = [], []
    for milestone_id, milestone, (plan, history) in zip(milestone_ids, milestones, histories, strict=True):
        recipient, approver = plan["recipient_id"], plan["approver_id"]
        actors = {"create": hr_id, "agree_recipient": recipient, "agree_approver": approver, "submit": recipient,
                  "approve": approver, "request-changes": approver, "pay": hr_id, "cancel": hr_id}
        state = None
        for step_name, at, to_state, note in history:
            action = "agree" if step_name.startswith("agree") else step_name
            events.append({"milestone_id": milestone_id, "actor_id": actors[step_name], "at": at, "action": action,
                           "from_state": state, "to_state": to_state, "note": note,
                           "evidence_url": EVIDENCE_URL if action == "submit" else None})
            state = to_state
            if action == "pay":
                payouts.append({"milestone_id": milestone_id, "amount_minor": milestone["amount_minor"],
                                "currency": plan["currency"], "paid_on": at.date(), "paid_at": at,
                                "reference": f"PAY-{at:%Y%m}-{milestone_id:05d}",
                                "department_id": by_id[recipient].department_id, "recorded_by_id": hr_id})
    db.session.execute(MilestoneEvent.__table__.insert(), events)
    if payouts:
        db.session.execute(Payout.__table__.insert(), payouts)
    if db.session.get_bind().dialect.name == "postgresql":
        for model in (MilestonePlan, Milestone):  # ids were given explicitly: move the sequences past them
            table = model.__tablename__
            db.session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"(SELECT max(id) FROM {table}))"))
    return {"milestone plans": len(plans), "milestone payouts": len(payouts)}


def _milestone(rng: random.Random, kind: str, plan: dict, due_on: date, now: datetime, paid_until: datetime,
               current: str | None) -> tuple[dict, list]:
    """The milestone's columns and its history [(step, at, to_state, note)], oldest first.

    ``kind``: draft, cancelled, future (agreed only), history (due long ago: paid, or rarely cancelled) or
    current (the plan's next milestone, left in the state ``current`` names).
    """
    created = plan["created_at"]
    history = [("create", created, "draft", None)]
    row = {"state": "draft", "recipient_agreed_at": None, "approver_agreed_at": None, "evidence_note": None,
           "evidence_url": None, "approved_at": None, "state_changed_at": created}

    def move(step: str, at: datetime, state: str, note: str | None = None, **columns) -> None:
        history.append((step, at, state, note))
        row.update(state=state, state_changed_at=at, **columns)

    if kind == "draft":
        if plan["half_agreed"]:
            at = min(created + timedelta(hours=rng.randint(2, 30)), now - timedelta(hours=1))
            history.append(("agree_recipient", at, "draft", None))
            row["recipient_agreed_at"] = at
        return row, history
    agreed_r = min(created + timedelta(hours=rng.randint(2, 30)), now - timedelta(hours=2))
    agreed_a = agreed_r + timedelta(minutes=rng.randint(10, 50))
    history.append(("agree_recipient", agreed_r, "draft", None))
    move("agree_approver", agreed_a, "agreed", recipient_agreed_at=agreed_r, approver_agreed_at=agreed_a)
    if kind == "cancelled" or (kind == "history" and not plan["steady"] and rng.random() < 0.03):
        move("cancel", min(agreed_a + timedelta(days=rng.randint(1, 20)), now - timedelta(hours=1)), "cancelled",
             "Goals changed with the reorganisation.")
        return row, history
    if kind == "future" or (kind == "current" and current == "agreed"):
        return row, history

    note = "Target met; figures in the linked report."
    if kind == "history":  # submitted around the due date, sometimes sent back once, approved, paid in time
        submitted = _at(due_on - timedelta(days=rng.randint(0, 6)), rng)
        decided = submitted + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 6))
        move("submit", submitted, "submitted", note, evidence_note=note, evidence_url=EVIDENCE_URL)
        if rng.random() < 0.15:
            move("request-changes", decided, "changes_requested", "Please add the numbers for the last week.")
            decided += timedelta(days=rng.randint(1, 4))
            move("submit", decided, "submitted", "Added the last week's numbers.")
            decided += timedelta(days=rng.randint(1, 3))
        move("approve", decided, "approved", approved_at=decided)
        paid = max(decided + timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 3)),
                   paid_until + timedelta(hours=1))
        move("pay", min(paid, now - timedelta(hours=1)), "paid")
        return row, history

    days = {"submitted": (1, 5), "changes_requested": (6, 10), "approved": (8, 12), "overdue": (22, 35)}[current]
    submitted = now - timedelta(days=rng.randint(*days), hours=rng.randint(0, 8))
    move("submit", submitted, "submitted", note, evidence_note=note, evidence_url=EVIDENCE_URL)
    if current == "changes_requested":
        move("request-changes", submitted + timedelta(days=rng.randint(1, 3)), "changes_requested",
             "Please link the final report, not the draft.")
    elif current in ("approved", "overdue"):
        decided = submitted + timedelta(days=rng.randint(2, 5))
        move("approve", decided, "approved", approved_at=decided)
    return row, history
