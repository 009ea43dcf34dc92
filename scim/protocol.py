"""SCIM's plumbing: the media type, the error format (RFC 7644 §3.12), the bearer check, request bodies.

Every answer is ``application/scim+json``. Every refusal is an ``Error`` message with its status
and, where RFC 7644 defines one, its ``scimType``; a people service's refusal becomes one too
(``invalidValue`` with 400; ``scim.users`` refuses a taken userName itself, with ``uniqueness`` and 409).
Error details are English: SCIM is read by machines.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request
from pydantic import ValidationError as PydanticValidationError
from scim2_models import (
    Context,
    Error,
    InvalidSyntaxException,
    NotFoundException,
    SCIMException,
    UnauthorizedException,
)
from werkzeug.exceptions import HTTPException

from errors import ServiceError, Unavailable, ValidationError
from extensions import db
from scim import tokens

MEDIA_TYPE = "application/scim+json"

#: The people services' field names as SCIM names them, for error details.
ATTRIBUTES = {"email": "userName", "name": "name", "department": "department", "manager_email": "manager",
              "locale": "locale", "timezone": "timezone", "active": "active"}


def respond(payload: dict[str, Any] | None, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = "" if payload is None else json.dumps(payload, default=str)
    return Response(body, status=status, headers=headers, mimetype=MEDIA_TYPE)


def error_response(status: int, detail: str, scim_type: str | None = None) -> Response:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    response = respond(body, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="polso-scim"'
    return response


def from_scim_exception(error: SCIMException) -> Response:
    db.session.rollback()
    return error_response(error.status, error.detail, error.scim_type or None)


def from_pydantic(error: PydanticValidationError) -> Response:
    """A body that does not fit the model: the first problem, with the scimType scim2-models gives it."""
    db.session.rollback()
    [first, *_] = Error.from_validation_errors(error.errors())
    return error_response(first.status or 400, first.detail or "invalid request", first.scim_type or "invalidValue")


def from_service_error(error: ServiceError) -> Response:
    """A people service's refusal (its messages are for people; they are passed on as the detail)."""
    db.session.rollback()
    if isinstance(error, ValidationError) and error.fields:
        detail = "; ".join(f"{ATTRIBUTES.get(field, field)}: {message}" for field, message in error.fields.items())
        return error_response(400, detail, "invalidValue")
    if error.status == 404:
        return error_response(404, error.message)
    return error_response(error.status if 400 <= error.status < 500 else 400, error.message)


def from_unavailable(error: Unavailable) -> Response:
    """The database away or busy: a 503 the client may send again after ``Retry-After``."""
    db.session.rollback()
    response = error_response(error.status, error.message)
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def from_http(error: HTTPException) -> Response:
    db.session.rollback()
    status = error.code or 500
    if status >= 500:
        return unexpected(error)
    scim_type = "invalidSyntax" if status == 400 else None
    return error_response(status, error.description or error.name, scim_type)


def unexpected(error: Exception) -> Response:
    db.session.rollback()
    current_app.logger.exception("SCIM error")
    return error_response(500, "Something went wrong on Polso's side.")


def require_token() -> None:
    """:raise UnauthorizedException: the request carries no valid, unrevoked SCIM bearer token."""
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not tokens.is_valid(raw.strip()):
        raise UnauthorizedException(detail="A valid SCIM bearer token is required.")


def json_body() -> dict[str, Any]:
    """The request's JSON object. :raise InvalidSyntaxException: the body is not one."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    return data


def not_found(resource_id: str) -> NotFoundException:
    return NotFoundException(detail=f"No User {resource_id}.")

