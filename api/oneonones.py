"""API v1: one-on-one series, their occurrences (with agenda and action items), changes to one
meeting (move, cancel, restore) and the caller's calendar feed.

Private notes are deliberately absent: no endpoint reads them. Every value a client sends is
read by the services (``oneonones.reading`` and the readers of ``inputs``), as for the pages.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import g, jsonify, request
from flask_babel import gettext as _

from api import bp, core
from api.openapi import error_responses, json_content, ref
from errors import NotFound, ValidationError
from inputs import collect, read_date, read_datetime
from oneonones import feeds
from oneonones.access import get_series
from oneonones.agenda import AgendaRow, action_items, agenda, delete_action_item, delete_agenda_item
from oneonones.meetings import cancel_occurrence, move_occurrence, restore_occurrence
from oneonones.models import CADENCES, MAX_DURATION, MIN_DURATION, ActionItem, Series
from oneonones.occurrences import MAX_RANGE, Occurrence, find_occurrence, next_occurrence, occurrences
from oneonones.series import create_series

DEFAULT_RANGE = timedelta(days=90)
MOVE_FIELDS = ("starts_at", "duration_minutes")


def series_json(series: Series, now: datetime) -> dict:
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


def _body(*fields: str, required: tuple[str, ...] = ()) -> dict:
    """The JSON object sent, holding only ``fields``, ``required`` ones present; else a 400 or a 422."""
    data = core.json_body()
    core.require_fields(data, *required)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValidationError(_("Some fields are not valid."), {k: _("Unknown field.") for k in unknown})
    return data


@bp.post("/one-on-ones")
@core.token_required()
def oneonones_create():
    data = _body("report_email", "cadence", "starts_at", "duration_minutes", "timezone",
                 required=("report_email", "cadence", "starts_at"))
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
def oneonones_occurrences(series_id: int):
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
def oneonones_occurrence(series_id: int, key: str):
    series = get_series(series_id, g.api_user, datetime.now(UTC))
    occurrence = find_occurrence(series, key)
    return jsonify({**occurrence_json(occurrence),
                    "agenda": [agenda_item_json(r) for r in agenda(series, occurrence)],
                    "action_items": [action_item_json(i) for i in action_items(series, occurrence)]})


@bp.delete("/one-on-ones/<int:series_id>/agenda-items/<int:item_id>")
@core.token_required()
def oneonones_agenda_delete(series_id: int, item_id: int):
    series = get_series(series_id, g.api_user, datetime.now(UTC))
    delete_agenda_item(series, g.api_user, item_id)
    return "", 204


@bp.delete("/one-on-ones/<int:series_id>/action-items/<int:item_id>")
@core.token_required()
def oneonones_action_delete(series_id: int, item_id: int):
    series = get_series(series_id, g.api_user, datetime.now(UTC))
    delete_action_item(series, g.api_user, item_id)
    return "", 204


@bp.post("/one-on-ones/<int:series_id>/occurrences/<key>/move")
@core.token_required()
def oneonones_occurrence_move(series_id: int, key: str):
    data = _body(*MOVE_FIELDS, required=("starts_at",))
    now = datetime.now(UTC)
    series = get_series(series_id, g.api_user, now)
    return jsonify(occurrence_json(move_occurrence(series, g.api_user, key, data, now)))


@bp.post("/one-on-ones/<int:series_id>/occurrences/<key>/cancel")
@core.token_required()
def oneonones_occurrence_cancel(series_id: int, key: str):
    now = datetime.now(UTC)
    series = get_series(series_id, g.api_user, now)
    return jsonify(occurrence_json(cancel_occurrence(series, g.api_user, key, now)))


@bp.post("/one-on-ones/<int:series_id>/occurrences/<key>/restore")
@core.token_required()
def oneonones_occurrence_restore(series_id: int, key: str):
    now = datetime.now(UTC)
    series = get_series(series_id, g.api_user, now)
    return jsonify(occurrence_json(restore_occurrence(series, g.api_user, key, now)))


@bp.get("/me/calendar")
@core.token_required()
def my_calendar():
    url = feeds.feed_url(g.api_user, datetime.now(UTC))
    if url is None:
        raise NotFound(_("You have no calendar feed: none was made, or it was switched off. "
                         "POST /api/v1/me/calendar makes one."))
    return jsonify({"url": url})


@bp.post("/me/calendar")
@core.token_required()
def my_calendar_create():
    return jsonify({"url": feeds.regenerate_feed(g.api_user, datetime.now(UTC))}), 201


def _errors(*codes: int) -> dict:
    return error_responses(*codes, e403="Not a participant, or not the caller's direct report",
                           e409="Overlaps another one-on-one (named in the message), or the pair already has a series")


OPENAPI_SCHEMAS: dict = {
    "OneOnOneInput": {
        "type": "object", "required": ["report_email", "cadence", "starts_at"], "additionalProperties": False,
        "properties": {
            "report_email": {"type": "string", "format": "email", "description": "One of the caller's direct reports."},
            "cadence": {"enum": list(CADENCES),
                        "description": "monthly meets on the same weekday of the month (e.g. the second Tuesday)."},
            "starts_at": {"type": "string", "format": "date-time",
                          "description": "The first meeting, ISO 8601 with its UTC offset, in the future, between "
                                         "1900 and 2199. Refused (422) when its time, written in the series' time "
                                         "zone's offset, is skipped by a clock change (02:30 on the spring change "
                                         "in Rome), or is the second of a time the clocks repeat."},
            "duration_minutes": {"type": "integer", "minimum": MIN_DURATION, "maximum": MAX_DURATION,
                                 "default": 60},
            "timezone": {"type": "string", "description": "IANA name; the caller's time zone by default. "
                                                          "Meetings keep their wall-clock time in it."},
        },
    },
    "OneOnOneMoveInput": {
        "type": "object", "required": ["starts_at"], "additionalProperties": False,
        "properties": {
            "starts_at": {"type": "string", "format": "date-time",
                          "description": "The new start, ISO 8601 with its UTC offset, between 1900 and 2199. "
                                         "Refused (422) when its time, written in the series' time zone's offset, "
                                         "is skipped by a clock change."},
            "duration_minutes": {"type": "integer", "minimum": MIN_DURATION, "maximum": MAX_DURATION,
                                 "description": "The new length; the series' length by default."},
        },
    },
    "OneOnOneOccurrence": {
        "type": "object", "required": ["starts_at", "ends_at", "status", "original_starts_at", "key"],
        "properties": {
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
            "status": {"enum": ["scheduled", "moved", "cancelled"],
                       "description": "A cancelled meeting keeps its usual times."},
            "original_starts_at": {"type": "string", "format": "date-time",
                                   "description": "When the meeting was due before a move (its RECURRENCE-ID)."},
            "key": {"type": "string", "pattern": "^[0-9]{8}T[0-9]{6}Z$",
                    "description": "original_starts_at in UTC as YYYYMMDDTHHMMSSZ: names the meeting in URLs."},
        },
    },
    "OneOnOneAgendaItem": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "text": {"type": "string"}, "author_email": {"type": "string"},
            "added_for": {"type": "string", "format": "date-time",
                          "description": "original_starts_at of the meeting it was added for."},
            "carried_over": {"type": "boolean", "description": "Added for an earlier meeting, not ticked off there."},
            "done": {"type": "boolean"},
            "done_for": {"type": ["string", "null"], "format": "date-time",
                         "description": "original_starts_at of the meeting at which it was ticked off."},
        },
    },
    "OneOnOneActionItem": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "text": {"type": "string"}, "owner_email": {"type": "string"},
            "due_on": {"type": ["string", "null"], "format": "date"},
            "added_for": {"type": "string", "format": "date-time"}, "done": {"type": "boolean"},
            "done_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "OneOnOneMeeting": {
        "allOf": [ref("OneOnOneOccurrence"), {
            "type": "object",
            "properties": {
                "agenda": {"type": "array", "items": ref("OneOnOneAgendaItem"),
                           "description": "Its own items and those carried over from earlier meetings."},
                "action_items": {"type": "array", "items": ref("OneOnOneActionItem"),
                                 "description": "Those agreed at this meeting and those still open from before."},
            },
        }],
    },
    "OneOnOneSeries": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "manager_email": {"type": "string"}, "report_email": {"type": "string"},
            "cadence": {"enum": list(CADENCES)}, "rrule": {"type": "string", "description": "RFC 5545 RRULE"},
            "starts_at": {"type": "string", "format": "date-time"}, "duration_minutes": {"type": "integer"},
            "timezone": {"type": "string"}, "status": {"enum": ["active", "paused", "ended"]},
            "next_occurrence": {"oneOf": [ref("OneOnOneOccurrence"), {"type": "null"}]},
        },
    },
}

_SERIES_ID = {"name": "series_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_KEY = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "The meeting's key (see OneOnOneOccurrence)."}
# Empty is the same as absent: the default.
_BOUND = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"},
                    {"const": ""}]}
_FEED = json_content({"type": "object", "required": ["url"], "additionalProperties": False,
                      "properties": {"url": {"type": "string", "format": "uri"}}})


def _change(summary: str, *, body: dict | None = None) -> dict:
    """One change to one meeting: the series' manager only, same rules and e-mail as on the page."""
    codes = (400, 401, 403, 404, 409, 422) if body else (401, 403, 404, 409)
    operation = {
        "summary": summary,
        "description": "Only the series' manager; the report is told by e-mail, once per change. "
                       "Nothing is changed (and nobody told) when the meeting already is as asked.",
        "parameters": [_SERIES_ID, _KEY],
        "responses": {"200": {"description": "The meeting as it is now", **json_content(ref("OneOnOneOccurrence"))},
                      **error_responses(*codes, e403="Not one of the two people in the one-on-one, or not its "
                                                     "manager",
                                        e409="The series has ended, the meeting would overlap another one-on-one "
                                             "(named in the message), or someone changed it at the same moment",
                                        e422="Invalid fields, or a start the clocks skip (named in the message)")},
    }
    if body:
        operation["requestBody"] = {"required": True, **json_content(body)}
    return {"post": operation}


OPENAPI_PATHS: dict = {
    "/one-on-ones": {"post": {
        "summary": "Schedule a recurring one-on-one with one of the caller's direct reports",
        "requestBody": {"required": True, **json_content(ref("OneOnOneInput"))},
        "responses": {"201": {"description": "The series", **json_content(ref("OneOnOneSeries"))},
                      **_errors(400, 401, 403, 409, 422)}}},
    "/one-on-ones/{series_id}/occurrences": {"get": {
        "summary": "Meetings of a series in a time range (its manager and report only)",
        "parameters": [
            _SERIES_ID,
            {"name": "from", "in": "query", "schema": _BOUND,
             "description": "Date (from its start, in the series' time zone) or date-time with offset, between "
                            "1900 and 2199; default now."},
            {"name": "to", "in": "query", "schema": _BOUND,
             "description": "Date (through its end) or date-time with offset (exclusive), between 1900 and 2199; "
                            "default from + 90 days; after from, and at most two years after it."}],
        "responses": {"200": {"description": "Meetings by start time, cancelled ones included",
                              **json_content({"type": "array", "items": ref("OneOnOneOccurrence")})},
                      **_errors(401, 403, 404, 422)}}},
    "/one-on-ones/{series_id}/occurrences/{key}": {"get": {
        "summary": "One meeting with its shared agenda and action items (its manager and report only; "
                   "private notes are never returned)",
        "parameters": [_SERIES_ID, _KEY],
        "responses": {"200": {"description": "The meeting", **json_content(ref("OneOnOneMeeting"))},
                      **error_responses(401, 403, 404, e403="Not one of the two people in the one-on-one")}}},
    "/one-on-ones/{series_id}/agenda-items/{item_id}": {"delete": {
        "summary": "Remove an agenda item added by mistake: only the person who added it, while it is not "
                   "ticked off. It leaves every meeting it was carried over to.",
        "parameters": [
            {"name": "series_id", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"204": {"description": "Removed"},
                      **error_responses(401, 403, 404, 409, e403="Not the person who added the item, or not in "
                                                                 "the one-on-one (the message says which)",
                                        e409="The item is ticked off; reopen it first")}}},
    "/one-on-ones/{series_id}/action-items/{item_id}": {"delete": {
        "summary": "Remove an action item added by mistake: only the person who added it, while it is not done",
        "parameters": [
            {"name": "series_id", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"204": {"description": "Removed"},
                      **error_responses(401, 403, 404, 409, e403="Not the person who added the item, or not in "
                                                                 "the one-on-one (the message says which)",
                                        e409="The item is done; reopen it first")}}},
    "/one-on-ones/{series_id}/occurrences/{key}/move": _change(
        "Move one meeting to another time (and length); a cancelled one is put back on at that time",
        body=ref("OneOnOneMoveInput")),
    "/one-on-ones/{series_id}/occurrences/{key}/cancel": _change(
        "Cancel one meeting; its open agenda items carry over to the next one"),
    "/one-on-ones/{series_id}/occurrences/{key}/restore": _change(
        "Put a moved or cancelled meeting back at its usual time"),
    "/me/calendar": {
        "get": {
            "summary": "The caller's private calendar feed (.ics) URL, if they have one",
            "description": "Never makes one: a feed switched off stays off until POST makes a new one.",
            "responses": {"200": {"description": "Feed URL", **_FEED},
                          **error_responses(401, 404, e404="No feed: none was made, or it was switched off")}},
        "post": {
            "summary": "Make the caller's calendar feed, or give it a new secret URL (the old one stops working)",
            "responses": {"201": {"description": "The new feed URL", **_FEED}, **error_responses(401)}},
    },
}
