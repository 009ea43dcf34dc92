"""API v1: one-on-one series, their occurrences and the caller's calendar feed.

Private notes are deliberately absent: no endpoint reads them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import g, jsonify, request
from flask_babel import gettext as _

from api import core
from api.openapi import error_responses, json_content, ref
from api.views import bp
from errors import ValidationError
from oneonones import services
from oneonones.models import CADENCES, MAX_DURATION, MIN_DURATION, Series

DEFAULT_RANGE = timedelta(days=90)


def series_json(series: Series, now: datetime) -> dict:
    following = services.next_occurrence(series, now)
    return {"id": series.id, "manager_email": series.manager.email, "report_email": series.report.email,
            "cadence": series.cadence, "rrule": series.rrule, "starts_at": series.starts_at.isoformat(),
            "duration_minutes": series.duration_minutes, "timezone": series.timezone, "status": series.status,
            "next_occurrence": occurrence_json(following) if following else None}


def occurrence_json(occurrence: services.Occurrence) -> dict:
    return {"starts_at": occurrence.starts_at.isoformat(), "ends_at": occurrence.ends_at.isoformat(),
            "status": occurrence.status, "original_starts_at": occurrence.original_start.isoformat()}


@bp.post("/one-on-ones")
@core.token_required()
def oneonones_create():
    data = core.json_body()
    core.require_fields(data, "report_email", "cadence", "starts_at")
    unknown = sorted(set(data) - {"report_email", "cadence", "starts_at", "duration_minutes", "timezone"})
    if unknown:
        raise ValidationError(_("Some fields are not valid."), {k: _("Unknown field.") for k in unknown})
    now = datetime.now(UTC)
    series = services.create_series(g.api_user, data, now)
    return jsonify(series_json(series, now)), 201


def _bound_arg(name: str, timezone: str, *, end: bool, errors: dict[str, str]) -> datetime | None:
    """A query bound: a date (whole day in the series' time zone) or a date-time with offset."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            local = datetime.combine(day + timedelta(days=1) if end else day, time(0), ZoneInfo(timezone))
            return local.astimezone(UTC)
        value = datetime.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        errors[name] = _("Must be a date (YYYY-MM-DD) or a date and time with its UTC offset.")
        return None
    return value.astimezone(UTC)


@bp.get("/one-on-ones/<int:series_id>/occurrences")
@core.token_required()
def oneonones_occurrences(series_id: int):
    now = datetime.now(UTC)
    series = services.get_series(series_id, g.api_user, now)
    errors: dict[str, str] = {}
    start = _bound_arg("from", series.timezone, end=False, errors=errors)
    end = _bound_arg("to", series.timezone, end=True, errors=errors)
    if not errors:
        start = start or now
        end = end or start + DEFAULT_RANGE
        if end <= start:
            errors["to"] = _("Must be after from.")
        elif end - start > services.MAX_RANGE:
            errors["to"] = _("At most two years after from.")
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    return jsonify([occurrence_json(o) for o in services.occurrences(series, start, end)])


@bp.get("/me/calendar")
@core.token_required()
def my_calendar():
    return jsonify({"url": services.feed_url(g.api_user, datetime.now(UTC), create=True)})


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
                          "description": "The first meeting, ISO 8601 with its UTC offset; in the future."},
            "duration_minutes": {"type": "integer", "minimum": MIN_DURATION, "maximum": MAX_DURATION,
                                 "default": 60},
            "timezone": {"type": "string", "description": "IANA name; the caller's time zone by default. "
                                                          "Meetings keep their wall-clock time in it."},
        },
    },
    "OneOnOneOccurrence": {
        "type": "object", "required": ["starts_at", "ends_at", "status"],
        "properties": {
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
            "status": {"enum": ["scheduled", "moved", "cancelled"]},
            "original_starts_at": {"type": "string", "format": "date-time",
                                   "description": "When the meeting was due before a move (its RECURRENCE-ID)."},
        },
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

OPENAPI_PATHS: dict = {
    "/one-on-ones": {"post": {
        "summary": "Schedule a recurring one-on-one with one of the caller's direct reports",
        "requestBody": {"required": True, **json_content(ref("OneOnOneInput"))},
        "responses": {"201": {"description": "The series", **json_content(ref("OneOnOneSeries"))},
                      **_errors(400, 401, 403, 409, 422)}}},
    "/one-on-ones/{series_id}/occurrences": {"get": {
        "summary": "Meetings of a series in a time range (its manager and report only)",
        "parameters": [
            {"name": "series_id", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "from", "in": "query", "schema": {"type": "string"},
             "description": "Date (from its start, in the series' time zone) or date-time with offset; "
                            "default now."},
            {"name": "to", "in": "query", "schema": {"type": "string"},
             "description": "Date (through its end) or date-time with offset (exclusive); default from + 90 "
                            "days; at most two years after from."}],
        "responses": {"200": {"description": "Meetings by start time, cancelled ones included",
                              **json_content({"type": "array", "items": ref("OneOnOneOccurrence")})},
                      **_errors(401, 403, 404, 422)}}},
    "/me/calendar": {"get": {
        "summary": "The caller's private calendar feed (.ics) URL; made on first use",
        "responses": {"200": {"description": "Feed URL", **json_content({
            "type": "object", "properties": {"url": {"type": "string", "format": "uri"}}})},
            **_errors(401)}}},
}
