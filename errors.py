"""Refusals raised by services, each with its HTTP status, a code and, where input was bad, field messages.

Pages turn them into a form message or the error page, the API into its JSON error. When one
reaches the app's error handler, the request's transaction is rolled back, so a refused request
never leaves a partial change behind, whether or not the service had already written something.

A database that cannot be reached during a request (down, restarting, or its connection lost mid-request)
becomes ``Unavailable``: a 503 with ``Retry-After``, never a 500, and nothing of the request is stored.
So does a database too busy for the request just now (SQLite's write lock held past its busy timeout,
PostgreSQL's deadlock or serialization refusals): the same request, sent again, can pass.
A connection lost after the response was made (a restart while a page is being rendered) costs nothing:
the transaction the request still holds is rolled back at the end of the request, and if that finds the
connection gone, the server has already discarded the transaction, so the response goes out as it was.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TypeVar

from flask import current_app, g, has_request_context, request, request_started, request_tearing_down
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

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


class Unavailable(Exception):
    """The database cannot be reached just now, or is busy: the request's transaction is lost, and the same
    request may be sent again after ``retry_after`` seconds.

    Not a ``ServiceError``: it refuses nothing that was sent, so a view that shows a service's refusals on
    its form (``except ServiceError``) lets it through to the 503, whose page needs no database. The error
    handlers of the pages, the API and SCIM answer it with its status, code, message and ``Retry-After``.
    """

    status = 503
    code = "unavailable"
    retry_after = 5

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.fields: dict[str, str] = {}


@event.listens_for(Engine, "handle_error")
def _database_lost(context) -> None:
    # Only within a request: commands (``pulses tick``) keep SQLAlchemy's own errors. A pre-ping that fails
    # is not a loss: the pool opens a new connection. A failed connect has no connection in its context.
    if not has_request_context() or context.is_pre_ping:
        return
    failed_connect = context.connection is None and isinstance(
        context.original_exception, context.dialect.loaded_dbapi.OperationalError)
    if context.is_disconnect or failed_connect:
        raise _unavailable(context.original_exception)
    if _busy(context.dialect, context.original_exception):
        raise _unavailable(context.original_exception, busy=True)


# PostgreSQL's refusals of a transaction that the same request, sent again, can pass: deadlock_detected,
# serialization_failure and lock_not_available (a lock_timeout reached).
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def _busy(dialect, error: BaseException | None) -> bool:
    """Whether the database refused this transaction only for others' work at the same moment: SQLite's
    write lock still held by another process after the busy timeout ("database is locked"), or one of
    PostgreSQL's retryable refusals. The transaction is rolled back whole, so a retry is safe."""
    if dialect.name == "sqlite":
        return isinstance(error, dialect.loaded_dbapi.OperationalError) and "database is locked" in str(error)
    return getattr(error, "sqlstate", None) in _RETRYABLE_SQLSTATES


# Set in a request's WSGI environ once the request has committed something (``_note_commit``).
_COMMITTED = "polso.committed"


@event.listens_for(Session, "after_commit")
def _note_commit(_session) -> None:
    if has_request_context():
        request.environ[_COMMITTED] = True


def commit_bookkeeping() -> None:
    """Commit what a request keeps for itself (a sign-in session's last-seen time), not what the person asked
    for: a 503 later in the request may still say that nothing of theirs was saved."""
    committed_before = not has_request_context() or request.environ.get(_COMMITTED)
    db.session.commit()
    if not committed_before:
        request.environ.pop(_COMMITTED, None)


def _unavailable(exception: BaseException, *, busy: bool = False) -> Unavailable:
    # The driver's own message, first line only: never the statement or its parameters (which
    # could say whose invitation was being answered, and when).
    reason = (str(exception).splitlines() or [""])[0]
    logging.getLogger("polso").warning("Database %s (%s): %s", "busy" if busy else "unavailable",
                                       type(exception).__name__, reason)
    if "_login_user" not in g:
        # Loading the signed-in person (for the page's language, or its menu) needs the database that
        # is away: the rest of this request, its 503 included, is answered as for nobody signed in.
        g._login_user = current_app.login_manager.anonymous_user()
    if request.environ.get(_COMMITTED):
        # A request that saves in more than one step (a sign-in that first spends its one-time code) lost
        # only its later steps: it must not say that nothing was saved.
        return Unavailable(_("The database could not finish this just now, and part of it may already be saved. "
                             "Please check in a moment before you try again."))
    if busy:
        return Unavailable(_("The database is busy just now, so nothing was saved. Please try again in a moment."))
    return Unavailable(_("The database cannot be reached just now, so nothing was saved. "
                         "Please try again in a moment."))


@contextlib.contextmanager
def driver_errors(connection: Connection) -> Iterator[None]:
    """Around work on the driver's own connection (PostgreSQL's COPY), which SQLAlchemy does not see: its
    errors become SQLAlchemy's, and a connection lost during it is dropped from the pool and, in a request,
    ``Unavailable`` (a 503), as for any statement."""
    dbapi = connection.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as error:
        lost = isinstance(error, dbapi.OperationalError) or getattr(
            connection.connection.driver_connection, "broken", False)
        if lost:
            connection.invalidate(error)
            if has_request_context():
                raise _unavailable(error) from error
        raise DBAPIError.instance(None, None, error, dbapi.Error, connection_invalidated=lost) from error


# The session's transaction when the request began, kept with the request (its WSGI environ), not in ``g``: a
# request context made inside a request (to render an e-mail's links) shares the app context, its ``g`` and its
# session, and must not end the request's transaction; and in tests a request may share the test's session,
# whose transaction is not the request's to end.
_BEGUN_BEFORE = "polso.transaction_before_request"
_NOT_DISPATCHED = object()


def _uses_db(app) -> bool:
    return app.extensions.get("sqlalchemy") is db


@request_started.connect
def _note_transaction(app, **_extra) -> None:
    if _uses_db(app):
        request.environ[_BEGUN_BEFORE] = db.session().get_transaction()


@request_tearing_down.connect
def _end_transaction(app, **_extra) -> None:
    """Roll back the transaction the request began and left open (reads), while the request is still there.

    Flask-SQLAlchemy would do it when the app context ends, where a connection lost in between (PostgreSQL
    restarted while the page was rendered) makes the ROLLBACK raise, and the finished response a 500. Here
    that loss is ``Unavailable`` (``_database_lost``, which logs it) and is let go: the server discarded the
    transaction with the connection, and the pool has dropped that connection.
    """
    before = request.environ.pop(_BEGUN_BEFORE, _NOT_DISPATCHED) if _uses_db(app) else _NOT_DISPATCHED
    if before is _NOT_DISPATCHED:  # not a request the app answered (``test_request_context``): not ours
        return
    transaction = db.session().get_transaction()
    if transaction is None or transaction is before:
        return
    with contextlib.suppress(Unavailable):
        db.session.rollback()


def get_or_raise(model: type[T], ident: object, message: str) -> T:
    """The row of ``model`` with primary key ``ident``.

    :raise NotFound: with ``message`` (say what is missing: "No such survey.") when there is none.
    """
    found = db.session.get(model, ident)
    if found is None:
        raise NotFound(message)
    return found
