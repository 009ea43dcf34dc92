"""Editing a plan's terms before anyone agrees to them.

One job: until the recipient or the approver has agreed to any milestone of a plan, HR may
correct its milestones (``edit_plan``); each change is an event too (``edit``, ``create`` or
``cancel``), milestones are never deleted, and an agreement, also a concurrent one, locks the
terms (also by a database trigger).

May import: ``rewards.plans`` (below it), ``rewards.money``, ``rewards.validators``,
``rewards.notifications``, ``audit``, the models and the session; not the state machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

import audit
import inputs
from errors import Conflict, Forbidden, ValidationError
from extensions import db
from people.models import Person
from rewards.models import Milestone, MilestoneEvent, MilestonePlan
from rewards.money import decimal_text
from rewards.notifications import queue_mail
from rewards.plans import MAX_MILESTONES, clean_milestones, get_plan, terms_version
from rewards.validators import MAX_TEXT, clean_text, clean_version, join_notes


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


def _clean_edit(data: Mapping[str, Any], plan: MilestonePlan,
                milestones: list[Milestone]) -> tuple[list[dict[str, Any]], str | None]:
    """The milestones as ``create_plan`` validates them, each with the ``id`` it changes (None: a new one)."""
    errors: dict[str, str] = {}
    for name in sorted(set(data) - {"milestones", "note", "terms_version"}):
        errors[name] = _("Unknown field.")
    note = clean_text(data.get("note"), "note", errors, required=None, limit=MAX_TEXT)
    seen = clean_version(data.get("terms_version"), "terms_version", errors)
    if seen is not None and not errors and seen != terms_version(plan.id):
        raise Conflict(_("Someone changed this plan after you opened it. Reload it and make your changes again."))
    raw = data.get("milestones")
    cleaned = clean_milestones(raw, plan.starts_on, errors)
    drafts = {m.id for m in milestones if m.state == "draft"}
    ids: list[int | None] = []
    for index, item in enumerate(raw if isinstance(raw, list) and len(raw) <= MAX_MILESTONES else []):
        ident = item.get("id") if isinstance(item, Mapping) else None
        if ident is not None and (not inputs.is_int(ident) or ident not in drafts):
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


def edit_plan(plan_id: int, data: Mapping[str, Any], editor: Person, now: datetime) -> int:
    """HR replaces a plan's milestones while nobody has agreed to them; returns how many events were written.

    ``data``: ``milestones``, the plan's milestones in payment order, each validated as in ``create_plan``
    (optional ``terms_version``: the plan's as the editor read it; refused with 409 if it changed since),
    (title, criteria, amount_minor, due_on not before the plan starts),
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
        items, note = _clean_edit(data, plan, milestones)
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
                queue_mail("reward_plan", person, plan, None, f"reward-plan:{plan.id}:{person.id}:{events[-1].id}",
                           now, role=role, changed=True)
            audit.record("plan.edited", actor=editor, target=plan, now=now,
                         summary=f"plan {plan.id}: {len(events)} changes to its milestones' terms")
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
            events.append(event(milestone.id, "edit", "draft", "draft", join_notes(change, note)))
    return events
