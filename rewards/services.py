"""Business rules for milestone rewards: plans, the state machine and the payouts ledger.

The HTML pages and the JSON API both call these functions, so they accept and
refuse alike. Every refusal raises from ``errors`` before anything is written:
``Forbidden`` (403) for the wrong person, ``Conflict`` (409) for a transition
the state machine does not allow, ``ValidationError`` (422) naming each bad field.

The machine (DESIGN.md §3)::

    draft ──agree×2──▶ agreed ──submit──▶ submitted ──approve──▶ approved ──pay──▶ paid
      │                  │                 │    ▲
      └──cancel──────────┴─▶ cancelled     │    └──submit── changes_requested
                                           └──request-changes──────▲

``agree`` records the caller's acceptance; the milestone becomes ``agreed``
once both the recipient and the approver have agreed, and its terms are then
locked (also by a database trigger). Payment is sequential: a milestone is paid
only after every earlier milestone of its plan that was not cancelled is paid.
Each transition is claimed with a conditional UPDATE (after a row lock on
PostgreSQL), and ``milestone_payouts`` has UNIQUE(milestone_id), so concurrent
requests yield exactly one transition and at most one payout per milestone.

Until the recipient or the approver has agreed to any milestone of a plan, HR
may correct its milestones (``edit_plan``); each change is an event too
(``edit``, ``create`` or ``cancel``). ``tick`` queues reminders: overdue
payments to HR, decisions waiting for more than 7 days to the approver.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from babel.numbers import NumberFormatError, get_currency_precision, list_currencies, parse_decimal
from babel.numbers import format_decimal as babel_format_decimal
from flask import current_app
from flask_babel import format_currency
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

import inputs
from errors import Conflict, Forbidden, NotFound, ValidationError
from extensions import db
from mail import services as mail
from mail.models import OutboxMessage
from people.models import Department, Person
from rewards.models import (
    DEFAULT_PAYMENT_TERMS_DAYS,
    FINAL_STATES,
    MAX_AMOUNT_MINOR,
    Milestone,
    MilestoneEvent,
    MilestonePlan,
    Payout,
)
from spreadsheets import Table

MAX_MILESTONES = 24
# Digits with the locale's separators (and a sign, so "-5" is refused for being negative): no exponents, no NaN.
_TYPED_AMOUNT = re.compile(r"^-?\d[\d.,\u00a0\u202f' ]*$")
MAX_TITLE = 200
MAX_TEXT = 5000
MAX_URL = 2000
MAX_REFERENCE = 200
# ISO 4217 codes that are not money one pays people in (testing, "no currency", metals, SDR, units of account).
NOT_MONEY = frozenset({"XXX", "XTS", "XAU", "XAG", "XPD", "XPT", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU",
                       "XUA"})

STATE_LABELS = {
    "draft": _l("Draft"), "agreed": _l("Agreed"), "submitted": _l("Submitted"),
    "changes_requested": _l("Changes requested"), "approved": _l("Approved"), "paid": _l("Paid"),
    "cancelled": _l("Cancelled"),
}
ACTION_LABELS = {
    "create": _l("Planned"), "agree": _l("Agreed to the terms"), "submit": _l("Submitted evidence"),
    "approve": _l("Approved"), "request-changes": _l("Requested changes"), "pay": _l("Recorded the payout"),
    "cancel": _l("Cancelled"), "edit": _l("Edited the terms"),
}


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


@dataclass(frozen=True)
class Transition:
    """Who may take an action ("party" = recipient or approver), from which states, to which state."""

    from_states: tuple[str, ...]
    to_state: str
    actor: str


MACHINE: dict[str, Transition] = {
    "agree": Transition(("draft",), "agreed", "party"),
    "submit": Transition(("agreed", "changes_requested"), "submitted", "recipient"),
    "approve": Transition(("submitted",), "approved", "approver"),
    "request-changes": Transition(("submitted",), "changes_requested", "approver"),
    "pay": Transition(("approved",), "paid", "hr"),
    "cancel": Transition(("draft", "agreed"), "cancelled", "hr"),
}
ACTIONS = tuple(MACHINE)


# --- Money ------------------------------------------------------------------------------


def currencies() -> list[str]:
    """ISO 4217 codes Babel knows, without the non-money X codes."""
    return sorted(code for code in list_currencies() if code not in NOT_MONEY)


def minor_digits(currency: str) -> int:
    """Digits after the decimal point in ``currency`` (2 for EUR, 0 for JPY, 3 for BHD)."""
    return get_currency_precision(currency)


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-minor_digits(currency))


def decimal_text(amount_minor: int, currency: str) -> str:
    """The amount as a plain decimal string with the currency's digits: 123450 EUR → "1234.50"."""
    return str(to_decimal(amount_minor, currency))


def money(amount_minor: int, currency: str) -> str:
    """The amount in the viewer's locale: "€1,234.50" in English, "1.234,50 €" in Italian."""
    return format_currency(to_decimal(amount_minor, currency), currency)


def typed_amount(amount_minor: int, currency: str, locale: str) -> str:
    """The amount as someone in ``locale`` would type it in a form: 123450 EUR → "1,234.50" or "1.234,50"."""
    digits = minor_digits(currency)
    return babel_format_decimal(to_decimal(amount_minor, currency), format="#,##0" + ("." + "0" * digits if digits
                                                                                     else ""), locale=locale)


def _clean_currency(raw: Any, errors: dict[str, str]) -> str | None:
    code = raw.strip().upper() if isinstance(raw, str) else None
    if not code:
        errors["currency"] = _("A currency is required, as an ISO 4217 code such as EUR.")
        return None
    if len(code) != 3 or code not in list_currencies() or code in NOT_MONEY:
        errors["currency"] = _("Not a known ISO 4217 currency code (for example EUR, USD, GBP).")
        return None
    return code


def _check_minor(value: int, name: str, errors: dict[str, str]) -> int | None:
    if value <= 0:
        errors[name] = _("The amount must be more than zero.")
    elif value > MAX_AMOUNT_MINOR:
        errors[name] = _("The amount is too large.")
    else:
        return value
    return None


def _clean_amount_minor(raw: Any, name: str, errors: dict[str, str]) -> int | None:
    if isinstance(raw, bool) or not isinstance(raw, int):
        errors[name] = _("Must be a whole number of minor units (cents), for example 150000 for 1,500.00.")
        return None
    return _check_minor(raw, name, errors)


def _clean_amount_text(raw: Any, currency: str | None, locale: str, name: str, errors: dict[str, str]) -> int | None:
    """An amount typed in major units in the viewer's locale ("1.234,50" in Italian) → minor units."""
    if not isinstance(raw, str) or not raw.strip():
        errors[name] = _("An amount is required.")
        return None
    if currency is None:
        return None  # the currency's own error says why
    try:
        if not _TYPED_AMOUNT.match(raw.strip()):
            raise ValueError(raw)
        value = parse_decimal(raw.strip(), locale=locale, strict=True)
    except (NumberFormatError, InvalidOperation, ValueError):
        errors[name] = _("Not an amount; write it like %(example)s.",
                         example=babel_format_decimal(Decimal("1234.50"), format="#,##0.00", locale=locale))
        return None
    if not value.is_finite():
        errors[name] = _("An amount is required.")
        return None
    minor = value.scaleb(minor_digits(currency))
    if minor != minor.to_integral_value():
        errors[name] = _("%(currency)s has %(digits)s digits after the decimal point.",
                         currency=currency, digits=minor_digits(currency))
        return None
    return _check_minor(int(minor), name, errors)


# --- Small validators -------------------------------------------------------------------


def _text(raw: Any, name: str, errors: dict[str, str], *, required: str | None, limit: int) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors[name] = required
        return None
    if not isinstance(raw, str):
        errors[name] = _("Must be text.")
        return None
    if len(raw.strip()) > limit:
        errors[name] = _("At most %(max)s characters.", max=limit)
        return None
    return raw.strip()


def _date(raw: Any, name: str, errors: dict[str, str]) -> date | None:
    if isinstance(raw, datetime):  # a date-time where a day is meant is a mistake, not a day
        raw = "not a date"
    return inputs.collect(errors, inputs.read_date, raw, name)


def _url(raw: Any, name: str, errors: dict[str, str], *, required: str) -> str | None:
    text = _text(raw, name, errors, required=required, limit=MAX_URL)
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        errors[name] = _("Must be a web address starting with https:// or http://.")
        return None
    return text


def _person(raw: Any, name: str, errors: dict[str, str]) -> Person | None:
    if not isinstance(raw, str) or not raw.strip():
        errors[name] = _("An e-mail address is required.")
        return None
    person = db.session.scalar(sa.select(Person).where(Person.email == raw.strip().lower()))
    if person is None:
        errors[name] = _("Nobody has this e-mail address.")
    elif not person.active:
        errors[name] = _("This person is deactivated.")
    else:
        return person
    return None


def local_today(person: Person, now: datetime) -> date:
    """The date it is at ``now`` where ``person`` is."""
    return now.astimezone(ZoneInfo(person.timezone or current_app.config["POLSO_DEFAULT_TIMEZONE"])).date()


def default_payment_terms() -> int:
    return int(current_app.config.get("REWARDS_PAYMENT_TERMS_DAYS", DEFAULT_PAYMENT_TERMS_DAYS))


# --- Plans ------------------------------------------------------------------------------


def _clean_milestones(raw: Any, currency: str | None, starts_on: date | None, locale: str,
                      errors: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        errors["milestones"] = _("A plan needs at least one milestone.")
        return []
    if len(raw) > MAX_MILESTONES:
        errors["milestones"] = _("A plan has at most %(max)s milestones.", max=MAX_MILESTONES)
        return []
    cleaned = []
    for index, item in enumerate(raw):
        prefix = f"milestones.{index}"
        if not isinstance(item, Mapping):
            errors[prefix] = _("Must be an object with title, criteria, amount_minor and due_on.")
            continue
        title = _text(item.get("title"), f"{prefix}.title", errors, required=_("A title is required."),
                      limit=MAX_TITLE)
        criteria = _text(item.get("criteria"), f"{prefix}.criteria", errors,
                         required=_("Write the measurable criteria that show the milestone is reached."),
                         limit=MAX_TEXT)
        if "amount_minor" in item or "amount" not in item:
            amount = _clean_amount_minor(item.get("amount_minor"), f"{prefix}.amount_minor", errors)
        else:
            amount = _clean_amount_text(item.get("amount"), currency, locale, f"{prefix}.amount", errors)
        due_on = _date(item.get("due_on"), f"{prefix}.due_on", errors)
        if due_on is not None and starts_on is not None and due_on < starts_on:
            errors[f"{prefix}.due_on"] = _("The due date cannot be before the plan starts (%(date)s).",
                                           date=starts_on.isoformat())
        cleaned.append({"position": index + 1, "title": title, "criteria": criteria, "amount_minor": amount,
                        "due_on": due_on})
    return cleaned


def create_plan(data: Mapping[str, Any], creator: Person, now: datetime, *, locale: str = "en") -> MilestonePlan:
    """Create a plan in ``draft`` with its ordered milestones, and ask both parties to agree.

    ``data``: recipient_email, approver_email, currency, milestones [{title,
    criteria, amount_minor (or ``amount`` typed in major units in ``locale``,
    from the HTML form), due_on}], optional title, starts_on (default: today in
    the creator's time zone) and payment_terms_days (default 14).
    :raise Forbidden: unless ``creator`` is HR. :raise ValidationError: naming each bad field; nothing is stored.
    """
    if not creator.is_hr:
        raise Forbidden(_("Only HR creates milestone plans."))
    errors: dict[str, str] = {}
    recipient = _person(data.get("recipient_email"), "recipient_email", errors)
    approver = _person(data.get("approver_email"), "approver_email", errors)
    if recipient is not None and approver is not None and recipient.id == approver.id:
        errors["approver_email"] = _("The approver must be someone other than the recipient.")
    currency = _clean_currency(data.get("currency"), errors)
    title = _text(data.get("title"), "title", errors, required=None, limit=MAX_TITLE)
    starts_raw = data.get("starts_on")
    starts_on = local_today(creator, now) if starts_raw in (None, "") else _date(starts_raw, "starts_on", errors)
    terms = data.get("payment_terms_days")
    if terms in (None, ""):
        terms = default_payment_terms()
    terms = inputs.collect(errors, inputs.read_int, terms, "payment_terms_days", low=0, high=365, from_text=False)
    unknown = sorted(set(data) - {"recipient_email", "approver_email", "currency", "title", "starts_on",
                                  "payment_terms_days", "milestones"})
    for name in unknown:
        errors[name] = _("Unknown field.")
    milestones = _clean_milestones(data.get("milestones"), currency, starts_on, locale, errors)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)

    plan = MilestonePlan(title=title, recipient_id=recipient.id, approver_id=approver.id, created_by_id=creator.id,
                         currency=currency, starts_on=starts_on, payment_terms_days=terms, created_at=now)
    db.session.add(plan)
    try:
        db.session.flush()
        rows = [Milestone(plan_id=plan.id, state="draft", state_changed_at=now, **m) for m in milestones]
        db.session.add_all(rows)
        db.session.flush()
        db.session.add_all([MilestoneEvent(milestone_id=m.id, actor_id=creator.id, at=now, action="create",
                                           from_state=None, to_state="draft") for m in rows])
        db.session.flush()
        for person, role in ((recipient, "recipient"), (approver, "approver")):
            _queue_mail("reward_plan", person, plan, None, f"reward-plan:{plan.id}:{person.id}", now, role=role,
                        changed=False)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return plan


def get_plan(plan_id: int) -> MilestonePlan:
    plan = db.session.get(MilestonePlan, plan_id)
    if plan is None:
        raise NotFound(_("No such milestone plan."))
    return plan


def get_milestone(milestone_id: int) -> Milestone:
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound(_("No such milestone."))
    return milestone


def can_view(plan: MilestonePlan, person: Person) -> bool:
    return person.is_hr or person.id in (plan.recipient_id, plan.approver_id)


def visible_plan(plan_id: int, person: Person) -> MilestonePlan:
    """The plan, if ``person`` is its recipient, its approver or HR.

    :raise NotFound: no such plan. :raise Forbidden: anyone else.
    """
    plan = get_plan(plan_id)
    if not can_view(plan, person):
        raise Forbidden(_("Only the recipient, the approver and HR see this plan."))
    return plan


def plan_label(plan: MilestonePlan) -> str:
    return plan.title or _("Plan %(id)s · %(name)s", id=plan.id, name=plan.recipient.name)


# --- Transitions ------------------------------------------------------------------------


def _check_actor(action: str, plan: MilestonePlan, actor: Person) -> None:
    who = MACHINE[action].actor
    if who == "party" and actor.id not in (plan.recipient_id, plan.approver_id):
        raise Forbidden(_("Only the recipient and the approver agree to the terms of a milestone."))
    if who == "recipient" and actor.id != plan.recipient_id:
        raise Forbidden(_("Only the recipient, %(name)s, submits evidence for this milestone.",
                          name=plan.recipient.name))
    if who == "approver":
        if actor.id == plan.recipient_id:
            raise Forbidden(_("You cannot approve your own milestone: %(name)s decides.", name=plan.approver.name))
        if actor.id != plan.approver_id:
            raise Forbidden(_("Only the approver, %(name)s, decides on this milestone.", name=plan.approver.name))
    if who == "hr":
        if not actor.is_hr:
            raise Forbidden(_("Only HR records payouts.") if action == "pay"
                            else _("Only HR cancels milestones."))
        if action == "pay" and actor.id == plan.recipient_id:
            raise Forbidden(_("You cannot record a payout to yourself; another HR administrator must."))


def _check_state(action: str, milestone: Milestone, actor: Person) -> None:
    state = milestone.state
    if state in MACHINE[action].from_states:
        if action == "agree":
            mine = (milestone.recipient_agreed_at if actor.id == milestone.plan.recipient_id
                    else milestone.approver_agreed_at)
            if mine is not None:
                raise Conflict(_("You have already agreed to this milestone."))
        return
    label = state_label(state).lower()
    if action == "agree":
        message = _("Terms can be agreed only while the milestone is a draft; it is %(state)s.", state=label)
    elif action == "submit":
        message = _("Evidence can be submitted once the terms are agreed, or after changes were requested; "
                    "this milestone is %(state)s.", state=label)
    elif action in ("approve", "request-changes"):
        message = _("Only a submitted milestone can be approved or sent back; this one is %(state)s.", state=label)
    elif action == "pay":
        message = (_("This milestone is already paid.") if state == "paid"
                   else _("Only an approved milestone can be paid; this one is %(state)s.", state=label))
    else:
        message = _("Only a draft or agreed milestone can be cancelled; this one is %(state)s.", state=label)
    raise Conflict(message)


def _check_sequence(milestone: Milestone) -> None:
    """Milestone n is paid only after every earlier, not cancelled, milestone of the plan is paid."""
    earlier = db.session.scalar(
        sa.select(Milestone).where(Milestone.plan_id == milestone.plan_id, Milestone.position < milestone.position,
                                   Milestone.state.not_in(FINAL_STATES))
        .order_by(Milestone.position).limit(1))
    if earlier is not None:
        raise Conflict(_("Milestones are paid in order: milestone %(position)s, “%(title)s”, is not paid yet.",
                         position=earlier.position, title=earlier.title))


def _clean_action(action: str, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    known = {"note", "evidence_url", "reference"} | ({"terms_version"} if action == "agree" else set())
    for name in sorted(set(data) - known):
        errors[name] = _("Unknown field.")
    values: dict[str, Any] = {}
    if action == "submit":
        values["note"] = _text(data.get("note"), "note", errors, limit=MAX_TEXT,
                               required=_("Describe what was achieved against the criteria."))
        values["evidence_url"] = _url(data.get("evidence_url"), "evidence_url", errors,
                                      required=_("Link to the evidence (a document, a report, a dashboard)."))
    elif action == "request-changes":
        values["note"] = _text(data.get("note"), "note", errors, limit=MAX_TEXT,
                               required=_("Say what needs to change."))
    elif action == "pay":
        values["reference"] = _text(data.get("reference"), "reference", errors, limit=MAX_REFERENCE,
                                    required=_("A payment reference is required (payroll run or transfer)."))
        values["note"] = _text(data.get("note"), "note", errors, required=None, limit=MAX_TEXT)
    else:
        values["note"] = _text(data.get("note"), "note", errors, required=None, limit=MAX_TEXT)
    if action == "agree":
        values["terms_version"] = _version(data.get("terms_version"), "terms_version", errors)
    for name in ("evidence_url", "reference"):
        if name in data and name not in values and name not in errors:
            errors[name] = _("Not used by this action.")
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    return values


def _lock(milestone_id: int) -> Milestone:
    # FOR UPDATE makes a concurrent request on PostgreSQL wait here and then see the new state;
    # SQLite ignores it and serialises the writers at the conditional UPDATE below instead.
    milestone = db.session.scalar(sa.select(Milestone).where(Milestone.id == milestone_id).with_for_update()
                                  .execution_options(populate_existing=True))
    if milestone is None:
        raise NotFound(_("No such milestone."))
    return milestone


def perform(milestone_id: int, action: str, actor: Person, data: Mapping[str, Any] | None,
            now: datetime) -> Milestone:
    """Take ``action`` (agree, submit, approve, request-changes, pay, cancel) on a milestone as ``actor``.

    Appends an event (and, for ``pay``, one payout row) and queues the e-mail in the same transaction.
    :raise NotFound: no such milestone or action. :raise Forbidden: the wrong person (self-approval
    and paying oneself included). :raise Conflict: the state machine does not allow it, an earlier
    milestone is unpaid, or a concurrent request got there first. :raise ValidationError: bad fields.
    """
    if action not in MACHINE:
        raise NotFound(_("No such action."))
    try:
        milestone = _lock(milestone_id)
        plan = milestone.plan
        _check_actor(action, plan, actor)
        _check_state(action, milestone, actor)
        if action == "pay":
            _check_sequence(milestone)
        values = _clean_action(action, data or {})
        seen = values.pop("terms_version", None)
        _check_terms_seen(plan.id, seen)
        event = _apply(milestone, plan, action, actor, values, now)
        # Again now that this transaction has written (on SQLite it holds the write lock from here):
        # an edit may have committed between the check above and the agreement.
        _check_terms_seen(plan.id, seen)
        _notify(milestone, plan, event, actor, now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return db.session.get(Milestone, milestone_id, populate_existing=True)


def _claim(milestone: Milestone, from_state: str, **values: Any) -> bool:
    result = db.session.execute(
        sa.update(Milestone).where(Milestone.id == milestone.id, Milestone.state == from_state)
        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _apply(milestone: Milestone, plan: MilestonePlan, action: str, actor: Person, values: dict[str, Any],
           now: datetime) -> MilestoneEvent:
    from_state = milestone.state
    to_state = MACHINE[action].to_state
    changed_meanwhile = Conflict(_("This milestone was changed by someone else meanwhile; reload and try again."))
    if action == "agree":
        column = "recipient_agreed_at" if actor.id == plan.recipient_id else "approver_agreed_at"
        mine = getattr(Milestone, column)
        claimed = db.session.execute(
            sa.update(Milestone).where(Milestone.id == milestone.id, Milestone.state == "draft", mine.is_(None))
            .values({column: now}).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            raise changed_meanwhile
        both = db.session.execute(
            sa.update(Milestone).where(Milestone.id == milestone.id, Milestone.state == "draft",
                                       Milestone.recipient_agreed_at.is_not(None),
                                       Milestone.approver_agreed_at.is_not(None))
            .values(state="agreed", state_changed_at=now).execution_options(synchronize_session=False))
        to_state = "agreed" if both.rowcount == 1 else "draft"
    else:
        extra: dict[str, Any] = {}
        if action == "submit":
            extra = {"evidence_note": values["note"], "evidence_url": values["evidence_url"]}
        elif action == "approve":
            extra = {"approved_at": now}
        if not _claim(milestone, from_state, state=to_state, state_changed_at=now, **extra):
            raise changed_meanwhile
        if action == "pay":
            recipient = plan.recipient
            db.session.add(Payout(milestone_id=milestone.id, amount_minor=milestone.amount_minor,
                                  currency=plan.currency, paid_on=local_today(actor, now), paid_at=now,
                                  reference=values["reference"], department_id=recipient.department_id,
                                  recorded_by_id=actor.id))
            try:
                db.session.flush()
            except IntegrityError:
                raise Conflict(_("This milestone is already paid.")) from None
    event = MilestoneEvent(milestone_id=milestone.id, actor_id=actor.id, at=now, action=action,
                           from_state=from_state, to_state=to_state,
                           note=values.get("note") if action != "pay" else
                           _join(values.get("reference"), values.get("note")),
                           evidence_url=values.get("evidence_url"))
    db.session.add(event)
    db.session.flush()
    return event


def _join(*parts: str | None) -> str | None:
    return " — ".join(p for p in parts if p) or None


TERMS_ACTIONS = ("create", "edit", "cancel")


def terms_version(plan_id: int) -> int:
    """A number that changes whenever HR sets the plan's terms (creates, edits or cancels a milestone).

    Pages and API clients send back the version they showed with an agreement, so nobody agrees to
    terms changed after they read them.
    """
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(MilestoneEvent.id), 0))
        .join(Milestone, Milestone.id == MilestoneEvent.milestone_id)
        .where(Milestone.plan_id == plan_id, MilestoneEvent.action.in_(TERMS_ACTIONS)))


def digits_value(text: str) -> int | None:
    """The whole number ``text`` spells in at most 18 ASCII digits, else None (int() would take "²",
    and refuses very long text with an error of its own)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def _version(value: Any, field: str, errors: dict[str, str]) -> int | None:
    """A ``terms_version`` sent back by a page or a client (an int, or its digits as text), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and (number := digits_value(value)) is not None:
        value = number
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2 ** 63:
        errors[field] = _("Must be the terms_version of the plan you read (a whole number).")
        return None
    return value


def parse_terms_version(value: Any) -> int | None:
    """``_version`` for a single field. :raise ValidationError: naming ``terms_version``."""
    errors: dict[str, str] = {}
    version = _version(value, "terms_version", errors)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    return version


def _check_terms_seen(plan_id: int, seen: int | None) -> None:
    if seen is not None and seen != terms_version(plan_id):
        raise Conflict(_("HR changed the terms after you opened them. Read them again, then agree."))


def agree_to_plan(plan: MilestonePlan, actor: Person, now: datetime, *, terms_seen: int | None = None) -> int:
    """Agree, as recipient or approver, to every draft milestone of the plan not yet agreed by ``actor``.

    ``terms_seen`` is the ``terms_version`` the caller was shown, if known. Returns how many milestones
    were agreed to. :raise Forbidden: not a party to the plan. :raise Conflict: nothing is waiting for
    the caller's agreement, or the terms changed since ``terms_seen``.
    """
    if actor.id not in (plan.recipient_id, plan.approver_id):
        raise Forbidden(_("Only the recipient and the approver agree to the terms of a milestone."))
    _check_terms_seen(plan.id, terms_seen)
    column = Milestone.recipient_agreed_at if actor.id == plan.recipient_id else Milestone.approver_agreed_at
    pending = db.session.scalars(sa.select(Milestone.id).where(
        Milestone.plan_id == plan.id, Milestone.state == "draft", column.is_(None)).order_by(Milestone.position)).all()
    if not pending:
        raise Conflict(_("Nothing in this plan is waiting for your agreement."))
    for milestone_id in pending:
        perform(milestone_id, "agree", actor, {} if terms_seen is None else {"terms_version": terms_seen}, now)
    return len(pending)


def cancel_plan(plan: MilestonePlan, actor: Person, now: datetime, note: str | None = None) -> int:
    """HR cancels every milestone of the plan that is still draft or agreed; returns how many.

    Submitted, approved and paid milestones are left as they are (they go through approval and payment).
    :raise Forbidden: not HR. :raise Conflict: nothing left to cancel.
    """
    if not actor.is_hr:
        raise Forbidden(_("Only HR cancels milestones."))
    pending = db.session.scalars(sa.select(Milestone.id).where(
        Milestone.plan_id == plan.id, Milestone.state.in_(MACHINE["cancel"].from_states))
        .order_by(Milestone.position)).all()
    if not pending:
        raise Conflict(_("No milestone of this plan can be cancelled: only draft or agreed ones can."))
    for milestone_id in pending:
        perform(milestone_id, "cancel", actor, {"note": note} if note else {}, now)
    return len(pending)


def allowed_actions(milestone: Milestone, person: Person) -> list[str]:
    """The actions ``person`` could take on the milestone now (for showing the right buttons)."""
    allowed = []
    for action in ACTIONS:
        try:
            _check_actor(action, milestone.plan, person)
            _check_state(action, milestone, person)
        except (Forbidden, Conflict):
            continue
        allowed.append(action)
    return allowed


# --- Editing the terms before anyone agrees ---------------------------------------------


def _locked_message() -> str:
    return _("The terms of this plan are locked: the recipient or the approver has already agreed to them. "
             "To change them, cancel the plan and create a new one.")


def check_editable(plan: MilestonePlan, editor: Person, milestones: Iterable[Milestone] | None = None) -> None:
    """Whether ``editor`` may edit the plan's milestones now; returns None if so.

    HR may, until the recipient or the approver has agreed to any milestone of the plan (a cancelled one
    included): agreement locks the terms of the whole plan. ``milestones`` defaults to the plan's own.
    :raise Forbidden: not HR, or HR editing a plan they receive. :raise Conflict: someone has agreed, or
    every milestone is cancelled.
    """
    if not editor.is_hr:
        raise Forbidden(_("Only HR edits milestone plans."))
    if editor.id == plan.recipient_id:
        raise Forbidden(_("You cannot edit the terms of your own plan; another HR administrator must."))
    milestones = list(plan.milestones if milestones is None else milestones)
    if any(m.recipient_agreed_at is not None or m.approver_agreed_at is not None
           or m.state not in ("draft", "cancelled") for m in milestones):
        raise Conflict(_locked_message())
    if not any(m.state == "draft" for m in milestones):
        raise Conflict(_("Every milestone of this plan is cancelled; there is nothing left to edit."))


def can_edit(plan: MilestonePlan, person: Person) -> bool:
    try:
        check_editable(plan, person)
    except (Forbidden, Conflict):
        return False
    return True


def _clean_edit(data: Mapping[str, Any], plan: MilestonePlan, milestones: list[Milestone],
                locale: str) -> tuple[list[dict[str, Any]], str | None]:
    """The milestones as ``create_plan`` validates them, each with the ``id`` it changes (None: a new one)."""
    errors: dict[str, str] = {}
    for name in sorted(set(data) - {"milestones", "note", "terms_version"}):
        errors[name] = _("Unknown field.")
    note = _text(data.get("note"), "note", errors, required=None, limit=MAX_TEXT)
    seen = _version(data.get("terms_version"), "terms_version", errors)
    if seen is not None and not errors and seen != terms_version(plan.id):
        raise Conflict(_("Someone changed this plan after you opened it. Reload it and make your changes again."))
    raw = data.get("milestones")
    cleaned = _clean_milestones(raw, plan.currency, plan.starts_on, locale, errors)
    drafts = {m.id for m in milestones if m.state == "draft"}
    ids: list[int | None] = []
    for index, item in enumerate(raw if isinstance(raw, list) and len(raw) <= MAX_MILESTONES else []):
        ident = item.get("id") if isinstance(item, Mapping) else None
        if ident is not None and (isinstance(ident, bool) or not isinstance(ident, int) or ident not in drafts):
            errors[f"milestones.{index}.id"] = _("Not a draft milestone of this plan.")
        elif ident is not None and ident in ids:
            errors[f"milestones.{index}.id"] = _("This milestone is listed twice.")
        ids.append(ident)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    return [item | {"id": ident} for item, ident in zip(cleaned, ids, strict=True)], note


def _lock_plan(plan_id: int) -> list[Milestone]:
    # Every milestone of the plan, so that nobody agrees to one of them while the terms change
    # (on PostgreSQL; SQLite ignores FOR UPDATE: there the UPDATEs and the check after them in edit_plan do it).
    return list(db.session.scalars(
        sa.select(Milestone).where(Milestone.plan_id == plan_id).order_by(Milestone.id).with_for_update()
        .execution_options(populate_existing=True)))


TERM_FIELDS = ("title", "criteria", "amount_minor", "due_on")


def _describe_change(milestone: Milestone, item: Mapping[str, Any], position: int, currency: str) -> str:
    """What changed, old → new, for the event's note: language-neutral, with the API's field names."""

    def shown(name: str, value: Any) -> str:
        if name == "amount_minor":
            return f"{decimal_text(value, currency)} {currency}"
        return value.isoformat() if isinstance(value, date) else f"“{value}”"

    parts = [f"{'amount' if name == 'amount_minor' else name}: {shown(name, getattr(milestone, name))} → "
             f"{shown(name, item[name])}" for name in TERM_FIELDS if getattr(milestone, name) != item[name]]
    if milestone.position != position:
        parts.append(f"position: {milestone.position} → {position}")
    return "; ".join(parts)


def edit_plan(plan_id: int, data: Mapping[str, Any], editor: Person, now: datetime, *, locale: str = "en") -> int:
    """HR replaces a plan's milestones while nobody has agreed to them; returns how many events were written.

    ``data``: ``milestones``, the plan's milestones in payment order, each validated as in ``create_plan``
    (optional ``terms_version``: the plan's as the editor read it; refused with 409 if it changed since),
    (title, criteria, amount_minor or ``amount`` typed in ``locale``, due_on not before the plan starts),
    and optional ``note`` (why; kept on every event). An item with the ``id`` of one of the plan's draft
    milestones changes that milestone (an ``edit`` event, its note saying what changed, old → new); an item
    without ``id`` adds one (a ``create`` event); a draft milestone left out is cancelled (a ``cancel``
    event), since milestones are never deleted. Cancelled milestones keep their positions; the listed ones
    take the others in order. Sending the plan as it is writes nothing and returns 0.
    :raise NotFound: no such plan. :raise Forbidden: see ``check_editable``. :raise Conflict: someone has
    agreed, also concurrently: the terms are locked. :raise ValidationError: naming each bad field.
    Nothing is changed when it raises.
    """
    plan = get_plan(plan_id)
    try:
        if not editor.is_hr:
            raise Forbidden(_("Only HR edits milestone plans."))
        milestones = _lock_plan(plan.id)
        check_editable(plan, editor, milestones)
        items, note = _clean_edit(data, plan, milestones, locale)
        events = _apply_edit(plan, milestones, items, note, editor, now)
        db.session.add_all(events)
        db.session.flush()
        # Checked again once this transaction has written (so holds SQLite's write lock): an agreement to
        # a milestone this edit did not touch may have been committed since the rows were read.
        if events and db.session.scalar(sa.select(sa.func.count()).select_from(Milestone).where(
                Milestone.plan_id == plan.id, sa.or_(Milestone.recipient_agreed_at.is_not(None),
                                                     Milestone.approver_agreed_at.is_not(None)))):
            raise Conflict(_locked_message())
        if events:
            db.session.expire_all()  # the UPDATEs above bypassed the loaded milestones
            for person, role in ((plan.recipient, "recipient"), (plan.approver, "approver")):
                _queue_mail("reward_plan", person, plan, None, f"reward-plan:{plan.id}:{person.id}:{events[-1].id}",
                            now, role=role, changed=True)
        db.session.commit()
    except IntegrityError:  # a concurrent edit took a position first
        db.session.rollback()
        raise Conflict(_("Someone changed this plan after you opened it. Reload it and make your changes "
                         "again.")) from None
    except Exception:
        db.session.rollback()
        raise
    return len(events)


def _apply_edit(plan: MilestonePlan, milestones: list[Milestone], items: list[dict[str, Any]], note: str | None,
                editor: Person, now: datetime) -> list[MilestoneEvent]:
    by_id = {m.id: m for m in milestones}
    kept = {item["id"] for item in items if item["id"] is not None}
    removed = [m for m in milestones if m.state == "draft" and m.id not in kept]
    taken = {m.position for m in milestones if m.state == "cancelled" or m in removed}
    positions, position = [], 0
    for _item in items:
        position += 1
        while position in taken:
            position += 1
        positions.append(position)

    def update(milestone: Milestone, **values: Any) -> None:
        # Re-checked in the UPDATE itself: an agreement that slipped in meanwhile locks the terms.
        result = db.session.execute(
            sa.update(Milestone).where(Milestone.id == milestone.id, Milestone.state == "draft",
                                       Milestone.recipient_agreed_at.is_(None),
                                       Milestone.approver_agreed_at.is_(None))
            .values(**values).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise Conflict(_locked_message())

    def event(milestone_id: int, action: str, from_state: str | None, to_state: str,
              text: str | None) -> MilestoneEvent:
        return MilestoneEvent(milestone_id=milestone_id, actor_id=editor.id, at=now, action=action,
                              from_state=from_state, to_state=to_state, note=text)

    events = []
    for milestone in removed:
        update(milestone, state="cancelled", state_changed_at=now)
        events.append(event(milestone.id, "cancel", "draft", "cancelled", note))
    moving = [(by_id[item["id"]], p) for item, p in zip(items, positions, strict=True)
              if item["id"] is not None and by_id[item["id"]].position != p]
    # UNIQUE(plan_id, position) is checked row by row: park the moving rows above every position first.
    top = max([m.position for m in milestones] + positions)
    for offset, (milestone, _p) in enumerate(moving, start=1):
        update(milestone, position=top + offset)
    for item, p in zip(items, positions, strict=True):
        terms = {name: item[name] for name in TERM_FIELDS}
        if item["id"] is None:
            added = Milestone(plan_id=plan.id, position=p, state="draft", state_changed_at=now, **terms)
            db.session.add(added)
            db.session.flush()
            events.append(event(added.id, "create", None, "draft", note))
            continue
        milestone = by_id[item["id"]]
        change = _describe_change(milestone, item, p, plan.currency)
        if change:
            update(milestone, position=p, **terms)
            events.append(event(milestone.id, "edit", "draft", "draft", _join(change, note)))
    return events


def is_overdue(milestone: Milestone, now: datetime) -> bool:
    """Approved and unpaid for longer than the plan's payment terms."""
    return milestone.state == "approved" and milestone.approved_at is not None \
        and now > milestone.approved_at + timedelta(days=milestone.plan.payment_terms_days)


def payment_due(milestone: Milestone) -> datetime | None:
    if milestone.approved_at is None:
        return None
    return milestone.approved_at + timedelta(days=milestone.plan.payment_terms_days)


# --- The ledger -------------------------------------------------------------------------


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


# --- What people see --------------------------------------------------------------------


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


# --- History: payouts per month and the CSV export --------------------------------------


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
    rows = {d.id: (d.name, d.parent_id) for d in db.session.execute(
        sa.select(Department.id, Department.name, Department.parent_id))}
    roots = [i for i, (_n, parent) in rows.items() if parent is None]
    depth = 1 if len(roots) == 1 else 0

    def chain(dept_id: int) -> list[int]:
        path, seen = [], set()
        while dept_id is not None and dept_id not in seen:
            seen.add(dept_id)
            path.append(dept_id)
            dept_id = rows[dept_id][1]
        return list(reversed(path))

    return {dept_id: rows[chain(dept_id)[min(depth, len(chain(dept_id)) - 1)]][0] for dept_id in rows}


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
        values.append(None if raw in (None, "") else _date(raw, name, errors))
    if not errors and values[0] and values[1] and values[1] < values[0]:
        errors["to"] = _("The end of the period is before its start.")
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    return values[0], values[1]


# --- E-mail -----------------------------------------------------------------------------


def _queue_mail(template: str, person: Person, plan: MilestonePlan, milestone: Milestone | None, key: str,
                now: datetime, **context: Any) -> None:
    # Rendered now, in the person's language: e-mail is read outside their session.
    subject, text, html = mail.render(
        template, person.locale, person=person, plan=plan, milestone=milestone,
        company=current_app.config["POLSO_COMPANY_NAME"], **context)
    mail.queue(person.email, subject, text, body_html=html, kind=template, dedupe_key=key, now=now)


def _notify(milestone: Milestone, plan: MilestonePlan, event: MilestoneEvent, actor: Person,
            now: datetime) -> None:
    """Tell the person who acts next: the approver on submission, the recipient on a decision or payout."""
    if event.action == "submit":
        _queue_mail("reward_submitted", plan.approver, plan, milestone, f"reward:{event.id}:{plan.approver_id}",
                    now, actor=actor, event=event)
    elif event.action in ("approve", "request-changes", "pay"):
        _queue_mail("reward_update", plan.recipient, plan, milestone, f"reward:{event.id}:{plan.recipient_id}",
                    now, actor=actor, event=event)


# --- Reminders (periodic work) ----------------------------------------------------------

OVERDUE_REMINDER_EVERY_DAYS = 7
DECISION_REMINDER_AFTER = timedelta(days=7)
# Past this, the approver is not reminded (again): it bounds the reminder by time, not only by the
# outbox's dedupe key, which purge_sent deletes 90 days after sending.
DECISION_REMINDER_UNTIL = timedelta(days=60)


def days_overdue(milestone: Milestone, now: datetime) -> int:
    """Days since the payment was due, counting a started day: 1 from the first second overdue."""
    late = now - payment_due(milestone)
    return late.days + (1 if late % timedelta(days=1) else 0)


def _queue_once(template: str, person: Person, plan: MilestonePlan, milestone: Milestone, key: str,
                now: datetime, **context: Any) -> bool:
    """Queue and commit one reminder unless ``key`` was queued before; True if this call queued it."""
    if db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is not None:
        return False  # checked first, so that a repeated tick renders nothing
    _queue_mail(template, person, plan, milestone, key, now, **context)
    try:
        db.session.commit()
    except IntegrityError:  # another tick queued it first
        db.session.rollback()
        return False
    return True


def queue_overdue_reminders(now: datetime) -> int:
    """E-mail every active HR administrator about each overdue payment, in their language; returns how many.

    Overdue is ``is_overdue``: approved and unpaid past the plan's payment terms. The first reminder goes
    out on the first tick after the payment falls due, then one every 7 days while it stays unpaid: an
    unpaid reward is money owed to someone, so a single e-mail that gets lost is not enough. The dedupe key
    is per milestone, HR administrator and week of lateness (days 1-7, 8-14, ...), so no tick, however
    often or on however many hosts it runs, queues a reminder twice in one week, and two never come a day
    apart. The plan's recipient is not reminded of their own payment: they cannot record it.
    """
    admin_ids = db.session.scalars(sa.select(Person.id).where(Person.role == "hr_admin", Person.active)
                                   .order_by(Person.id)).all()
    overdue = [(m.id, b.id if b else None) for m, late, b in approved_unpaid(now) if late]
    queued = 0
    for milestone_id, blocker_id in overdue:
        milestone = db.session.get(Milestone, milestone_id, populate_existing=True)
        if milestone.state != "approved":
            continue  # paid (or cancelled) since the list was read
        days = days_overdue(milestone, now)
        week = (days - 1) // OVERDUE_REMINDER_EVERY_DAYS
        for admin_id in admin_ids:
            if admin_id == milestone.plan.recipient_id:
                continue
            admin = db.session.get(Person, admin_id)
            queued += _queue_once(
                "reward_overdue", admin, milestone.plan, milestone, f"reward-overdue:{milestone.id}:{admin.id}:{week}",
                now, days=days, approved_on=local_today(admin, milestone.approved_at),
                due_on=local_today(admin, payment_due(milestone)),
                blocker=db.session.get(Milestone, blocker_id) if blocker_id else None,
                every=OVERDUE_REMINDER_EVERY_DAYS)
    return queued


def queue_decision_reminders(now: datetime) -> int:
    """Remind the approver, once per submission, of a milestone submitted more than 7 days ago; returns how many.

    A resubmission after changes were requested starts a new wait and may be reminded of again.
    Deactivated approvers are not e-mailed, and a submission waiting for more than 60 days is not (a
    tick that ran in between has reminded of it; this keeps the old outbox purge from re-arming it).
    """
    last_submit = (sa.select(MilestoneEvent.milestone_id, sa.func.max(MilestoneEvent.id).label("event_id"))
                   .where(MilestoneEvent.action == "submit").group_by(MilestoneEvent.milestone_id).subquery())
    waiting = db.session.execute(
        sa.select(Milestone.id, last_submit.c.event_id)
        .join(last_submit, last_submit.c.milestone_id == Milestone.id)
        .where(Milestone.state == "submitted", Milestone.state_changed_at < now - DECISION_REMINDER_AFTER,
               Milestone.state_changed_at >= now - DECISION_REMINDER_UNTIL)
        .order_by(Milestone.state_changed_at, Milestone.id)).all()
    queued = 0
    for milestone_id, event_id in waiting:
        milestone = db.session.get(Milestone, milestone_id)
        approver = milestone.plan.approver
        if not approver.active:
            continue
        queued += _queue_once(
            "reward_decision_reminder", approver, milestone.plan, milestone,
            f"reward-decision:{milestone.id}:{event_id}:{approver.id}", now,
            days=(now - milestone.state_changed_at).days,
            submitted_on=local_today(approver, milestone.state_changed_at))
    return queued


def tick(now: datetime) -> dict[str, int]:
    """Periodic work due at ``now``: reminders of overdue payments (to HR) and of decisions waiting for
    more than 7 days (to the approver). Idempotent; ``tasks.tick`` sends the outbox afterwards.
    Returns how many reminders of each kind were queued.
    """
    return {"overdue_payment_reminders": queue_overdue_reminders(now),
            "decision_reminders": queue_decision_reminders(now)}
