"""Refusals raised by services, each with its HTTP status, a code and, where input was bad, field messages.

Pages turn them into a form message or the error page, the API into its JSON error. When one
reaches the app's error handler, the request's transaction is rolled back, so a refused request
never leaves a partial change behind, whether or not the service had already written something.
"""

from __future__ import annotations

from typing import TypeVar

from extensions import db

T = TypeVar("T")


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationError(ServiceError):
    """Input that breaks a rule; ``fields`` maps each bad field to its message.

    For batches (a CSV file), ``rows`` lists every bad row with its fields.
    """

    status = 422
    code = "validation_error"

    def __init__(self, message: str, fields: dict[str, str] | None = None, rows: list | None = None):
        super().__init__(message, fields)
        self.rows = rows or []


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class TooManyAttempts(ServiceError):
    """Refused for now; ``retry_after`` (seconds), when set, is sent as the ``Retry-After`` header."""

    status = 429
    code = "too_many_attempts"
    retry_after: int | None = None


def get_or_raise(model: type[T], ident: object, message: str) -> T:
    """The row of ``model`` with primary key ``ident``.

    :raise NotFound: with ``message`` (say what is missing: "No such survey.") when there is none.
    """
    found = db.session.get(model, ident)
    if found is None:
        raise NotFound(message)
    return found
