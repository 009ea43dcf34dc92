"""Business rules for one-on-ones.

The HTML pages, the JSON API, the calendar feed and ``tick`` all call these
functions. Each refusal raises from ``errors`` before anything is written.
Functions that depend on time take ``now`` (UTC).

Rules kept here:

- Only a manager and one of their active direct reports share a series; when
  the report's manager changes (or either person is deactivated) the series
  ends, found by ``end_broken_series`` from ``tick`` and whenever series are read.
- A new series, a schedule change and a moved occurrence are refused when
  they overlap any other one-on-one of the manager or the report (either as
  manager or as report) within ``CONFLICT_HORIZON``; paused series keep their slot.
- The agenda is shared by the pair: an item added for an occurrence shows on
  that occurrence and every later one of the same manager and report until
  it is ticked off ("carry-over"); it is not copied.
- Private notes are read by their author only: every query names the author.
- An agenda or action item added by mistake can be removed by whoever added
  it, while it is not ticked off; removing a carried-over item takes it off
  every meeting, since it is one row and not a copy.
- The report is told by e-mail when the manager moves, cancels or restores a
  meeting, or pauses, resumes or ends the series: queued in the same
  transaction as the change, once per change, never when nothing changed.
- Every change to a series or to one of its meetings raises the series'
  ``sequence`` and sets ``changed_at``, in the same transaction: what calendar
  clients are told (SEQUENCE, LAST-MODIFIED). Nothing changed, nothing raised.
- Starts are read by ``oneonones.reading`` (one reader for the form and the API):
  a wall-clock time the clocks skip is refused, naming the gap.

The calendar feed's secret URL and document are in ``oneonones.feeds``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date, format_time
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from errors import Conflict, Forbidden, NotFound, ValidationError
from extensions import db
from inputs import MAX_DATE, MIN_DATE, collect, invalid, read_date, read_id, read_text
from mail import services as mail
from mail.models import OutboxMessage
from oneonones import reading, schedule
from oneonones.models import (
    MAX_ITEM_LENGTH,
    MAX_NOTE_LENGTH,
    ActionItem,
    AgendaItem,
    OccurrenceException,
    PrivateNote,
    Series,
)
from people.models import Person

DEFAULT_DURATION = reading.DEFAULT_DURATION
CONFLICT_HORIZON = timedelta(days=366)
NOT_MET_DAYS = 30
REMINDER_AHEAD = timedelta(hours=24)
HISTORY_WINDOW = timedelta(days=366)
MAX_RANGE = timedelta(days=2 * 366)


# --- Occurrences ------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One meeting of a series. ``original_start`` names it; ``starts_at`` is when it happens."""

    series_id: int
    original_start: datetime
    starts_at: datetime
    ends_at: datetime
    status: str  # scheduled | moved | cancelled

    @property
    def key(self) -> str:
        return schedule.occurrence_key(self.original_start)

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


def exceptions_of(series_ids: Iterable[int]) -> dict[int, dict[datetime, OccurrenceException]]:
    """The moved and cancelled meetings of these series: series id → original start → row."""
    ids = list(series_ids)
    found: dict[int, dict[datetime, OccurrenceException]] = {i: {} for i in ids}
    if ids:
        for row in db.session.scalars(sa.select(OccurrenceException)
                                      .where(OccurrenceException.series_id.in_(ids))):
            found[row.series_id][row.original_start] = row
    return found


def occurrences(series: Series, start: datetime, end: datetime, *, ignore_pause: bool = False,
                exceptions: Mapping[datetime, OccurrenceException] | None = None) -> list[Occurrence]:
    """The series' occurrences happening in ``[start, end)``, cancelled ones included, by start time.

    A moved occurrence is listed where it now happens, so it may come from
    outside the window, or leave it. Nothing at or after the series' end (or,
    unless ``ignore_pause``, its pause) is listed.
    """
    if exceptions is None:
        exceptions = exceptions_of([series.id])[series.id]
    until = series.until(ignore_pause=ignore_pause)
    found: list[Occurrence] = []
    regular = schedule.expand(series.rrule, series.starts_at, series.timezone, series.duration_minutes,
                              start, end, until=until)
    for begins, ends in regular:
        exception = exceptions.get(begins)
        if exception is None:
            found.append(Occurrence(series.id, begins, begins, ends, "scheduled"))
        elif exception.status == "cancelled":
            found.append(Occurrence(series.id, begins, begins, ends, "cancelled"))
    for original, exception in exceptions.items():
        if exception.status == "moved" and start <= exception.starts_at < end \
                and (until is None or original < until):
            found.append(Occurrence(series.id, original, exception.starts_at, exception.ends_at, "moved"))
    found.sort(key=lambda o: (o.starts_at, o.original_start))
    return found


def find_occurrence(series: Series, key: str) -> Occurrence:
    """The occurrence named by ``key`` (its original start, as in the URL).

    :raise NotFound: the key is malformed or names no occurrence of this series.
    """
    original = schedule.parse_occurrence_key(key)
    # Outside the supported years no meeting can be due, and date arithmetic there overflows.
    if original is not None and MIN_DATE <= original.date() <= MAX_DATE:
        until = series.until()
        if schedule.expand(series.rrule, series.starts_at, series.timezone, series.duration_minutes,
                           original, original + timedelta(seconds=1), until=until):
            exception = db.session.scalar(sa.select(OccurrenceException).where(
                OccurrenceException.series_id == series.id, OccurrenceException.original_start == original))
            ends = original + timedelta(minutes=series.duration_minutes)
            if exception is None:
                return Occurrence(series.id, original, original, ends, "scheduled")
            if exception.status == "cancelled":
                return Occurrence(series.id, original, original, ends, "cancelled")
            return Occurrence(series.id, original, exception.starts_at, exception.ends_at, "moved")
    raise NotFound(_("No such meeting in this one-on-one series."))


def next_occurrence(series: Series, now: datetime) -> Occurrence | None:
    """The next meeting that is not cancelled and has not ended yet."""
    if series.status != "active":
        return None
    horizon = now
    for _attempt in range(4):
        found = [o for o in occurrences(series, horizon - timedelta(days=1), horizon + timedelta(days=120))
                 if not o.cancelled and o.ends_at > now]
        if found:
            return found[0]
        horizon += timedelta(days=120)
    return None


def upcoming(series: Series, now: datetime, limit: int = 6) -> list[Occurrence]:
    found = [o for o in occurrences(series, now - timedelta(days=1), now + timedelta(days=200)) if o.ends_at > now]
    return found[:limit]


def recent(series: Series, now: datetime, limit: int = 6) -> list[Occurrence]:
    found = [o for o in occurrences(series, now - HISTORY_WINDOW, now) if o.ends_at <= now]
    return found[-limit:][::-1]


def neighbours(series: Series, occurrence: Occurrence) -> tuple[Occurrence | None, Occurrence | None]:
    """The occurrences just before and after this one in the series, by original start."""
    here = occurrence.original_start
    before = occurrences(series, here - timedelta(days=62), here)
    after = occurrences(series, here + timedelta(seconds=1), here + timedelta(days=62))
    before = [o for o in before if o.original_start < here]
    after = [o for o in after if o.original_start > here]
    return (max(before, key=lambda o: o.original_start) if before else None,
            min(after, key=lambda o: o.original_start) if after else None)


# --- Who is in a series -----------------------------------------------------------------


def _broken_series_query():
    report = sa.orm.aliased(Person)
    manager = sa.orm.aliased(Person)
    return (sa.select(Series.id)
            .join(report, report.id == Series.report_id).join(manager, manager.id == Series.manager_id)
            .where(Series.status != "ended",
                   sa.or_(report.manager_id.is_(None), report.manager_id != Series.manager_id,
                          report.active.is_(False), manager.active.is_(False))))


def end_broken_series(now: datetime, person_ids: Iterable[int] | None = None) -> int:
    """End every series whose report no longer reports to its manager (or either left); commits.

    With ``person_ids``, only series involving those people are looked at.
    Returns how many series were ended.
    """
    stmt = _broken_series_query()
    if person_ids is not None:
        ids = list(person_ids)
        stmt = stmt.where(sa.or_(Series.manager_id.in_(ids), Series.report_id.in_(ids)))
    broken = db.session.scalars(stmt).all()
    if not broken:
        return 0
    ended = db.session.execute(sa.update(Series).where(Series.id.in_(broken), Series.status != "ended")
                               .values(status="ended", ends_at=now, paused_at=None, end_reason="manager_changed",
                                       sequence=Series.sequence + 1, changed_at=now))
    db.session.commit()
    return ended.rowcount


def relationship_intact(series: Series) -> bool:
    report, manager = series.report, series.manager
    return report.manager_id == series.manager_id and report.active and manager.active


def get_series(series_id: int, person: Person, now: datetime) -> Series:
    """A series that ``person`` takes part in.

    :raise NotFound: no such series. :raise Forbidden: ``person`` is neither its manager nor its report.
    """
    series = db.session.get(Series, series_id)
    if series is None:
        raise NotFound(_("No such one-on-one."))
    if not series.involves(person.id):
        raise Forbidden(_("Only the two people in a one-on-one can see it."))
    if series.status != "ended" and not relationship_intact(series):
        end_broken_series(now, [series.report_id])
        db.session.refresh(series)
    return series


def _require_writable(series: Series, person: Person) -> None:
    if not series.involves(person.id):
        raise Forbidden(_("Only the two people in a one-on-one can see it."))
    if not relationship_intact(series):
        raise Forbidden(_("This one-on-one ended when the reporting line changed; it can be read, not changed."))


def _require_manager(series: Series, person: Person) -> None:
    _require_writable(series, person)
    if person.id != series.manager_id:
        raise Forbidden(_("Only the manager can change the schedule."))
    if series.status == "ended":
        raise Conflict(_("This one-on-one series has ended."))


def can_write(series: Series, person: Person) -> bool:
    return series.involves(person.id) and relationship_intact(series)


def can_schedule(series: Series, person: Person) -> bool:
    return can_write(series, person) and person.id == series.manager_id and series.status != "ended"


def direct_reports(manager: Person) -> list[Person]:
    return list(db.session.scalars(sa.select(Person).where(Person.manager_id == manager.id, Person.active)
                                   .order_by(Person.name, Person.id)))


def current_series(manager_id: int, report_id: int) -> Series | None:
    return db.session.scalar(sa.select(Series).where(Series.manager_id == manager_id,
                                                     Series.report_id == report_id, Series.status != "ended"))


def _pair_series_ids(series: Series) -> list[int]:
    return list(db.session.scalars(sa.select(Series.id).where(Series.manager_id == series.manager_id,
                                                              Series.report_id == series.report_id)))


# --- Validation -------------------------------------------------------------------------


def _viewer_locale(person: Person | None) -> str:
    if has_request_context() and get_locale() is not None:
        return str(get_locale())
    return (person.locale if person else None) or current_app.config["BABEL_DEFAULT_LOCALE"]


def describe_slot(begins: datetime, ends: datetime, person: Person) -> str:
    """A meeting's time as ``person`` reads it: their time zone, the page's language."""
    tz = ZoneInfo(person.timezone or current_app.config["POLSO_DEFAULT_TIMEZONE"])
    locale = _viewer_locale(person)
    return _("%(date)s, %(start)s–%(end)s (%(timezone)s)",
             date=format_date(begins.astimezone(tz).date(), "full", locale=locale),
             start=format_time(begins, "short", tzinfo=tz, locale=locale),
             end=format_time(ends, "short", tzinfo=tz, locale=locale), timezone=tz.key)


def _resolve_report(manager: Person, data: Mapping[str, Any], errors: dict[str, str]) -> Person | None:
    from people.services import normalize_email

    try:
        if data.get("report_id") not in (None, ""):
            field = "report_id"
            report = db.session.get(Person, read_id(data["report_id"], field))
        else:
            field = "report_email"
            try:
                email = normalize_email(read_text(data.get("report_email"), field, max_length=254, single_line=True))
            except ValueError as error:
                raise invalid(field, str(error)) from None
            report = db.session.scalar(sa.select(Person).where(Person.email == email))
    except ValidationError as error:
        errors.update(error.fields)
        return None
    if report is None or not report.active:
        errors[field] = _("No active person with this e-mail.") if field == "report_email" \
            else _("Choose one of your direct reports.")
        return None
    if report.manager_id != manager.id or report.id == manager.id:
        raise Forbidden(_("%(name)s is not your direct report.", name=report.name),
                        {field: _("Not your direct report.")})
    return report


# --- Conflicts --------------------------------------------------------------------------


def _busy(person_ids: set[int], start: datetime, end: datetime, *, skip_series: int | None = None,
          skip_occurrence: tuple[int, datetime] | None = None) -> list[tuple[Occurrence, Series]]:
    """Every meeting (cancelled ones excepted) in ``[start, end)`` of a series involving these people."""
    rows = db.session.scalars(sa.select(Series).where(
        sa.or_(Series.manager_id.in_(person_ids), Series.report_id.in_(person_ids)),
        sa.or_(Series.ends_at.is_(None), Series.ends_at > start - timedelta(days=1)))).all()
    rows = [s for s in rows if s.id != skip_series]
    exceptions = exceptions_of(s.id for s in rows)
    busy = []
    for other in rows:
        for occ in occurrences(other, start - timedelta(days=1), end, ignore_pause=True,
                               exceptions=exceptions[other.id]):
            if occ.cancelled or (occ.series_id, occ.original_start) == skip_occurrence:
                continue
            busy.append((occ, other))
    busy.sort(key=lambda pair: pair[0].starts_at)
    return busy


def _first_clash(candidates: list[tuple[datetime, datetime]],
                 busy: list[tuple[Occurrence, Series]]) -> tuple[datetime, datetime, Occurrence, Series] | None:
    clashes = []
    for begins, ends in candidates:
        for occ, other in busy:
            if occ.starts_at >= ends:
                break
            if begins < occ.ends_at:
                clashes.append((begins, ends, occ, other))
                break
    return min(clashes, key=lambda c: c[0]) if clashes else None


def _refuse_clash(candidates: list[tuple[datetime, datetime]], people: set[int], actor: Person, field: str,
                  **skip) -> None:
    if not candidates:
        return
    start = min(c[0] for c in candidates)
    end = max(c[1] for c in candidates)
    clash = _first_clash(candidates, _busy(people, start, end, **skip))
    if clash is None:
        return
    _begins, _ends, occ, other = clash
    message = _("This overlaps the one-on-one of %(manager)s with %(report)s on %(when)s.",
                manager=other.manager.name, report=other.report.name,
                when=describe_slot(occ.starts_at, occ.ends_at, actor))
    raise Conflict(message, {field: message})


# --- Series -----------------------------------------------------------------------------


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
    default_tz = manager.timezone or current_app.config["POLSO_DEFAULT_TIMEZONE"]
    values = reading.clean_schedule(data, default_tz, now, _viewer_locale(manager), errors)
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
    _refuse_clash(candidates, {manager.id, report.id}, manager, field)
    series = Series(manager_id=manager.id, report_id=report.id, status="active", created_at=now, **values)
    db.session.add(series)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("You already have a one-on-one series with %(name)s; change it instead.",
                         name=report.name)) from None
    return series


def update_series(series: Series, actor: Person, data: Mapping[str, Any], now: datetime) -> Series:
    """Change cadence, time, length or time zone from a future meeting on.

    Before the first meeting the series is changed in place. After it, the
    series ends now and a new one continues with ``previous_id`` set, so past
    meetings (and what was said in them) keep their dates. Moves and
    cancellations of future meetings that the new schedule still has are kept;
    private notes written ahead for a future meeting move to the new schedule's
    next meeting. Returns the series now in force.
    :raise Conflict: paused or ended series, or an overlap. :raise ValidationError: bad fields.
    """
    _serialise(series)
    _require_manager(series, actor)
    if series.status == "paused":
        raise Conflict(_("Resume the series before changing its schedule."))
    errors: dict[str, str] = {}
    values = reading.clean_schedule(data, series.timezone, now, _viewer_locale(actor), errors)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    same_rule = all(getattr(series, name) == values[name] for name in ("rrule", "timezone", "duration_minutes"))
    first = values["starts_at"]
    if same_rule and (first == series.starts_at or schedule.expand(
            series.rrule, series.starts_at, series.timezone, series.duration_minutes, first,
            first + timedelta(seconds=1), until=series.until())):
        return series  # the form was sent back unchanged (it shows the next meeting, not the first)
    field = "starts_at" if "starts_at" in data else "starts_on"
    candidates = schedule.expand(values["rrule"], first, values["timezone"], values["duration_minutes"], first,
                                 first + CONFLICT_HORIZON)
    _refuse_clash(candidates, {series.manager_id, series.report_id}, actor, field, skip_series=series.id)
    if series.starts_at >= now:
        for name, value in values.items():
            setattr(series, name, value)
        _revise(series, now)
        db.session.execute(sa.delete(OccurrenceException).where(OccurrenceException.series_id == series.id))
        db.session.flush()
        _tell_report(series, "rescheduled", now, new=next_occurrence(series, now))
        db.session.commit()
        return series
    series.status, series.ends_at, series.end_reason = "ended", now, "rescheduled"
    _revise(series, now)
    db.session.flush()  # the old series leaves the "one current series per pair" index first
    follower = Series(manager_id=series.manager_id, report_id=series.report_id, status="active",
                      previous_id=series.id, created_at=now, **values)
    db.session.add(follower)
    db.session.flush()
    _carry_forward(series, follower, [b for b, _e in candidates], now)
    db.session.flush()
    _tell_report(follower, "rescheduled", now, new=next_occurrence(follower, now))
    db.session.commit()
    return follower


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


def _revise(series: Series, now: datetime) -> None:
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
    _require_manager(series, actor)
    if series.status != "active":
        return
    following = _first_called_off(series, now)
    if _change_status(series, ("active",), now, status="paused", paused_at=now):
        _tell_report(series, "paused", now, old=following)
        db.session.commit()


def resume_series(series: Series, actor: Person, now: datetime) -> None:
    """Schedule meetings again; those that fell in the pause are recorded as cancelled. The report is told."""
    _require_manager(series, actor)
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
    _tell_report(series, "resumed", now, new=next_occurrence(series, now))
    db.session.commit()


def end_series(series: Series, actor: Person, now: datetime) -> None:
    """No meetings from now on; the series and its history stay readable. The report is told."""
    _require_manager(series, actor)
    following = _first_called_off(series, now)
    if _change_status(series, ("active", "paused"), now, status="ended", ends_at=now, paused_at=None,
                      end_reason="ended"):
        _tell_report(series, "ended", now, old=following)
        db.session.commit()


def move_occurrence(series: Series, actor: Person, key: str, data: Mapping[str, Any], now: datetime) -> Occurrence:
    """Move one meeting to another time (and length); the rest of the series is untouched.

    ``data``: the new start (``starts_at`` with its offset, or ``starts_on`` + ``start_time`` in the
    series' time zone) and optional ``duration_minutes`` (the series' length). Moving a cancelled
    meeting puts it back on. The report is told, unless the meeting already was at that time
    (the form sent back unchanged). Returns the meeting as it is now.
    :raise NotFound: no such meeting. :raise Forbidden: not the series' manager.
    :raise ValidationError: bad time, or a time the clocks skip. :raise Conflict: the series has
      ended, or the meeting would overlap another one-on-one.
    """
    _serialise(series)
    _require_manager(series, actor)
    occurrence = find_occurrence(series, key)
    errors: dict[str, str] = {}
    slot, field = reading.clean_move(data, series.timezone, series.duration_minutes, _viewer_locale(actor), errors)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    begins, ends = slot
    if not occurrence.cancelled and (begins, ends) == (occurrence.starts_at, occurrence.ends_at):
        return occurrence
    _refuse_clash([slot], {series.manager_id, series.report_id}, actor, field,
                  skip_occurrence=(series.id, occurrence.original_start))
    row = db.session.scalar(sa.select(OccurrenceException).where(
        OccurrenceException.series_id == series.id, OccurrenceException.original_start == occurrence.original_start))
    if begins == occurrence.original_start and ends - begins == timedelta(minutes=series.duration_minutes):
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(OccurrenceException(series_id=series.id, original_start=occurrence.original_start,
                                           status="moved", starts_at=begins, ends_at=ends, changed_at=now))
    else:
        row.status, row.starts_at, row.ends_at, row.changed_at = "moved", begins, ends, now
    return _commit_occurrence_change(series, occurrence, now)


def _serialise(series: Series) -> None:
    """Take the series' row lock before reading what a change depends on, so that of two changes to it at
    once the second waits, then sees the first (and, say, finds the meeting already cancelled and tells
    no one twice). A no-op UPDATE: a row lock on PostgreSQL, the write lock on SQLite."""
    db.session.execute(sa.update(Series).where(Series.id == series.id).values(id=Series.id)
                       .execution_options(synchronize_session=False))
    db.session.expire_all()


def cancel_occurrence(series: Series, actor: Person, key: str, now: datetime) -> Occurrence:
    """Cancel one meeting; its agenda carries over to the next one. The report is told.

    Returns the meeting, cancelled; one already cancelled is left as it is.
    :raise NotFound: no such meeting. :raise Forbidden: not the series' manager. :raise Conflict: it has ended.
    """
    _serialise(series)
    _require_manager(series, actor)
    occurrence = find_occurrence(series, key)
    if occurrence.cancelled:
        return occurrence
    row = db.session.scalar(sa.select(OccurrenceException).where(
        OccurrenceException.series_id == series.id, OccurrenceException.original_start == occurrence.original_start))
    if row is None:
        db.session.add(OccurrenceException(series_id=series.id, original_start=occurrence.original_start,
                                           status="cancelled", changed_at=now))
    else:
        row.status, row.starts_at, row.ends_at, row.changed_at = "cancelled", None, None, now
    return _commit_occurrence_change(series, occurrence, now)


def restore_occurrence(series: Series, actor: Person, key: str, now: datetime) -> Occurrence:
    """Undo a cancellation or a move: the meeting is back at its usual time, unless that now clashes.

    The report is told. Returns the meeting as scheduled; one already there is left as it is.
    :raise NotFound: no such meeting. :raise Forbidden: not the series' manager.
    :raise Conflict: the series has ended, or its usual time now overlaps another one-on-one.
    """
    _serialise(series)
    _require_manager(series, actor)
    occurrence = find_occurrence(series, key)
    if occurrence.status == "scheduled":
        return occurrence
    slot = (occurrence.original_start, occurrence.original_start + timedelta(minutes=series.duration_minutes))
    _refuse_clash([slot], {series.manager_id, series.report_id}, actor, "starts_on",
                  skip_occurrence=(series.id, occurrence.original_start))
    db.session.execute(sa.delete(OccurrenceException).where(
        OccurrenceException.series_id == series.id, OccurrenceException.original_start == occurrence.original_start))
    return _commit_occurrence_change(series, occurrence, now)


def _commit_occurrence_change(series: Series, before: Occurrence, now: datetime) -> Occurrence:
    """Commit a change to one meeting together with the e-mail telling the report; returns the meeting now.

    :raise Conflict: another request changed the same meeting at the same moment (its row came first).
    """
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("This meeting was changed by someone else at the same moment; reload the page and "
                         "try again.")) from None
    after = find_occurrence(series, before.key)
    if (after.status, after.starts_at, after.ends_at) != (before.status, before.starts_at, before.ends_at):
        _revise(series, now)
    if after.cancelled and not before.cancelled:
        _tell_report(series, "cancelled", now, old=before, occurrence=after)
    elif before.cancelled and not after.cancelled:
        _tell_report(series, "reinstated", now, new=after, occurrence=after)
    elif (before.starts_at, before.ends_at) != (after.starts_at, after.ends_at):
        _tell_report(series, "moved", now, old=before, new=after, occurrence=after)
    db.session.commit()
    return after


def _slot_for(occurrence: Occurrence | None, tz: ZoneInfo, locale: str) -> dict[str, str] | None:
    """A meeting's date and times in ``tz`` and ``locale``; the template words them in the same language."""
    if occurrence is None:
        return None
    local = occurrence.starts_at.astimezone(tz)
    return {"day": format_date(local.date(), "full", locale=locale),
            "short_day": format_date(local.date(), "medium", locale=locale),
            "start": format_time(local, "short", tzinfo=tz, locale=locale),
            "end": format_time(occurrence.ends_at, "short", tzinfo=tz, locale=locale)}


def _tell_report(series: Series, change: str, now: datetime, *, old: Occurrence | None = None,
                 new: Occurrence | None = None, occurrence: Occurrence | None = None) -> None:
    """Queue the e-mail telling the report what the manager changed; the caller commits it with the change.

    ``change`` is moved, cancelled or reinstated (one meeting: ``occurrence``,
    linked to its page) or paused, resumed, rescheduled or ended (the series,
    linked to its page). ``old`` is the meeting as it was (for a pause or an end: the
    next meeting, which no longer takes place), ``new`` as it is now (for a
    resumption or a new schedule: the next meeting). Rendered as the reminder is: in the
    report's language and time zone.
    """
    person, manager = series.report, series.manager
    if not person.active:
        return  # as with the reminders: no e-mail to someone who has left
    tz = ZoneInfo(person.timezone or series.timezone)
    locale = person.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    key = occurrence.key if occurrence else None
    subject, text, html = mail.render(
        "oneonone_change", person.locale, person=person, other=manager, change=change, timezone=tz.key,
        old=_slot_for(old, tz, locale), new=_slot_for(new, tz, locale),
        series_id=series.id, key=key)
    # The change's time makes the key unique per change; the slot tells two moves apart within one instant.
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    slot = schedule.occurrence_key(new.starts_at) if new and occurrence else "-"
    mail.queue(person.email, subject, text, body_html=html, kind=f"oneonone_{change}",
               dedupe_key=f"1on1-{change}:{series.id}:{key or '-'}:{slot}:{stamp}", now=now)


# --- Agenda, action items, private notes ------------------------------------------------


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
        AgendaItem.series_id.in_(_pair_series_ids(series)), AgendaItem.occurrence_start <= here,
        sa.or_(AgendaItem.done_occurrence.is_(None), AgendaItem.done_occurrence >= here))
        .order_by(AgendaItem.occurrence_start, AgendaItem.id)).all()
    return [AgendaRow(i, i.occurrence_start < here, i.done_occurrence == here,
                      i.done_occurrence is not None and i.done_occurrence > here) for i in items]


def add_agenda_item(series: Series, occurrence: Occurrence, author: Person, text: Any, now: datetime) -> AgendaItem:
    _require_writable(series, author)
    text = read_text(text, "text", max_length=MAX_ITEM_LENGTH, single_line=True)
    item = AgendaItem(series_id=series.id, occurrence_start=occurrence.original_start, text=text,
                      author_id=author.id, created_at=now)
    db.session.add(item)
    db.session.commit()
    return item


def _pair_item(model, series: Series, item_id: int):
    item = db.session.get(model, item_id)
    if item is None or item.series_id not in _pair_series_ids(series):
        raise NotFound(_("No such item in this one-on-one."))
    return item


def toggle_agenda_item(series: Series, occurrence: Occurrence, person: Person, item_id: int,
                       now: datetime) -> AgendaItem:
    """Tick an item off at this meeting, or untick it."""
    _require_writable(series, person)
    item = _pair_item(AgendaItem, series, item_id)
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
    _require_writable(series, person)
    item = _pair_item(AgendaItem, series, item_id)
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
    stmt = sa.select(ActionItem).where(ActionItem.series_id.in_(_pair_series_ids(series)))
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
    _require_writable(series, author)
    errors: dict[str, str] = {}
    text = collect(errors, read_text, data.get("text"), "text", max_length=MAX_ITEM_LENGTH, single_line=True)
    owner_id = collect(errors, read_id, data.get("owner_id"), "owner_id")
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
    _require_writable(series, person)
    item = _pair_item(ActionItem, series, item_id)
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
    _require_writable(series, person)
    item = _pair_item(ActionItem, series, item_id)
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


# --- Overviews --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    report: Person
    series: Series | None  # the current one
    previous: Series | None  # the latest ended one, when there is no current one
    next: Occurrence | None
    last_met: datetime | None
    overdue: bool  # no meeting in the last NOT_MET_DAYS days


def last_meeting(manager_id: int, report_id: int, now: datetime) -> datetime | None:
    """When the pair last met (a meeting that ended, not cancelled), looking back a year."""
    latest = None
    for series in db.session.scalars(sa.select(Series).where(Series.manager_id == manager_id,
                                                             Series.report_id == report_id)):
        held = [o for o in occurrences(series, now - HISTORY_WINDOW, now) if not o.cancelled and o.ends_at <= now]
        if held and (latest is None or held[-1].starts_at > latest):
            latest = held[-1].starts_at
    return latest


def manager_overview(manager: Person, now: datetime) -> list[ReportRow]:
    """Each active direct report with their current series, next meeting and when they last met."""
    end_broken_series(now, [manager.id])
    rows = []
    for report in direct_reports(manager):
        series = current_series(manager.id, report.id)
        previous = None if series else db.session.scalar(
            sa.select(Series).where(Series.manager_id == manager.id, Series.report_id == report.id)
            .order_by(Series.ends_at.desc()).limit(1))
        last = last_meeting(manager.id, report.id, now)
        rows.append(ReportRow(report, series, previous, next_occurrence(series, now) if series else None, last,
                              last is None or now - last > timedelta(days=NOT_MET_DAYS)))
    return rows


@dataclass(frozen=True)
class SeriesRow:
    series: Series
    next: Occurrence | None


def series_as_report(person: Person, now: datetime) -> list[SeriesRow]:
    """The person's one-on-ones with their manager(s): current ones first, then past ones."""
    end_broken_series(now, [person.id])
    # A schedule change ends a series and starts its follower; the follower's page links back.
    found = db.session.scalars(sa.select(Series).where(
        Series.report_id == person.id, sa.or_(Series.end_reason.is_(None), Series.end_reason != "rescheduled"))
        .order_by(Series.status == "ended", Series.created_at.desc())).all()
    return [SeriesRow(s, next_occurrence(s, now)) for s in found]


def past_series_as_manager(manager: Person) -> list[Series]:
    """Ended series with people who no longer report to ``manager`` (their history stays readable)."""
    return list(db.session.scalars(
        sa.select(Series).join(Person, Person.id == Series.report_id)
        .where(Series.manager_id == manager.id, Series.status == "ended", Series.end_reason == "manager_changed")
        .order_by(Series.ends_at.desc()).limit(20)))


def series_history(series: Series) -> list[Series]:
    """All series of the same manager and report, newest first (a schedule change starts a new one)."""
    return list(db.session.scalars(sa.select(Series).where(Series.manager_id == series.manager_id,
                                                           Series.report_id == series.report_id)
                                   .order_by(Series.starts_at.desc())))


# --- Periodic work ----------------------------------------------------------------------


def _reminder_key(series: Series, occurrence: Occurrence, person: Person) -> str:
    return f"1on1-reminder:{series.id}:{schedule.occurrence_key(occurrence.starts_at)}:{person.id}"


def queue_reminders(now: datetime) -> int:
    """Queue an e-mail to both people for each meeting starting in the next 24 hours; once each."""
    queued = 0
    active = db.session.scalars(sa.select(Series).where(Series.status == "active").order_by(Series.id)).all()
    exceptions = exceptions_of(s.id for s in active)
    for series in active:
        soon = [o for o in occurrences(series, now, now + REMINDER_AHEAD, exceptions=exceptions[series.id])
                if not o.cancelled]
        for occurrence in soon:
            for person, other in ((series.manager, series.report), (series.report, series.manager)):
                key = _reminder_key(series, occurrence, person)
                if not person.active or db.session.scalar(
                        sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is not None:
                    continue
                items = [row.item.text for row in agenda(series, occurrence) if not row.item.done_occurrence]
                tz = ZoneInfo(person.timezone or series.timezone)
                locale = person.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
                local = occurrence.starts_at.astimezone(tz)
                subject, text, html = mail.render(
                    "oneonone_reminder", person.locale, person=person, other=other, timezone=tz.key,
                    day=format_date(local.date(), "full", locale=locale),
                    short_day=format_date(local.date(), "medium", locale=locale),
                    time=format_time(local, "short", tzinfo=tz, locale=locale),
                    minutes=int((occurrence.ends_at - occurrence.starts_at).total_seconds() // 60),
                    agenda=items, series_id=series.id, key=occurrence.key)
                mail.queue(person.email, subject, text, body_html=html, kind="oneonone_reminder",
                           dedupe_key=key, now=now)
                try:
                    db.session.commit()
                except IntegrityError:  # another tick queued it first
                    db.session.rollback()
                    continue
                queued += 1
    return queued


def tick(now: datetime) -> dict[str, int]:
    """Periodic work due at ``now``; idempotent. Returns counts of what it did.

    Ends series whose reporting line changed, then queues tomorrow's
    reminders (``tasks.tick`` sends the outbox afterwards).
    """
    ended = end_broken_series(now)
    return {"series_ended": ended, "reminders": queue_reminders(now)}
