"""A one-on-one series: scheduling it, changing its schedule, pausing, resuming and ending it.

One job: the series row and its life. A new series, a schedule change (refused when it
overlaps, see ``oneonones.conflicts``), a pause, a resumption and an end. Every change to a
series or to one of its meetings raises the series' ``sequence`` and sets ``changed_at`` in
the same transaction (``revise``): what calendar clients are told (SEQUENCE, LAST-MODIFIED).
Nothing changed, nothing raised. Starts are read by ``oneonones.reading`` (one reader for
the form and the API): a wall-clock time the clocks skip is refused, naming the gap.

May import: ``errors``, ``extensions``, ``inputs``, ``oneonones.models``, ``oneonones.schedule``,
``oneonones.reading``, ``oneonones.occurrences``, ``oneonones.access``, ``oneonones.wording``,
``oneonones.conflicts``, ``oneonones.notices``, ``people``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from errors import Conflict, Forbidden, ValidationError
from extensions import db
from inputs import invalid, read_text
from oneonones import reading, schedule
from oneonones.access import current_series, end_broken_series, require_manager
from oneonones.conflicts import CONFLICT_HORIZON, refuse_clash
from oneonones.models import OccurrenceException, PrivateNote, Series
from oneonones.notices import tell_report
from oneonones.occurrences import Occurrence, exceptions_of, next_occurrence, occurrences
from oneonones.wording import viewer_locale
from people.models import Person
from people.timezones import timezone_name


def _resolve_report(manager: Person, data: Mapping[str, Any], errors: dict[str, str]) -> Person | None:
    """The report named by ``report_email`` (the page sends the one chosen as its e-mail too)."""
    from people.directory import normalize_email

    field = "report_email"
    try:
        try:
            email = normalize_email(read_text(data.get("report_email"), field, max_length=254, single_line=True))
        except ValueError as error:
            raise invalid(field, str(error)) from None
        report = db.session.scalar(sa.select(Person).where(Person.email == email))
    except ValidationError as error:
        errors.update(error.fields)
        return None
    if report is None or not report.active:
        errors[field] = _("No active person with this e-mail.")
        return None
    if report.manager_id != manager.id or report.id == manager.id:
        raise Forbidden(_("%(name)s is not your direct report.", name=report.name),
                        {field: _("Not your direct report.")})
    return report


def create_series(manager: Person, data: Mapping[str, Any], now: datetime) -> Series:
    """Schedule a recurring one-on-one of ``manager`` with one of their direct reports.

    ``data``: ``report_email`` (or ``report_id``), ``cadence``, the first
    meeting (``starts_at`` with offset, or ``starts_on`` + ``start_time``),
    optional ``duration_minutes`` (60) and ``timezone`` (the manager's).
    :raise ValidationError: bad fields. :raise Forbidden: not a direct report.
    :raise Conflict: the pair already has a series, or a meeting would overlap another one-on-one.
    """
    errors: dict[str, str] = {}
    report = _resolve_report(manager, data, errors)
    default_tz = timezone_name(manager)
    values = reading.clean_schedule(data, default_tz, now, viewer_locale(manager), errors)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    end_broken_series(now, [report.id])
    if current_series(manager.id, report.id) is not None:
        raise Conflict(_("You already have a one-on-one series with %(name)s; change it instead.", name=report.name),
                       {"report_email": _("Already has a one-on-one series with you.")})
    field = "starts_at" if "starts_at" in data else "starts_on"
    candidates = schedule.expand(values["rrule"], values["starts_at"], values["timezone"],
                                 values["duration_minutes"], values["starts_at"],
                                 values["starts_at"] + CONFLICT_HORIZON)
    refuse_clash(candidates, {manager.id, report.id}, manager, field)
    series = Series(manager_id=manager.id, report_id=report.id, status="active", created_at=now, **values)
    db.session.add(series)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("You already have a one-on-one series with %(name)s; change it instead.",
                         name=report.name)) from None
    return series


@dataclass(frozen=True)
class Rescheduled:
    """What a schedule change did: the series now in force, and whether anything changed."""

    series: Series
    changed: bool  # False when the schedule sent is the one in force (the form sent back unchanged)


def require_schedule_change(series: Series, actor: Person) -> None:
    """Refuse unless ``actor`` may change the series' schedule now: the manager, of a running series.

    :raise Forbidden: not the series' manager, or the reporting line changed (read-only).
    :raise Conflict: the series has ended, or is paused (resume it first); the message says which.
    """
    require_manager(series, actor)
    if series.status == "paused":
        raise Conflict(_("Resume the series before changing its schedule."))


def schedule_form_start(series: Series, now: datetime) -> datetime:
    """The meeting a new schedule starts from, as the schedule form shows it: the next meeting (as
    originally due) or, with none to come, the first; in the series' time zone, to the minute.

    A schedule sent back unchanged from there changes nothing (see ``reschedule``).
    """
    following = next_occurrence(series, now)
    first = following.original_start if following else series.starts_at
    return first.astimezone(ZoneInfo(series.timezone)).replace(second=0, microsecond=0)


def update_series(series: Series, actor: Person, data: Mapping[str, Any], now: datetime) -> Series:
    """Change the schedule (see ``reschedule``); returns the series now in force."""
    return reschedule(series, actor, data, now).series


def reschedule(series: Series, actor: Person, data: Mapping[str, Any], now: datetime) -> Rescheduled:
    """Change cadence, time, length or time zone from a future meeting on.

    Before the first meeting the series is changed in place. After it, the
    series ends now and a new one continues with ``previous_id`` set, so past
    meetings (and what was said in them) keep their dates. Moves and
    cancellations of future meetings that the new schedule still has are kept;
    private notes written ahead for a future meeting move to the new schedule's
    next meeting. Returns the series now in force, and whether it changed: a
    schedule sent back as it is (the form shows the next meeting, not the first)
    changes nothing and tells no one.
    :raise Forbidden: not the series' manager, or the reporting line changed.
    :raise Conflict: paused or ended series, or an overlap. :raise ValidationError: bad fields.
    """
    serialise(series)
    require_schedule_change(series, actor)
    errors: dict[str, str] = {}
    values = reading.clean_schedule(data, series.timezone, now, viewer_locale(actor), errors)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    same_rule = all(getattr(series, name) == values[name] for name in ("rrule", "timezone", "duration_minutes"))
    first = values["starts_at"]
    if same_rule and (first == series.starts_at or schedule.expand(
            series.rrule, series.starts_at, series.timezone, series.duration_minutes, first,
            first + timedelta(seconds=1), until=series.until())):
        return Rescheduled(series, changed=False)  # the form sent back unchanged
    field = "starts_at" if "starts_at" in data else "starts_on"
    candidates = schedule.expand(values["rrule"], first, values["timezone"], values["duration_minutes"], first,
                                 first + CONFLICT_HORIZON)
    refuse_clash(candidates, {series.manager_id, series.report_id}, actor, field, skip_series=series.id)
    if series.starts_at >= now:
        for name, value in values.items():
            setattr(series, name, value)
        revise(series, now)
        db.session.execute(sa.delete(OccurrenceException).where(OccurrenceException.series_id == series.id))
        db.session.flush()
        tell_report(series, "rescheduled", now, new=next_occurrence(series, now))
        db.session.commit()
        return Rescheduled(series, changed=True)
    series.status, series.ends_at, series.end_reason = "ended", now, "rescheduled"
    revise(series, now)
    db.session.flush()  # the old series leaves the "one current series per pair" index first
    follower = Series(manager_id=series.manager_id, report_id=series.report_id, status="active",
                      previous_id=series.id, created_at=now, **values)
    db.session.add(follower)
    db.session.flush()
    _carry_forward(series, follower, [b for b, _e in candidates], now)
    db.session.flush()
    tell_report(follower, "rescheduled", now, new=next_occurrence(follower, now))
    db.session.commit()
    return Rescheduled(follower, changed=True)


def _carry_forward(old: Series, follower: Series, new_starts: list[datetime], now: datetime) -> None:
    """Give the follower what was already arranged for the old series' future meetings."""
    kept = set(new_starts)
    for row in db.session.scalars(sa.select(OccurrenceException).where(
            OccurrenceException.series_id == old.id, OccurrenceException.original_start >= now)):
        if row.original_start in kept:
            db.session.add(OccurrenceException(series_id=follower.id, original_start=row.original_start,
                                               status=row.status, starts_at=row.starts_at, ends_at=row.ends_at,
                                               changed_at=now))
    if not new_starts:
        return
    for note in db.session.scalars(sa.select(PrivateNote).where(
            PrivateNote.series_id == old.id, PrivateNote.occurrence_start >= now)).all():
        target = next((b for b in new_starts if b >= note.occurrence_start), new_starts[-1])
        existing = db.session.scalar(sa.select(PrivateNote).where(
            PrivateNote.series_id == follower.id, PrivateNote.occurrence_start == target,
            PrivateNote.author_id == note.author_id))
        if existing is None:
            note.series_id, note.occurrence_start = follower.id, target
        else:
            existing.body = f"{existing.body}\n\n{note.body}"
            db.session.delete(note)
        db.session.flush()


def revise(series: Series, now: datetime) -> None:
    """Tell calendar clients the series changed: its SEQUENCE goes up, its LAST-MODIFIED is ``now``.

    Called by every change to a series or to one of its meetings, in the change's transaction.
    """
    series.sequence = (series.sequence or 0) + 1
    series.changed_at = now


def _change_status(series: Series, current: tuple[str, ...], now: datetime, **values: Any) -> bool:
    """Set ``values`` on the series (and revise it) if its status is still one of ``current``; False if not.

    A conditional UPDATE, so that of two requests racing (a double click) only
    one changes the series and tells the report.
    """
    changed = db.session.execute(sa.update(Series).where(Series.id == series.id, Series.status.in_(current))
                                 .values(sequence=Series.sequence + 1, changed_at=now, **values)).rowcount
    if changed != 1:
        db.session.rollback()
        return False
    return True


def _first_called_off(series: Series, now: datetime) -> Occurrence | None:
    """The first meeting that pausing or ending the series at ``now`` calls off, if any.

    Both hide the meetings originally due from ``now`` on; one in progress goes ahead.
    """
    if series.status != "active":
        return None
    start = now - timedelta(days=1)
    for _attempt in range(4):
        found = [o for o in occurrences(series, start, start + timedelta(days=120))
                 if not o.cancelled and o.original_start >= now and o.ends_at > now]
        if found:
            return found[0]
        start += timedelta(days=120)
    return None


def pause_series(series: Series, actor: Person, now: datetime) -> None:
    """Stop scheduling meetings from now on, keeping the slot; past meetings stay. The report is told."""
    require_manager(series, actor)
    if series.status != "active":
        return
    following = _first_called_off(series, now)
    if _change_status(series, ("active",), now, status="paused", paused_at=now):
        tell_report(series, "paused", now, old=following)
        db.session.commit()


def resume_series(series: Series, actor: Person, now: datetime) -> None:
    """Schedule meetings again; those that fell in the pause are recorded as cancelled. The report is told."""
    require_manager(series, actor)
    if series.status != "paused":
        return
    paused_at = series.paused_at
    if not _change_status(series, ("paused",), now, status="active", paused_at=None):
        return
    exceptions = exceptions_of([series.id])[series.id]
    skipped = schedule.expand(series.rrule, series.starts_at, series.timezone, series.duration_minutes,
                              paused_at, now)
    for begins, _ends in skipped:
        row = exceptions.get(begins)
        if row is None:
            db.session.add(OccurrenceException(series_id=series.id, original_start=begins, status="cancelled",
                                               changed_at=now))
        else:
            row.status, row.starts_at, row.ends_at, row.changed_at = "cancelled", None, None, now
    db.session.flush()
    tell_report(series, "resumed", now, new=next_occurrence(series, now))
    db.session.commit()


def end_series(series: Series, actor: Person, now: datetime) -> None:
    """No meetings from now on; the series and its history stay readable. The report is told."""
    require_manager(series, actor)
    following = _first_called_off(series, now)
    if _change_status(series, ("active", "paused"), now, status="ended", ends_at=now, paused_at=None,
                      end_reason="ended"):
        tell_report(series, "ended", now, old=following)
        db.session.commit()


def serialise(series: Series) -> None:
    """Take the series' row lock before reading what a change depends on, so that of two changes to it at
    once the second waits, then sees the first (and, say, finds the meeting already cancelled and tells
    no one twice). A no-op UPDATE: a row lock on PostgreSQL, the write lock on SQLite."""
    db.session.execute(sa.update(Series).where(Series.id == series.id).values(id=Series.id)
                       .execution_options(synchronize_session=False))
    db.session.expire_all()
