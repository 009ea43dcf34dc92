"""Refusals raised by services, each with its HTTP status, a code and, where input was bad, field messages.

Pages turn them into a form message or the error page, the API into its JSON error. When one
reaches the app's error handler, the request's transaction is rolled back, so a refused request
never leaves a partial change behind, whether or not the service had already written something.

A database that cannot be reached during a request (down, restarting, or its connection lost mid-request)
becomes ``Unavailable``: a 503 with ``Retry-After``, never a 500, and nothing of the request is stored.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.engine import Engine

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


class Unavailable(ServiceError):
    """The database cannot be reached just now: the request's transaction is lost, so nothing was stored,
    and the same request may be sent again after ``retry_after`` seconds."""

    status = 503
    code = "unavailable"
    retry_after = 5


@event.listens_for(Engine, "handle_error")
def _database_lost(context) -> None:
    # Only within a request: commands (``pulses tick``) keep SQLAlchemy's own errors. A pre-ping that fails
    # is not a loss: the pool opens a new connection. A failed connect has no connection in its context.
    if not has_request_context() or context.is_pre_ping:
        return
    failed_connect = context.connection is None and isinstance(
        context.original_exception, context.dialect.loaded_dbapi.OperationalError)
    if context.is_disconnect or failed_connect:
        # The driver's own message, first line only: never the statement or its parameters (which
        # could say whose invitation was being answered, and when).
        reason = (str(context.original_exception).splitlines() or [""])[0]
        logging.getLogger("polso").warning("Database unavailable (%s): %s",
                                           type(context.original_exception).__name__, reason)
        if "_login_user" not in g:
            # Loading the signed-in person (for the page's language, or its menu) needs the database that
            # is away: the rest of this request, its 503 included, is answered as for nobody signed in.
            g._login_user = current_app.login_manager.anonymous_user()
        raise Unavailable(_("The database cannot be reached just now, so nothing was saved. "
                            "Please try again in a moment."))


def get_or_raise(model: type[T], ident: object, message: str) -> T:
    """The row of ``model`` with primary key ``ident``.

    :raise NotFound: with ``message`` (say what is missing: "No such survey.") when there is none.
    """
    found = db.session.get(model, ident)
    if found is None:
        raise NotFound(message)
    return found
