"""The API's plumbing: bearer-token authentication, JSON bodies, pagination and the error format.

Every error leaves as ``{"error": {"code", "message", "fields"?}}``. What a request may hold is
declared with the endpoint (``api.spec.operation``) and checked before its handler runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import wraps
from typing import Any

from flask import g, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from errors import Forbidden, ServiceError, Unavailable
from people import signin


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None):
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="polso"'
    return response


def handle_service_error(error: ServiceError | Unavailable):
    response = error_response(error.status, error.code, error.message, error.fields or None)
    if getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def handle_http_error(error: HTTPException):
    codes = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
             422: "validation_error", 429: "too_many_requests"}
    response = error_response(error.code or 500, codes.get(error.code, "error"), error.description or error.name)
    # The exception's own headers say how to recover: Allow on a 405 (RFC 9110), Retry-After on a 429.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_unexpected(error: Exception):
    from flask import current_app

    current_app.logger.exception("API error")
    return error_response(500, "internal_error", _("Something went wrong on our side."))


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 naming the problem."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ServiceError(_("The body must be a JSON object."))
    return data


def query() -> Any:
    """The query parameters as the operation's ``query`` model read them (checked before the handler)."""
    return request.context.query


def page_args() -> tuple[int, int]:
    """``page`` (default 1) and ``per_page`` (default 50, at most 200), as checked by the operation's query model."""
    return query().page, query().per_page


def paginated(pagination, items: list) -> dict[str, Any]:
    """The shape of every paginated list: the page's items, where it is, and how many there are."""
    return {"items": items, "page": pagination.page, "per_page": pagination.per_page,
            "total": pagination.total, "pages": pagination.pages}


def token_required(*roles: str, load_person: bool = True):
    """Authenticate the bearer token; with ``roles``, also require one of them.

    The caller is ``g.api_user`` (a ``Person``) and its id ``g.api_user_id``; with ``load_person=False``
    only the id is set, for the answering path, which needs no more and takes every employee's answer.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _sep, token = header.partition(" ")
            holder = None
            if scheme.lower() == "bearer" and token.strip():
                now = datetime.now(UTC)
                if load_person:
                    person = signin.person_for_api_token(token.strip(), now)
                    holder = (person.id, person.role) if person else None
                else:
                    holder = signin.holder_of_api_token(token.strip(), now)
            if holder is None:
                raise Unauthorized(_("A valid bearer token is required."))
            if roles and holder[1] not in roles:
                raise Forbidden(_("Your role does not allow this."))
            g.api_user_id = holder[0]
            if load_person:
                g.api_user = person
            return view(*args, **kwargs)

        return wrapped

    return decorator
