"""Queueing e-mail with the change that caused it, rendering it in the recipient's language, sending it.

``queue`` only adds a row to the session: the caller's commit makes the message
real together with its own change, and a rollback drops both. ``send_pending``
(run by ``tick``, possibly on several hosts at once) delivers due messages over
SMTP, claiming each with a conditional UPDATE so that no two senders send it,
and reschedules failures with exponential backoff, so an SMTP outage loses
nothing; a message the server refuses permanently (a 5xx reply) is not
retried. With no ``MAIL_SERVER`` configured, messages go to the ``polso.mail``
log instead. ``purge_sent`` (also run by ``tick``) deletes messages sent long
ago. Survey invitations and reminders are deleted as soon as they are sent
(``EPHEMERAL_KINDS``): the outbox keeps no record of who was invited to, or
reminded of, which round. So are e-mails carrying a link that sets a password
(``CREDENTIAL_KINDS``), so that no working link stays in the database.
"""

from __future__ import annotations

import logging
import re
import secrets
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy.exc import IntegrityError

from errors import driver_errors
from extensions import db
from logs import redact
from mail.models import OutboxMessage

logger = logging.getLogger("polso.mail")

# A claim must outlast one delivery (a handful of SMTP commands, each bounded by SMTP_TIMEOUT).
LEASE = timedelta(minutes=5)
SMTP_TIMEOUT = 10  # seconds, per socket operation
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)
# 1, 2, 4 ... 256 minutes, then every 6 hours: the last attempt comes about three days after the
# first, longer than a long-weekend outage. Then the message stays unsent with next_attempt_at NULL.
MAX_ATTEMPTS = 20
# Survey invitations and reminders: once sent, the row is deleted, so the outbox keeps no record of
# who was invited to or reminded of which round; one given up on keeps its address but not its link.
EPHEMERAL_KINDS = frozenset({"invitation", "reminder"})
# Links that set a password are credentials: those e-mails go too once sent, and lose their link if given up.
CREDENTIAL_KINDS = frozenset({"account_invitation", "password_reset"})
_FORGOTTEN_KINDS = EPHEMERAL_KINDS | CREDENTIAL_KINDS
# How long a sent message is kept (the default of purge_sent; tick uses MAIL_SENT_RETENTION_DAYS).
SENT_RETENTION = timedelta(days=90)
# 5xx replies that mean "authenticate (better)": a problem of our configuration, not of the message,
# so they are retried like an outage instead of giving up on every message in the queue.
_AUTH_REPLY_CODES = frozenset({530, 534, 535, 538})


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int
    skipped: int  # due, but claimed by another sender first


def queue(to: str, subject: str, body_text: str, *, body_html: str | None = None, kind: str,
          dedupe_key: str | None = None, now: datetime) -> OutboxMessage | None:
    """Add a message to the outbox in the current transaction, due at ``now``; the caller commits.

    Nothing is committed or sent here: if the caller's transaction rolls back,
    the message is gone with it. With a ``dedupe_key`` already in the outbox
    (sent or not), nothing is added and None is returned, so repeating an
    operation queues its e-mail once. That check cannot see a concurrent
    uncommitted transaction queueing the same key; the UNIQUE constraint on
    ``dedupe_key`` is the final guard, and the later of the two commits fails
    with ``IntegrityError``.
    """
    if dedupe_key is not None and is_queued(dedupe_key):
        return None
    message = OutboxMessage(
        to_address=to, subject=_one_line(subject), body_text=body_text, body_html=body_html, kind=kind,
        dedupe_key=dedupe_key, created_at=now, attempts=0, next_attempt_at=now,
    )
    db.session.add(message)
    return message


def is_queued(dedupe_key: str) -> bool:
    """Whether a message with this key is in the outbox (sent or not)."""
    return db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)) is not None


def queue_once(dedupe_key: str, compose: Callable[[], None]) -> bool:
    """Run ``compose`` (which queues the message under ``dedupe_key``) and commit, once per key ever.

    For periodic work that several hosts may run at once: the key is checked first, so a repeated
    run renders nothing; if a concurrent run commits the same key first, the UNIQUE constraint
    refuses ours, it is rolled back, and False says this call queued nothing.
    """
    if is_queued(dedupe_key):
        return False
    compose()
    try:
        db.session.commit()
    except IntegrityError:  # another run queued it first
        db.session.rollback()
        return False
    return True


def render(template_base: str, locale: str | None, **context) -> tuple[str, str, str]:
    """Render ``templates/mail/<template_base>.subject.txt``, ``.txt`` and ``.html`` in ``locale``.

    Returns ``(subject, text, html)``; the subject is folded onto one line.
    ``locale`` None means the default language. The templates are rendered in
    a request context of their own based on ``POLSO_BASE_URL``, because Flask
    renders templates only within a request and so that
    ``url_for(..., _external=True)`` gives links that work from a mailbox,
    whoever or whatever (a view, ``tick``) queues the message.
    """
    app = current_app._get_current_object()
    with app.test_request_context(base_url=app.config["POLSO_BASE_URL"]), \
            force_locale(locale or app.config["BABEL_DEFAULT_LOCALE"]):
        return _render_three(template_base, context)


# Rows per INSERT of ``queue_many``: large enough to cost one round trip per few hundred messages,
# small enough to keep a batch's bodies (a few KB each) from piling up in memory.
QUEUE_BATCH = 1000


def queue_many(messages: Iterable[Mapping], *, now: datetime) -> int:
    """Add many messages to the outbox in the current transaction, due at ``now``; the caller commits.

    Each message is a mapping with ``to``, ``subject``, ``body_text``, ``body_html``, ``kind`` and
    ``dedupe_key``. What ``queue`` guarantees holds here too: a message whose ``dedupe_key`` is
    already in the outbox (sent or not, or queued by a concurrent transaction that commits first) is
    not added (``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING``). Rows are written with Core, in
    batches of ``QUEUE_BATCH``, without the ORM's unit of work. Returns how many were added.
    """
    added = 0
    batch: list[tuple] = []
    for message in messages:
        batch.append((message["to"], _one_line(message["subject"]), message["body_text"], message.get("body_html"),
                      message["kind"], message.get("dedupe_key")))
        if len(batch) >= QUEUE_BATCH:
            added += _queue_batch(batch, now)
            batch = []
    if batch:
        added += _queue_batch(batch, now)
    return added


_INCOMING_COLUMNS = ("to_address", "subject", "body_text", "body_html", "kind", "dedupe_key")


def _queue_batch(batch: list[tuple], now: datetime) -> int:
    connection = db.session.connection()
    table = OutboxMessage.__table__
    if connection.dialect.name != "postgresql":
        from sqlalchemy.dialects.sqlite import insert

        stmt = insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)
        rows = [{**dict(zip(_INCOMING_COLUMNS, values, strict=True)), "created_at": now, "attempts": 0,
                 "next_attempt_at": now} for values in batch]
        return len(connection.execute(stmt, rows).all())
    # On PostgreSQL the bodies go in by COPY: an INSERT of a thousand rows of several KB each is mostly
    # client-side query building. First straight into the outbox, in a savepoint: if one of the batch's
    # keys is there already (or a concurrent transaction commits it first), the COPY fails on the UNIQUE
    # constraint, and the batch takes the other way. Callers that expect repeats look their keys up
    # first (``queued_keys``), so that path is the exception.
    import psycopg

    connection.exec_driver_sql("SAVEPOINT outbox_copy")
    try:
        _copy_into_outbox(connection, batch, now)
    except IntegrityError as error:  # the driver's error, as SQLAlchemy's (``errors.driver_errors``)
        if not isinstance(error.orig, psycopg.errors.UniqueViolation):
            raise
        connection.exec_driver_sql("ROLLBACK TO SAVEPOINT outbox_copy")
    else:
        connection.exec_driver_sql("RELEASE SAVEPOINT outbox_copy")
        return len(batch)
    # Otherwise into a temporary table of this connection, emptied at commit, and from there into the
    # outbox with one INSERT ... SELECT ... ON CONFLICT DO NOTHING, which skips the keys already there.
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE IF NOT EXISTS outbox_incoming (n integer, to_address text, subject text, "
        "body_text text, body_html text, kind text, dedupe_key text) ON COMMIT DELETE ROWS")
    with driver_errors(connection), connection.connection.driver_connection.cursor() as cursor, \
            cursor.copy(f"COPY outbox_incoming (n, {', '.join(_INCOMING_COLUMNS)}) FROM STDIN") as copy:
        for n, values in enumerate(batch):
            copy.write_row((n, *values))
    incoming = sa.table("outbox_incoming", sa.column("n"), *(sa.column(name) for name in _INCOMING_COLUMNS))
    select = sa.select(*(incoming.c[name] for name in _INCOMING_COLUMNS),
                       sa.literal(now, OutboxMessage.created_at.type), sa.literal(0),
                       sa.literal(now, OutboxMessage.next_attempt_at.type)).order_by(incoming.c.n)
    from sqlalchemy.dialects.postgresql import insert

    stmt = (insert(table).from_select([*_INCOMING_COLUMNS, "created_at", "attempts", "next_attempt_at"], select)
            .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id))
    added = len(connection.execute(stmt).all())
    connection.exec_driver_sql("DELETE FROM outbox_incoming")
    return added


def _copy_into_outbox(connection, batch: list[tuple], now: datetime) -> None:
    if now.tzinfo is None:  # as ``UTCDateTime`` refuses it
        raise ValueError("naive datetime: Polso stores only timezone-aware times")
    now = now.astimezone(UTC)
    columns = ", ".join((*_INCOMING_COLUMNS, "created_at", "attempts", "next_attempt_at"))
    with driver_errors(connection), connection.connection.driver_connection.cursor() as cursor, \
            cursor.copy(f"COPY outbox ({columns}) FROM STDIN") as copy:
        for values in batch:
            copy.write_row((*values, now, 0, now))


def queued_keys(keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are in the outbox already (sent or not); in chunks, whatever their number."""
    found: set[str] = set()
    for start in range(0, len(keys), 5000):
        chunk = list(keys[start:start + 5000])
        found.update(db.session.scalars(sa.select(OutboxMessage.dedupe_key)
                                        .where(OutboxMessage.dedupe_key.in_(chunk))))
    return found


def render_each(template_base: str, locale: str | None, context: Callable[[Mapping[str, str]], dict],
                recipients: Sequence[Mapping[str, str]]) -> Iterator[tuple[str, str, str]]:
    """``render(template_base, locale, **context(values))`` for each ``values`` in ``recipients``, in order,
    rendering the templates once rather than once per recipient.

    ``values`` are the personal strings of one message (a name, a link, an id in a URL), the same keys
    for every recipient; ``context`` builds the templates' context from them. The templates are
    rendered once with a random placeholder for each value, and each message is that rendering with
    its values put in: as they are in the subject and the text, HTML-escaped in the HTML, which is what
    the templates do with them. So that a template doing anything else with a value (a filter, a
    condition, a URL-quoting) cannot go unnoticed, the first recipient's message is also rendered in
    full and compared; if the two differ, every message is rendered in full.
    """
    if not recipients:
        return
    keys = list(recipients[0])
    marks = {key: f"polso{secrets.token_hex(12)}" for key in keys}
    pattern = re.compile("|".join(marks.values()))
    by_mark = {mark: key for key, mark in marks.items()}
    app = current_app._get_current_object()
    with app.test_request_context(base_url=app.config["POLSO_BASE_URL"]), \
            force_locale(locale or app.config["BABEL_DEFAULT_LOCALE"]):
        shape = _render_three(template_base, context(marks))
        first = _render_three(template_base, context(recipients[0]))
    subject, text, body_html = shape

    def fill(values: Mapping[str, str]) -> tuple[str, str, str]:
        raw = {mark: str(values[key]) for mark, key in by_mark.items()}
        escaped = {mark: str(escape(value)) for mark, value in raw.items()}
        return (_one_line(pattern.sub(lambda m: raw[m.group()], subject)),
                pattern.sub(lambda m: raw[m.group()], text),
                pattern.sub(lambda m: escaped[m.group()], body_html))

    yield first
    if fill(recipients[0]) == first:
        for values in recipients[1:]:
            yield fill(values)
        return
    logger.warning("mail/%s does not take its personal values as they are; rendering each message", template_base)
    for values in recipients[1:]:
        yield render(template_base, locale, **context(values))


def _render_three(template_base: str, context: dict) -> tuple[str, str, str]:
    subject = render_template(f"mail/{template_base}.subject.txt", **context)
    text = render_template(f"mail/{template_base}.txt", **context)
    html = render_template(f"mail/{template_base}.html", **context)
    return _one_line(subject), text, html


def send_pending(now: datetime, *, batch: int = 100) -> SendReport:
    """Send up to ``batch`` due messages, committing after each; call it outside any other work.

    Safe to run concurrently from several threads or hosts: each message is
    claimed for ``LEASE`` by an atomic conditional UPDATE before it is sent,
    and one claimed by another sender is skipped. Delivery is at least once:
    if a sender dies after the SMTP server accepted a message but before its
    commit, the claim expires and the message is sent again.

    A failure counts an attempt and keeps the error in ``last_error``. A
    permanent refusal (see ``is_permanent_failure``: a 5xx reply to the
    message, such as ``550 No such user``) is not retried: the message stays
    unsent with ``next_attempt_at`` NULL at once. Any other failure (server
    down or busy, 4xx, time-out, failed login) reschedules the message after
    1, 2, 4 ... minutes (at most 6 hours); after ``MAX_ATTEMPTS`` failures it
    too stays unsent with ``next_attempt_at`` NULL. Such messages are kept for
    an operator to look at; setting ``next_attempt_at`` again re-arms one.
    One SMTP connection serves the whole run, also after a refused message;
    a lost connection is reopened for the next message. If it cannot be
    opened, every message claimed in this run from then on fails and is
    rescheduled. With no ``MAIL_SERVER``, messages are written to the
    ``polso.mail`` log (INFO) and count as sent. ``failed`` counts both kinds
    of failure.
    """
    due = db.session.scalars(
        sa.select(OutboxMessage.id)
        .where(_is_due(now, now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(batch)
    ).all()
    db.session.commit()
    started = time.monotonic()
    sent = failed = skipped = 0
    with _Transport(current_app.config) as transport:
        for message_id in due:
            # A slow run must not hand out leases that have already run out in real time.
            clock = now + timedelta(seconds=time.monotonic() - started)
            message = _claim(message_id, now, clock)
            if message is None:
                skipped += 1
                continue
            try:
                transport.send(message)
            except Exception as error:  # one bad message or an outage must not stop the queue
                _reschedule(message, error, now)
                failed += 1
            else:
                if message.kind in _FORGOTTEN_KINDS:
                    db.session.delete(message)
                else:
                    message.sent_at = now
                    message.next_attempt_at = None
                    message.claimed_until = None
                sent += 1
            db.session.commit()
    return SendReport(sent=sent, failed=failed, skipped=skipped)


def send_all_pending(now: datetime, *, batch: int = 100) -> SendReport:
    """Send due messages batch after batch until none is left or a batch sends nothing.

    A batch that sends nothing (server down, or another sender has them) ends
    the run; what failed waits for its backoff, so nothing is tried twice here.
    """
    total = SendReport(sent=0, failed=0, skipped=0)
    while True:
        report = send_pending(now, batch=batch)
        total = SendReport(sent=total.sent + report.sent, failed=total.failed + report.failed,
                           skipped=total.skipped + report.skipped)
        if report.sent == 0 or report.sent + report.failed + report.skipped < batch:
            return total


def purge_sent(now: datetime, older_than: timedelta = SENT_RETENTION) -> int:
    """Delete the messages sent more than ``older_than`` before ``now``, commit, and return how many.

    Unsent messages, whether still due or given up on, are never deleted: those
    wait for a sender or an operator. Safe to run concurrently. A purged
    message's ``dedupe_key`` no longer stops the same key from being queued
    again; every caller guards against repeats with its own state as well.
    :raise ValueError: for a negative ``older_than``, which would delete what was just sent.
    """
    if older_than < timedelta(0):
        raise ValueError(f"older_than must not be negative, not {older_than}")
    result = db.session.execute(
        sa.delete(OutboxMessage)
        .where(OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < now - older_than)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def is_permanent_failure(error: BaseException) -> bool:
    """Whether a failed send means "this message will never be accepted": a 5xx reply to it.

    That is a refusal of every recipient with a 5xx code
    (``SMTPRecipientsRefused``), a 5xx reply to the data (``SMTPDataError``
    and other ``SMTPResponseException``), or 552 (too big) to the sender.
    Replies with an enhanced status of 5.7.x (security or policy, such as
    "Relay access denied") are transient too: they usually mean our own
    setup is wrong. Any other refusal of the sender is transient: the sender is the same for
    every message, so a misconfigured ``MAIL_DEFAULT_SENDER`` must not drop
    the whole queue. So are replies asking to authenticate (530, 534, 535,
    538), failures to open the session (greeting, EHLO, STARTTLS, login) and
    everything else (4xx, lost connections, time-outs).
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values())
        return bool(replies) and all(_is_permanent_code(code, reply) for code, reply in replies)
    if isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPHeloError | smtplib.SMTPAuthenticationError):
        return False
    if isinstance(error, smtplib.SMTPSenderRefused):
        return error.smtp_code == 552
    if isinstance(error, smtplib.SMTPResponseException):
        return _is_permanent_code(error.smtp_code, error.smtp_error)
    return False


def _is_permanent_code(code: int, reply: bytes | str = b"") -> bool:
    if not 500 <= code <= 599 or code in _AUTH_REPLY_CODES:
        return False
    # Enhanced status 5.7.x is security or policy ("Relay access denied", "sender address not
    # verified"): usually our configuration, the same for every message, so not a verdict on this one.
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    return not text.lstrip().startswith("5.7.")


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 1, 2, 4, 8 ... minutes, at most 6 hours."""
    return min(FIRST_BACKOFF * 2 ** min(attempts - 1, 30), MAX_BACKOFF)


def _is_due(now: datetime, clock: datetime):
    return sa.and_(
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.next_attempt_at <= now,
        sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < clock),
    )


def _claim(message_id: int, now: datetime, clock: datetime) -> OutboxMessage | None:
    # The WHERE clause is re-checked under the row's write lock, so of two senders racing for the
    # same row exactly one sees rowcount 1. Committing at once makes the lease visible to the others.
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _is_due(now, clock))
        .values(claimed_until=clock + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return db.session.get(OutboxMessage, message_id)


def _forget_links(message: OutboxMessage) -> None:
    """A survey or password e-mail left for an operator keeps its address, never its link."""
    if message.kind in _FORGOTTEN_KINDS:
        message.body_text = redact(message.body_text)
        message.body_html = redact(message.body_html) if message.body_html else message.body_html
        message.dedupe_key = None


def _reschedule(message: OutboxMessage, error: Exception, now: datetime) -> None:
    message.attempts += 1
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    message.claimed_until = None
    if is_permanent_failure(error):
        message.next_attempt_at = None
        _forget_links(message)
        logger.error("E-mail %s to %s was refused permanently (attempt %d), not retrying: %s",
                     message.id, message.to_address, message.attempts, message.last_error)
    elif message.attempts >= MAX_ATTEMPTS:
        message.next_attempt_at = None
        _forget_links(message)
        logger.error("Giving up on e-mail %s to %s after %d attempts: %s",
                     message.id, message.to_address, message.attempts, message.last_error)
    else:
        message.next_attempt_at = now + backoff(message.attempts)
        logger.warning("E-mail %s to %s failed (attempt %d), retrying at %s: %s", message.id,
                       message.to_address, message.attempts, message.next_attempt_at.isoformat(),
                       message.last_error)


def _one_line(text: str) -> str:
    return " ".join(text.split())


class SMTPUnavailable(Exception):
    """The SMTP connection could not be opened (or logged into); the message was not tried."""


class _Transport:
    """Delivers outbox messages over one lazily opened SMTP connection, or to the log."""

    def __init__(self, config):
        self.config = config
        self.sender = config["MAIL_DEFAULT_SENDER"]
        self.smtp: smtplib.SMTP | None = None
        self.connect_error: str | None = None

    def __enter__(self) -> _Transport:
        return self

    def __exit__(self, *exc_info) -> None:
        self._disconnect()

    def send(self, message: OutboxMessage) -> None:
        if not self.config.get("MAIL_SERVER"):
            logger.info("MAIL_SERVER is not set; this e-mail is logged instead of sent:\n%s", _readable(message))
            return
        email = build_email(message, self.sender)
        if self.smtp is None:
            if self.connect_error is not None:
                raise SMTPUnavailable(self.connect_error)
            try:
                self.smtp = self._connect()
            except Exception as error:
                # Whatever the reply (even a 5xx to STARTTLS or AUTH), it is about the server or our
                # configuration, not about the message: wrapped, so that it is never taken as permanent.
                self.connect_error = f"{type(error).__name__}: {error}"
                if isinstance(error, smtplib.SMTPAuthenticationError):
                    logger.error("SMTP login to %s as %s failed; check MAIL_USERNAME and MAIL_PASSWORD. "
                                 "E-mail is kept and retried: %s", self.config["MAIL_SERVER"],
                                 self.config["MAIL_USERNAME"], self.connect_error)
                raise SMTPUnavailable(self.connect_error) from error
        try:
            self.smtp.send_message(email)
        except smtplib.SMTPServerDisconnected:
            self._disconnect()  # the next message tries a fresh connection
            raise
        except smtplib.SMTPException:
            # A refusal (MAIL, RCPT or DATA answered 4xx/5xx) leaves the session usable once reset;
            # a 421 reply or a lost connection does not, and the next message reconnects.
            if not self._reset():
                self._disconnect()
            raise
        except Exception:  # a socket error or time-out mid-command: the session state is unknown
            self._disconnect()
            raise

    def _reset(self) -> bool:
        """RSET the session after a failed transaction; False if the connection is no longer usable."""
        try:
            code, _reply = self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            return False
        return code == 250

    def _connect(self) -> smtplib.SMTP:
        host, port = self.config["MAIL_SERVER"], int(self.config["MAIL_PORT"])
        context = ssl.create_default_context()
        if self.config.get("MAIL_USE_SSL"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
        try:
            if self.config.get("MAIL_USE_TLS") and not self.config.get("MAIL_USE_SSL"):
                smtp.starttls(context=context)
            if self.config.get("MAIL_USERNAME"):
                smtp.login(self.config["MAIL_USERNAME"], self.config.get("MAIL_PASSWORD") or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _disconnect(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    """The MIME message for an outbox row: plain text, or text and HTML as multipart/alternative."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    # Stable across retries, so a receiver can recognise a message sent twice after a crash.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    email["Message-ID"] = f"<{message.created_at:%Y%m%d%H%M%S%f}.{message.id}.outbox@{domain}>"
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    return email


def _readable(message: OutboxMessage) -> str:
    parts = [f"To: {message.to_address}", f"Subject: {message.subject}", f"Kind: {message.kind}", "",
             message.body_text]
    if message.body_html:
        parts += ["", "--- HTML ---", message.body_html]
    return "\n".join(parts)
