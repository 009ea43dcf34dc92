"""API v1: one-on-one series, their occurrences (with agenda and action items), changes to one
meeting (move, cancel, restore) and the caller's calendar feed.

Private notes are deliberately absent: no endpoint reads them. Every value a client sends is
read by the services (``oneonones.reading`` and the readers of ``inputs``), as for the pages.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from flask import g, jsonify, request
from flask_babel import gettext as _
from pydantic import Field, RootModel, WithJsonSchema

from api import bp, core
from api.spec import Input, Output, Query, operation, responses
from errors import NotFound, ValidationError
from inputs import collect, read_date, read_datetime
from oneonones import feeds
from oneonones.access import get_series
from oneonones.agenda import AgendaRow, action_items, agenda, delete_action_item, delete_agenda_item
from oneonones.meetings import cancel_occurrence, move_occurrence, restore_occurrence
from oneonones.models import CADENCES, MAX_DURATION, MIN_DURATION, ActionItem
from oneonones.models import Series as SeriesRow
from oneonones.occurrences import MAX_RANGE, Occurrence, find_occurrence, next_occurrence, occurrences
from oneonones.series import create_series

DEFAULT_RANGE = timedelta(days=90)

CADENCE = Literal[CADENCES]  # type: ignore[valid-type]
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Duration = Annotated[int, Field(ge=MIN_DURATION, le=MAX_DURATION)]


class OneOnOneInput(Input):
    report_email: str = Field(json_schema_extra={"format": "email"}, description="One of the caller's direct reports.")
    cadence: CADENCE = Field(description="monthly meets on the same weekday of the month (e.g. the second Tuesday).")
    starts_at: DateTime = Field(description="The first meeting, ISO 8601 with its UTC offset, in the future, between "
                                            "1900 and 2199. Refused (422) when its time, written in the series' time "
                                            "zone's offset, is skipped by a clock change (02:30 on the spring change "
                                            "in Rome), or is the second of a time the clocks repeat.")
    duration_minutes: Duration = 60
    timezone: str = Field(None, description="IANA name; the caller's time zone by default. "
                                            "Meetings keep their wall-clock time in it.")


class OneOnOneMoveInput(Input):
    starts_at: DateTime = Field(description="The new start, ISO 8601 with its UTC offset, between 1900 and 2199. "
                                            "Refused (422) when its time, written in the series' time zone's offset, "
                                            "is skipped by a clock change.")
    duration_minutes: Duration = Field(None, description="The new length; the series' length by default.")


class OneOnOneOccurrence(Output):
    starts_at: DateTime
    ends_at: DateTime
    status: Literal["scheduled", "moved", "cancelled"] = Field(description="A cancelled meeting keeps its usual times.")
    original_starts_at: DateTime = Field(description="When the meeting was due before a move (its RECURRENCE-ID).")
    key: str = Field(pattern="^[0-9]{8}T[0-9]{6}Z$",
                     description="original_starts_at in UTC as YYYYMMDDTHHMMSSZ: names the meeting in URLs.")


class OneOnOneOccurrenceList(RootModel[list[OneOnOneOccurrence]]):
    pass


class OneOnOneAgendaItem(Output):
    id: int
    text: str
    author_email: str
    added_for: DateTime = Field(description="original_starts_at of the meeting it was added for.")
    carried_over: bool = Field(description="Added for an earlier meeting, not ticked off there.")
    done: bool
    done_for: DateTime | None = Field(description="original_starts_at of the meeting at which it was ticked off.")


class OneOnOneActionItem(Output):
    id: int
    text: str
    owner_email: str
    due_on: str | None = Field(json_schema_extra={"format": "date"})
    added_for: DateTime
    done: bool
    done_at: DateTime | None


class OneOnOneMeeting(OneOnOneOccurrence):
    agenda: list[OneOnOneAgendaItem] = Field(description="Its own items and those carried over from earlier meetings.")
    action_items: list[OneOnOneActionItem] = Field(
        description="Those agreed at this meeting and those still open from before.")


class OneOnOneSeries(Output):
    id: int
    manager_email: str
    report_email: str
    cadence: CADENCE
    rrule: str = Field(description="RFC 5545 RRULE")
    starts_at: DateTime
    duration_minutes: int
    timezone: str
    status: Literal["active", "paused", "ended"]
    next_occurrence: OneOnOneOccurrence | None


class CalendarFeed(Output):
    url: str = Field(json_schema_extra={"format": "uri"})


# Empty is the same as absent: the default.
Bound = Annotated[str, WithJsonSchema({"anyOf": [{"type": "string", "format": "date"},
                                                 {"type": "string", "format": "date-time"}, {"const": ""}]})]


class OccurrencesQuery(Query):
    from_: Bound = Field(None, alias="from", description="Date (from its start, in the series' time zone) or date-time "
                                                         "with offset, between 1900 and 2199; default now.")
    to: Bound = Field(None, description="Date (through its end) or date-time with offset (exclusive), between 1900 "
                                        "and 2199; default from + 90 days; after from, and at most two years after it.")


_PEOPLE_403 = "Not one of the two people in the one-on-one, or not its manager"
_ITEM_403 = "Not the person who added the item, or not in the one-on-one (the message says which)"
_CHANGE = {"e403": _PEOPLE_403, "e409": "The series has ended, the meeting would overlap another one-on-one (named in "
                                      "the message), or someone changed it at the same moment",
               "e422": "Invalid fields, or a start the clocks skip (named in the message)",
               "d200": "The meeting as it is now"}


def series_json(series: SeriesRow, now: datetime) -> dict:
    following = next_occurrence(series, now)
    return {"id": series.id, "manager_email": series.manager.email, "report_email": series.report.email,
            "cadence": series.cadence, "rrule": series.rrule, "starts_at": series.starts_at.isoformat(),
            "duration_minutes": series.duration_minutes, "timezone": series.timezone, "status": series.status,
            "next_occurrence": occurrence_json(following) if following else None}


def occurrence_json(occurrence: Occurrence) -> dict:
    return {"starts_at": occurrence.starts_at.isoformat(), "ends_at": occurrence.ends_at.isoformat(),
            "status": occurrence.status, "original_starts_at": occurrence.original_start.isoformat(),
            "key": occurrence.key}


def agenda_item_json(row: AgendaRow) -> dict:
    item = row.item
    return {"id": item.id, "text": item.text, "author_email": item.author.email,
            "added_for": item.occurrence_start.isoformat(), "carried_over": row.carried,
            "done": item.done_occurrence is not None,
            "done_for": item.done_occurrence.isoformat() if item.done_occurrence else None}


def action_item_json(item: ActionItem) -> dict:
    return {"id": item.id, "text": item.text, "owner_email": item.owner.email,
            "due_on": item.due_on.isoformat() if item.due_on else None,
            "added_for": item.occurrence_start.isoformat(), "done": item.done_at is not None,
            "done_at": item.done_at.isoformat() if item.done_at else None}


@bp.post("/one-on-ones")
@core.token_required()
@operation(json=OneOnOneInput, responses=responses(
    {201: OneOnOneSeries}, 400, 401, 403, 409, e403="Not the caller's direct report",
    e409="Overlaps another one-on-one (named in the message), or the pair already has a series"))
def oneonones_create():
    """Schedule a recurring one-on-one with one of the caller's direct reports"""
    data = core.json_body()
    now = datetime.now(UTC)
    series = create_series(g.api_user, data, now)
    return jsonify(series_json(series, now)), 201


def _read_bound(raw: str, name: str, timezone: str, *, end: bool) -> datetime:
    """A query bound: a date (its whole day, in the series' time zone) or a date-time with its offset."""
    if len(raw.strip()) == len("2026-03-31"):
        day = read_date(raw, name)
        # The day after 2199-12-31 is still a date; nothing later is read.
        local = datetime.combine(day + timedelta(days=1) if end else day, time(0), ZoneInfo(timezone))
        return local.astimezone(UTC)
    return read_datetime(raw, name)


@bp.get("/one-on-ones/<int:series_id>/occurrences")
@core.token_required()
@operation(query=OccurrencesQuery, responses=responses(
    {200: OneOnOneOccurrenceList}, 401, 403, 404, e403="Not one of the two people in the one-on-one",
    d200="Meetings by start time, cancelled ones included"))
def oneonones_occurrences(series_id: int):
    """Meetings of a series in a time range (its manager and report only)"""
    now = datetime.now(UTC)
    series = get_series(series_id, g.api_user, now)
    errors: dict[str, str] = {}
    bounds = {name: collect(errors, _read_bound, request.args[name], name, series.timezone, end=name == "to")
              if request.args.get(name) else None for name in ("from", "to")}
    start, end = bounds["from"], bounds["to"]
    if not errors:
        start = start or now
        end = end or start + DEFAULT_RANGE
        if end <= start:
            errors["to"] = _("Must be after from.")
        elif end - start > MAX_RANGE:
            errors["to"] = _("At most two years after from.")
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    return jsonify([occurrence_json(o) for o in occurrences(series, start, end)])


@bp.get("/one-on-ones/<int:series_id>/occurrences/<key>")
@core.token_required()
@operation(responses=responses({200: OneOnOneMeeting}, 401, 403, 404,
                                e403="Not one of the two people in the one-on-one"))
def oneonones_occurrence(series_id: int, key: str):
    """One meeting with its shared agenda and action items (its manager and report only; private notes are never
    returned)"""
    series = get_series(series_id, g.api_user, datetime.now(UTC))
    occurrence = find_occurrence(series, key)
    return jsonify({**occurrence_json(occurrence),
                    "agenda": [agenda_item_json(r) for r in agenda(series, occurrence)],
                    "action_items": [action_item_json(i) for i in action_items(series, occurrence)]})


@bp.delete("/one-on-ones/<int:series_id>/agenda-items/<int:item_id>")
@core.token_required()
@operation(responses=responses({204: None}, 401, 403, 404, 409, e403=_ITEM_403,
                                e409="The item is ticked off; reopen it first"))
def oneonones_agenda_delete(series_id: int, item_id: int):
    """Remove an agenda item added by mistake: only the person who added it, while it is not ticked off. It leaves
    every meeting it was carried over to."""
    series = get_series(series_id, g.api_user, datetime.now(UTC))
    delete_agenda_item(series, g.api_user, item_id)
    return "", 204


@bp.delete("/one-on-ones/<int:series_id>/action-items/<int:item_id>")
@core.token_required()
@operation(responses=responses({204: None}, 401, 403, 404, 409, e403=_ITEM_403,
                                e409="The item is done; reopen it first"))
def oneonones_action_delete(series_id: int, item_id: int):
    """Remove an action item added by mistake: only the person who added it, while it is not done"""
    series = get_series(series_id, g.api_user, datetime.now(UTC))
    delete_action_item(series, g.api_user, item_id)
    return "", 204


@bp.post("/one-on-ones/<int:series_id>/occurrences/<key>/move")
@core.token_required()
@operation(json=OneOnOneMoveInput, responses=responses({200: OneOnOneOccurrence}, 400, 401, 403, 404, 409,
                                                        **_CHANGE))
def oneonones_occurrence_move(series_id: int, key: str):
    """Move one meeting to another time (and length); a cancelled one is put back on at that time

    Only the series' manager; the report is told by e-mail, once per change. Nothing is changed (and nobody told)
    when the meeting already is as asked.
    """
    data = core.json_body()
    now = datetime.now(UTC)
    series = get_series(series_id, g.api_user, now)
    return jsonify(occurrence_json(move_occurrence(series, g.api_user, key, data, now)))


@bp.post("/one-on-ones/<int:series_id>/occurrences/<key>/cancel")
@core.token_required()
@operation(responses=responses({200: OneOnOneOccurrence}, 401, 403, 404, 409, **_CHANGE))
def oneonones_occurrence_cancel(series_id: int, key: str):
    """Cancel one meeting; its open agenda items carry over to the next one

    Only the series' manager; the report is told by e-mail, once per change. Nothing is changed (and nobody told)
    when the meeting already is as asked.
    """
    now = datetime.now(UTC)
    series = get_series(series_id, g.api_user, now)
    return jsonify(occurrence_json(cancel_occurrence(series, g.api_user, key, now)))


@bp.post("/one-on-ones/<int:series_id>/occurrences/<key>/restore")
@core.token_required()
@operation(responses=responses({200: OneOnOneOccurrence}, 401, 403, 404, 409, **_CHANGE))
def oneonones_occurrence_restore(series_id: int, key: str):
    """Put a moved or cancelled meeting back at its usual time

    Only the series' manager; the report is told by e-mail, once per change. Nothing is changed (and nobody told)
    when the meeting already is as asked.
    """
    now = datetime.now(UTC)
    series = get_series(series_id, g.api_user, now)
    return jsonify(occurrence_json(restore_occurrence(series, g.api_user, key, now)))


@bp.get("/me/calendar")
@core.token_required()
@operation(responses=responses({200: CalendarFeed}, 401, 404, d200="Feed URL",
                                e404="No feed: none was made, or it was switched off"))
def my_calendar():
    """The caller's private calendar feed (.ics) URL, if they have one

    Never makes one: a feed switched off stays off until POST makes a new one.
    """
    url = feeds.feed_url(g.api_user, datetime.now(UTC))
    if url is None:
        raise NotFound(_("You have no calendar feed: none was made, or it was switched off. "
                         "POST /api/v1/me/calendar makes one."))
    return jsonify({"url": url})


@bp.post("/me/calendar")
@core.token_required()
@operation(responses=responses({201: CalendarFeed}, 401, d201="The new feed URL"))
def my_calendar_create():
    """Make the caller's calendar feed, or give it a new secret URL (the old one stops working)"""
    return jsonify({"url": feeds.regenerate_feed(g.api_user, datetime.now(UTC))}), 201
