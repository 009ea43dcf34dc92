"""What a pair shares about each meeting: the agenda, action items, and each one's private notes.

One job, with its rules:

- The agenda is shared by the pair: an item added for an occurrence shows on that occurrence
  and every later one of the same manager and report until it is ticked off ("carry-over");
  it is not copied.
- Private notes are read by their author only: every query names the author.
- An agenda or action item added by mistake can be removed by whoever added it, while it is
  not ticked off; removing a carried-over item takes it off every meeting, since it is one row
  and not a copy.

May import: ``errors``, ``extensions``, ``inputs``, ``oneonones.models``,
``oneonones.occurrences``, ``oneonones.access``, ``people.models``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from errors import Conflict, Forbidden, NotFound, ValidationError
from extensions import db
from inputs import collect, read_date, read_id, read_text
from oneonones.access import pair_series_ids, require_writable
from oneonones.models import MAX_ITEM_LENGTH, MAX_NOTE_LENGTH, ActionItem, AgendaItem, PrivateNote, Series
from oneonones.occurrences import Occurrence
from people.models import Person


@dataclass(frozen=True)
class AgendaRow:
    item: AgendaItem
    carried: bool  # added for an earlier meeting
    done_here: bool
    done_later: bool


def agenda(series: Series, occurrence: Occurrence) -> list[AgendaRow]:
    """The shared agenda of one meeting: its own items and the unticked ones from earlier meetings."""
    here = occurrence.original_start
    items = db.session.scalars(sa.select(AgendaItem).where(
        AgendaItem.series_id.in_(pair_series_ids(series)), AgendaItem.occurrence_start <= here,
        sa.or_(AgendaItem.done_occurrence.is_(None), AgendaItem.done_occurrence >= here))
        .order_by(AgendaItem.occurrence_start, AgendaItem.id)).all()
    return [AgendaRow(i, i.occurrence_start < here, i.done_occurrence == here,
                      i.done_occurrence is not None and i.done_occurrence > here) for i in items]


def add_agenda_item(series: Series, occurrence: Occurrence, author: Person, text: Any, now: datetime) -> AgendaItem:
    require_writable(series, author)
    text = read_text(text, "text", max_length=MAX_ITEM_LENGTH, single_line=True)
    item = AgendaItem(series_id=series.id, occurrence_start=occurrence.original_start, text=text,
                      author_id=author.id, created_at=now)
    db.session.add(item)
    db.session.commit()
    return item


def pair_item(model, series: Series, item_id: int):
    item = db.session.get(model, item_id)
    if item is None or item.series_id not in pair_series_ids(series):
        raise NotFound(_("No such item in this one-on-one."))
    return item


def toggle_agenda_item(series: Series, occurrence: Occurrence, person: Person, item_id: int,
                       now: datetime) -> AgendaItem:
    """Tick an item off at this meeting, or untick it."""
    require_writable(series, person)
    item = pair_item(AgendaItem, series, item_id)
    if item.occurrence_start > occurrence.original_start:
        raise Conflict(_("This item is on a later meeting's agenda."))
    if item.done_occurrence is None:
        item.done_occurrence, item.done_by_id, item.done_at = occurrence.original_start, person.id, now
    else:
        item.done_occurrence, item.done_by_id, item.done_at = None, None, None
    _commit_item_change()
    return item


def _commit_item_change() -> None:
    """Commit a tick or untick; the item may have been removed since it was read (StaleDataError)."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise NotFound(_("This item was removed meanwhile.")) from None


def delete_agenda_item(series: Series, person: Person, item_id: int) -> AgendaItem:
    """Remove an agenda item added by mistake; returns it, detached.

    The item is one row, shown from the meeting it was added for until it is
    ticked off, so removing it (from whichever meeting's page) takes it off
    that meeting and every later one; the other items carry over as before.
    :raise NotFound: no such item in this pair's one-on-ones. :raise Forbidden: ``person`` did not add it
      (or is not in the series, or the series is read-only). :raise Conflict: it is ticked off.
    """
    require_writable(series, person)
    item = pair_item(AgendaItem, series, item_id)
    if item.author_id != person.id:
        raise Forbidden(_("Only %(name)s, who added this item, can remove it.", name=item.author.name))
    ticked = _("This item is ticked off; reopen it first if you want to remove it.")
    if item.done_occurrence is not None:
        raise Conflict(ticked)
    # Conditional, so that an item ticked by the other person a moment ago is not removed after all.
    _delete_if(item, AgendaItem.done_occurrence.is_(None), ticked)
    return item


def _delete_if(item: AgendaItem | ActionItem, condition, refusal: str) -> None:
    """Delete ``item`` if ``condition`` still holds in the database, and commit; else raise."""
    model, item_id = type(item), item.id
    removed = db.session.execute(sa.delete(model).where(model.id == item_id, condition)
                                 .execution_options(synchronize_session=False)).rowcount
    if removed != 1:
        db.session.rollback()
        if db.session.scalar(sa.select(model.id).where(model.id == item_id)) is None:
            raise NotFound(_("No such item in this one-on-one."))
        raise Conflict(refusal)
    db.session.expunge(item)
    db.session.commit()


def action_items(series: Series, occurrence: Occurrence | None = None) -> list[ActionItem]:
    """The pair's action items: with an occurrence, those agreed there and those still open from before."""
    stmt = sa.select(ActionItem).where(ActionItem.series_id.in_(pair_series_ids(series)))
    if occurrence is not None:
        here = occurrence.original_start
        stmt = stmt.where(sa.or_(ActionItem.occurrence_start == here,
                                 sa.and_(ActionItem.occurrence_start < here, ActionItem.done_at.is_(None))))
    else:
        stmt = stmt.where(ActionItem.done_at.is_(None))
    return list(db.session.scalars(stmt.order_by(ActionItem.done_at.is_not(None), ActionItem.due_on.is_(None),
                                                  ActionItem.due_on, ActionItem.id)))


def add_action_item(series: Series, occurrence: Occurrence, author: Person, data: Mapping[str, Any],
                    now: datetime) -> ActionItem:
    """``data``: ``text``, ``owner_id`` (the manager or the report), optional ``due_on`` (a date)."""
    require_writable(series, author)
    errors: dict[str, str] = {}
    text = collect(errors, read_text, data.get("text"), "text", max_length=MAX_ITEM_LENGTH, single_line=True)
    owner_id = collect(errors, read_id, data.get("owner_id"), "owner_id", from_text=False)
    if owner_id is not None and owner_id not in (series.manager_id, series.report_id):
        errors["owner_id"] = _("The owner is one of the two people in the one-on-one.")
    due_on = collect(errors, read_date, data.get("due_on"), "due_on", required=False)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    item = ActionItem(series_id=series.id, occurrence_start=occurrence.original_start, text=text,
                      owner_id=owner_id, due_on=due_on, created_by_id=author.id, created_at=now)
    db.session.add(item)
    db.session.commit()
    return item


def toggle_action_item(series: Series, person: Person, item_id: int, now: datetime) -> ActionItem:
    require_writable(series, person)
    item = pair_item(ActionItem, series, item_id)
    item.done_at = None if item.done_at else now
    _commit_item_change()
    return item


def delete_action_item(series: Series, person: Person, item_id: int) -> ActionItem:
    """Remove an action item added by mistake; returns it, detached.

    Only the person who added it may, and only while it is not done. Open
    items show on every later meeting; removing one takes it off all of them.
    :raise NotFound: no such item in this pair's one-on-ones. :raise Forbidden: ``person`` did not add it
      (or is not in the series, or the series is read-only). :raise Conflict: it is done.
    """
    require_writable(series, person)
    item = pair_item(ActionItem, series, item_id)
    if item.created_by_id != person.id:
        author = db.session.get(Person, item.created_by_id)
        raise Forbidden(_("Only %(name)s, who added this item, can remove it.", name=author.name))
    done = _("This action item is done; reopen it first if you want to remove it.")
    if item.done_at is not None:
        raise Conflict(done)
    _delete_if(item, ActionItem.done_at.is_(None), done)
    return item


def private_note(series: Series, occurrence: Occurrence, author: Person) -> PrivateNote | None:
    """``author``'s own note on this meeting; nobody else's is ever returned."""
    return db.session.scalar(sa.select(PrivateNote).where(
        PrivateNote.series_id == series.id, PrivateNote.occurrence_start == occurrence.original_start,
        PrivateNote.author_id == author.id))


def save_private_note(series: Series, occurrence: Occurrence, author: Person, body: Any,
                      now: datetime) -> PrivateNote | None:
    """Write ``author``'s note on this meeting; an empty body deletes it."""
    if not series.involves(author.id):
        raise Forbidden(_("Only the two people in a one-on-one can see it."))
    body = read_text(body, "body", max_length=MAX_NOTE_LENGTH, required=False)
    note = private_note(series, occurrence, author)
    if not body:
        if note is not None:
            db.session.delete(note)
            db.session.commit()
        return None
    if note is None:
        note = PrivateNote(series_id=series.id, occurrence_start=occurrence.original_start, author_id=author.id)
        db.session.add(note)
    note.body, note.updated_at = body, now
    db.session.commit()
    return note
