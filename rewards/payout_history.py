"""History: payouts per month for the chart next to the eNPS trend, and the ledger as CSV for payroll.

One job: group and export ledger rows; ``rewards.charts`` draws what ``monthly_payouts`` returns.
Reads only.

May import: ``rewards.money``, ``rewards.validators``, ``rewards.plans`` (for a plan's label),
``spreadsheets``, ``people.org`` (the department tree), the models and the session.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from errors import ValidationError
from extensions import db
from people import org
from people.models import Department, Person
from rewards.models import Milestone, MilestonePlan, Payout
from rewards.money import to_decimal
from rewards.plans import plan_label
from rewards.validators import clean_date
from spreadsheets import Table


@dataclass(frozen=True)
class MonthlyPayout:
    month: date  # the first day of the month
    group: str
    amount_minor: int


def payout_currencies() -> list[str]:
    """Currencies present in the ledger, the most used first."""
    return [c for c, _n in db.session.execute(
        sa.select(Payout.currency, sa.func.count()).group_by(Payout.currency)
        .order_by(sa.func.count().desc(), Payout.currency))]


def _department_groups() -> dict[int, str]:
    """Department id → the name it is reported under: its division (the level below a single
    company-wide root), or its top-level department when there are several roots."""
    parents, names = org.department_parents(), org.department_names()
    depth = 1 if len(org.roots(parents)) == 1 else 0
    return {dept_id: names[org.ancestor_at(parents, dept_id, depth)] for dept_id in parents}


def monthly_payouts(currency: str, group_by: str = "department", *, top: int = 8) -> list[MonthlyPayout]:
    """Payouts in ``currency`` per month and per department (division) or plan, from the ledger.

    The ``top`` groups by total are kept; the rest are summed as "Other".
    """
    year = sa.extract("year", Payout.paid_on)
    month = sa.extract("month", Payout.paid_on)
    key = Payout.department_id if group_by == "department" else Milestone.plan_id
    rows = db.session.execute(
        sa.select(year, month, key, sa.func.sum(Payout.amount_minor))
        .join(Milestone, Milestone.id == Payout.milestone_id).where(Payout.currency == currency)
        .group_by(year, month, key)).all()
    if group_by == "department":
        names = _department_groups()

        def label(k):
            return names.get(k) or _("No department")
    else:
        plans = {p.id: p for p in db.session.scalars(
            sa.select(MilestonePlan).where(MilestonePlan.id.in_({r[2] for r in rows}))
            .options(so.joinedload(MilestonePlan.recipient)))}

        def label(k):
            return plan_label(plans[k])
    sums: dict[tuple[date, str], int] = defaultdict(int)
    for y, m, k, total in rows:
        sums[(date(int(y), int(m), 1), label(k))] += int(total)
    by_group: dict[str, int] = defaultdict(int)
    for (_month, group), total in sums.items():
        by_group[group] += total
    kept = {g for g, _t in sorted(by_group.items(), key=lambda item: (-item[1], item[0]))[:top]}
    other = _("Other")
    merged: dict[tuple[date, str], int] = defaultdict(int)
    for (month_start, group), total in sums.items():
        merged[(month_start, group if group in kept else other)] += total
    return [MonthlyPayout(m, g, t) for (m, g), t in sorted(merged.items())]


def payouts_table(start: date | None = None, end: date | None = None) -> Table:
    """The ledger for payroll, oldest first; ``start``/``end`` filter ``paid_on`` (inclusive).

    One row per payout: payment date, the recipient's e-mail, name and kind, the department when
    paid, plan, milestone, amount (a decimal in the currency's unit), currency and reference, with
    headers in the request's language.
    """
    recipient = so.aliased(Person)
    stmt = (sa.select(Payout, Milestone, MilestonePlan, recipient, Department.name)
            .join(Milestone, Milestone.id == Payout.milestone_id)
            .join(MilestonePlan, MilestonePlan.id == Milestone.plan_id)
            .join(recipient, recipient.id == MilestonePlan.recipient_id)
            .outerjoin(Department, Department.id == Payout.department_id)
            .order_by(Payout.paid_on, Payout.id))
    if start is not None:
        stmt = stmt.where(Payout.paid_on >= start)
    if end is not None:
        stmt = stmt.where(Payout.paid_on <= end)
    columns = [_("Paid on"), _("E-mail"), _("Recipient"), _("Kind"), _("Department"), _("Plan"), _("Milestone"),
               _("Amount"), _("Currency"), _("Reference")]
    kinds = {"employee": _("Employee"), "contractor": _("Contractor")}
    rows = [[payout.paid_on, person.email, person.name, kinds.get(person.kind, person.kind), department,
             plan_label(plan), milestone.title, to_decimal(payout.amount_minor, payout.currency), payout.currency,
             payout.reference]
            for payout, milestone, plan, person, department in db.session.execute(stmt)]
    return Table(columns, rows)


def parse_period(raw_from: str | None, raw_to: str | None) -> tuple[date | None, date | None]:
    """Optional ``from``/``to`` dates of an export. :raise ValidationError: naming a bad one."""
    errors: dict[str, str] = {}
    values = []
    for name, raw in (("from", raw_from), ("to", raw_to)):
        values.append(None if raw in (None, "") else clean_date(raw, name, errors))
    if not errors and values[0] and values[1] and values[1] < values[0]:
        errors["to"] = _("The end of the period is before its start.")
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    return values[0], values[1]
