"""The e-mail outbox: queued with the caller's change, sent by send_pending to a real SMTP server, with retries."""

from __future__ import annotations

import logging
import smtplib
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

import tasks
from mail.models import OutboxMessage
from mail.services import (
    MAX_ATTEMPTS,
    SendReport,
    SMTPUnavailable,
    backoff,
    is_permanent_failure,
    purge_sent,
    queue,
    render,
    send_all_pending,
    send_pending,
)
from people.models import LoginAttempt
from tests.conftest import SMTP_PASSWORD, SMTP_USER, free_port, run_concurrently

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def queue_one(db, n: int = 1, **kwargs) -> OutboxMessage:
    kwargs.setdefault("kind", "test")
    kwargs.setdefault("now", NOW)
    message = queue(f"person{n}@example.com", f"Subject {n}", f"Body {n}", **kwargs)
    db.session.commit()
    return message


def outbox(db) -> list[OutboxMessage]:
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_queued_message_is_not_sent_until_send_pending(db, smtp):
    queue_one(db)
    assert smtp.envelopes == []
    [message] = outbox(db)
    assert message.sent_at is None and message.attempts == 0 and message.next_attempt_at == NOW

    assert send_pending(NOW) == SendReport(sent=1, failed=0, skipped=0)
    assert len(smtp.envelopes) == 1


def test_send_pending_delivers_subject_bodies_and_addresses_over_smtp(db, smtp):
    queue("ada@example.com", "Your pulse is open", "Answer here: https://x/1", body_html="<p>Answer <b>here</b></p>",
          kind="test", now=NOW)
    db.session.commit()

    send_pending(NOW)

    [envelope] = smtp.envelopes
    assert envelope.mail_from == "polso@example.com" and envelope.rcpt_tos == ["ada@example.com"]
    [received] = smtp.messages
    assert received["Subject"] == "Your pulse is open"
    assert received["From"] == "Polso <polso@example.com>" and received["To"] == "ada@example.com"
    assert received.get_content_type() == "multipart/alternative"
    assert received.get_body(("plain",)).get_content().strip() == "Answer here: https://x/1"
    assert received.get_body(("html",)).get_content().strip() == "<p>Answer <b>here</b></p>"
    [message] = outbox(db)
    assert message.sent_at == NOW and message.next_attempt_at is None and message.claimed_until is None


def test_plain_text_message_is_sent_as_a_single_part(db, smtp):
    queue_one(db)
    send_pending(NOW)
    [received] = smtp.messages
    assert received.get_content_type() == "text/plain"
    assert received.get_content().strip() == "Body 1"


def test_one_smtp_connection_serves_a_whole_batch(db, smtp):
    for n in range(5):
        queue_one(db, n)
    assert send_pending(NOW).sent == 5
    assert len(smtp.envelopes) == 5 and len(set(smtp.sessions)) == 1


def test_without_mail_server_messages_are_logged_and_marked_sent(app, db, caplog):
    app.config["MAIL_SERVER"] = None
    queue("ada@example.com", "Your pulse is open", "Answer here.", body_html="<p>Answer.</p>", kind="test",
          now=NOW)
    db.session.commit()
    caplog.set_level(logging.INFO, logger="polso.mail")

    assert send_pending(NOW) == SendReport(sent=1, failed=0, skipped=0)

    [record] = [r for r in caplog.records if r.name == "polso.mail"]
    assert record.levelno == logging.INFO
    for part in ("ada@example.com", "Your pulse is open", "Answer here.", "<p>Answer.</p>"):
        assert part in record.getMessage()
    assert outbox(db)[0].sent_at == NOW


def test_smtp_outage_keeps_the_message_and_reschedules_it(app, db, smtp):
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    queue_one(db)

    assert send_pending(NOW) == SendReport(sent=0, failed=1, skipped=0)

    [message] = outbox(db)
    assert message.sent_at is None and message.attempts == 1 and message.claimed_until is None
    assert message.last_error and "Connection" in message.last_error
    assert message.next_attempt_at == NOW + timedelta(minutes=1)


def test_every_message_of_a_run_fails_and_is_kept_when_the_server_is_down(app, db, smtp):
    app.config["MAIL_PORT"] = free_port()
    for n in range(3):
        queue_one(db, n)
    assert send_pending(NOW) == SendReport(sent=0, failed=3, skipped=0)
    assert [(m.attempts, m.sent_at, m.next_attempt_at) for m in outbox(db)] == [
        (1, None, NOW + timedelta(minutes=1))] * 3


def test_failed_message_is_not_retried_before_its_backoff(app, db, smtp):
    app.config["MAIL_PORT"] = free_port()
    queue_one(db)
    send_pending(NOW)
    app.config["MAIL_PORT"] = smtp.port

    assert send_pending(NOW + timedelta(seconds=59)) == SendReport(sent=0, failed=0, skipped=0)
    assert smtp.envelopes == [] and outbox(db)[0].attempts == 1


def test_failed_message_is_delivered_once_when_the_server_is_back_after_its_backoff(app, db, smtp):
    app.config["MAIL_PORT"] = free_port()
    queue_one(db)
    send_pending(NOW)
    app.config["MAIL_PORT"] = smtp.port

    later = NOW + timedelta(minutes=1)
    assert send_pending(later) == SendReport(sent=1, failed=0, skipped=0)
    assert send_pending(later + timedelta(hours=1)) == SendReport(sent=0, failed=0, skipped=0)
    assert [m["Subject"] for m in smtp.messages] == ["Subject 1"]
    [message] = outbox(db)
    assert message.sent_at == later and message.attempts == 1 and message.last_error is not None


def test_backoff_doubles_from_one_minute_up_to_six_hours():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(10) == backoff(MAX_ATTEMPTS) == backoff(1000) == timedelta(hours=6)


def test_message_is_given_up_after_the_last_attempt_and_kept_for_an_operator(app, db, smtp):
    app.config["MAIL_PORT"] = free_port()
    message = queue_one(db)
    message.attempts = MAX_ATTEMPTS - 1
    db.session.commit()

    assert send_pending(NOW).failed == 1
    [message] = outbox(db)
    assert message.attempts == MAX_ATTEMPTS and message.sent_at is None and message.next_attempt_at is None
    app.config["MAIL_PORT"] = smtp.port
    assert send_pending(NOW + timedelta(days=30)) == SendReport(sent=0, failed=0, skipped=0)


def test_message_claimed_by_another_sender_is_left_alone_until_its_lease_runs_out(db, smtp):
    message = queue_one(db)
    message.claimed_until = NOW + timedelta(minutes=5)  # a sender that then crashed
    db.session.commit()

    assert send_pending(NOW) == SendReport(sent=0, failed=0, skipped=0)
    assert send_pending(NOW + timedelta(minutes=5, seconds=1)).sent == 1
    assert len(smtp.envelopes) == 1


def test_dedupe_key_makes_queueing_idempotent(db):
    first = queue_one(db, dedupe_key="invite:7")
    again = queue("other@example.com", "Other", "Other", kind="test", dedupe_key="invite:7", now=NOW)
    db.session.commit()

    assert first is not None and again is None
    assert [m.to_address for m in outbox(db)] == ["person1@example.com"]


def test_dedupe_key_is_unique_in_the_database(db):
    queue_one(db, dedupe_key="invite:7")
    db.session.add(OutboxMessage(to_address="x@example.com", subject="s", body_text="b", kind="test",
                                 dedupe_key="invite:7", created_at=NOW, next_attempt_at=NOW))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_queue_does_not_commit_so_a_rollback_drops_the_message(db):
    queue("ada@example.com", "Subject", "Body", kind="test", now=NOW)
    db.session.rollback()
    assert outbox(db) == []


def test_concurrent_senders_deliver_each_message_exactly_once(app, db, smtp):
    for n in range(30):
        queue_one(db, n)
    def sender():
        with app.app_context():
            return send_pending(NOW)

    reports = run_concurrently(sender, sender)
    received = Counter(m["Subject"] for m in smtp.messages)
    assert received == Counter(f"Subject {n}" for n in range(30))
    assert sum(r.sent for r in reports) == 30 and sum(r.failed for r in reports) == 0
    assert all(m.sent_at == NOW for m in outbox(db))


def test_render_writes_the_message_in_the_recipients_language(app):
    _subject, text, html = render("test_message", "it", name="Ada", day=date(2026, 3, 1))
    assert "1 marzo 2026" in text and "1 marzo 2026" in html

    subject, text, html = render("test_message", "en", name="Ada", day=date(2026, 3, 1))
    assert subject == "A test message for Ada"
    assert "Hello Ada," in text and "March 1, 2026" in text
    assert "<p>Hello Ada,</p>" in html


def test_render_escapes_the_context_in_html_only(app):
    _subject, text, html = render("test_message", None, name="Ada & <Bob>", day=date(2026, 3, 1))
    assert "Hello Ada & <Bob>," in text
    assert "Hello Ada &amp; &lt;Bob&gt;," in html


def test_send_all_pending_drains_more_than_one_batch(db, smtp):
    for n in range(7):
        queue_one(db, n)
    report = send_all_pending(NOW, batch=3)
    assert report.sent == 7 and len(smtp.envelopes) == 7
    assert send_all_pending(NOW, batch=3).sent == 0


# --- Permanent and transient refusals ---------------------------------------------------------

def test_permanently_refused_recipient_is_tried_once_and_the_batch_goes_on_over_the_same_connection(
        db, smtp, caplog):
    smtp.replies["person2@example.com"] = "550 5.1.1 No such user"
    for n in (1, 2, 3):
        queue_one(db, n)

    assert send_pending(NOW) == SendReport(sent=2, failed=1, skipped=0)

    assert [e.rcpt_tos for e in smtp.envelopes] == [["person1@example.com"], ["person3@example.com"]]
    assert len(set(smtp.sessions)) == 1
    refused = outbox(db)[1]
    assert refused.sent_at is None and refused.attempts == 1 and refused.next_attempt_at is None
    assert refused.claimed_until is None and "550" in refused.last_error and "No such user" in refused.last_error
    [record] = [r for r in caplog.records if r.name == "polso.mail" and r.levelno == logging.ERROR]
    assert "refused permanently" in record.getMessage() and "person2@example.com" in record.getMessage()

    smtp.replies.clear()
    assert send_pending(NOW + timedelta(days=10)) == SendReport(sent=0, failed=0, skipped=0)
    assert smtp.rcpt_tos.count("person2@example.com") == 1


def test_temporarily_refused_recipient_is_retried_with_backoff_and_delivered_when_accepted(app, db, smtp):
    smtp.replies["person2@example.com"] = "451 4.3.0 Try again later"
    queue_one(db, 1)
    queue_one(db, 2)

    assert send_pending(NOW) == SendReport(sent=1, failed=1, skipped=0)
    deferred = outbox(db)[1]
    assert deferred.attempts == 1 and deferred.next_attempt_at == NOW + timedelta(minutes=1)
    assert "451" in deferred.last_error

    assert send_pending(NOW + timedelta(seconds=59)) == SendReport(sent=0, failed=0, skipped=0)
    assert send_pending(NOW + timedelta(minutes=1)) == SendReport(sent=0, failed=1, skipped=0)
    assert outbox(db)[1].next_attempt_at == NOW + timedelta(minutes=3)

    del smtp.replies["person2@example.com"]
    later = NOW + timedelta(minutes=3)
    assert tasks.tick(later).mail == SendReport(sent=1, failed=0, skipped=0)
    delivered = outbox(db)[1]
    assert delivered.sent_at == later and delivered.attempts == 2 and delivered.next_attempt_at is None
    assert [e.rcpt_tos for e in smtp.envelopes] == [["person1@example.com"], ["person2@example.com"]]
    assert smtp.rcpt_tos.count("person2@example.com") == 3


def test_a_refusal_that_closes_the_connection_is_retried_and_the_next_message_reconnects(db, smtp):
    smtp.replies["person2@example.com"] = "421 4.7.0 Too busy, closing connection"
    for n in (1, 2, 3):
        queue_one(db, n)

    assert send_pending(NOW) == SendReport(sent=2, failed=1, skipped=0)

    assert [e.rcpt_tos for e in smtp.envelopes] == [["person1@example.com"], ["person3@example.com"]]
    assert len(set(smtp.sessions)) == 2
    assert outbox(db)[1].next_attempt_at == NOW + timedelta(minutes=1)


def test_a_lost_connection_is_retried_and_the_next_message_reconnects(db, smtp):
    smtp.replies["person2@example.com"] = smtp.HANG_UP
    for n in (1, 2, 3):
        queue_one(db, n)

    assert send_pending(NOW) == SendReport(sent=2, failed=1, skipped=0)

    assert len(set(smtp.sessions)) == 2
    lost = outbox(db)[1]
    assert lost.next_attempt_at == NOW + timedelta(minutes=1) and "SMTPServerDisconnected" in lost.last_error


def test_failed_smtp_login_keeps_every_message_for_a_retry_and_logs_an_error(app, db, smtp, caplog):
    app.config.update(MAIL_USERNAME=SMTP_USER, MAIL_PASSWORD="wrong")
    queue_one(db, 1)
    queue_one(db, 2)

    assert send_pending(NOW) == SendReport(sent=0, failed=2, skipped=0)

    assert [(m.attempts, m.next_attempt_at) for m in outbox(db)] == [(1, NOW + timedelta(minutes=1))] * 2
    assert all("535" in m.last_error for m in outbox(db))
    errors = [r.getMessage() for r in caplog.records if r.name == "polso.mail" and r.levelno == logging.ERROR]
    assert len(errors) == 1 and "MAIL_PASSWORD" in errors[0]

    app.config["MAIL_PASSWORD"] = SMTP_PASSWORD
    assert send_pending(NOW + timedelta(minutes=1)) == SendReport(sent=2, failed=0, skipped=0)
    assert len(smtp.envelopes) == 2


@pytest.mark.parametrize(("error", "permanent"), [
    (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"5.1.1 No such user")}), True),
    (smtplib.SMTPRecipientsRefused({"a@example.com": (553, b"5.1.3 Bad address syntax")}), True),
    (smtplib.SMTPRecipientsRefused({"a@example.com": (451, b"4.3.0 Try again later")}), False),
    (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no"), "b@example.com": (452, b"full")}), False),
    (smtplib.SMTPRecipientsRefused({"a@example.com": (421, b"closing")}), False),
    (smtplib.SMTPRecipientsRefused({"a@example.com": (530, b"5.7.0 Authentication required")}), False),
    (smtplib.SMTPDataError(554, b"5.6.0 Message content rejected"), True),
    # 5.7.x is security or policy, usually our own setup (the same for every message): retried
    (smtplib.SMTPDataError(554, b"5.7.1 Message rejected"), False),
    (smtplib.SMTPRecipientsRefused({"a@example.com": (554, b"5.7.1 Relay access denied")}), False),
    (smtplib.SMTPDataError(452, b"4.3.1 Insufficient storage"), False),
    (smtplib.SMTPSenderRefused(552, b"5.3.4 Message too big", "polso@example.com"), True),
    # a refused sender is the same for every message: a configuration problem, retried
    (smtplib.SMTPSenderRefused(550, b"5.7.1 Sender not allowed", "polso@example.com"), False),
    (smtplib.SMTPSenderRefused(421, b"closing", "polso@example.com"), False),
    (smtplib.SMTPSenderRefused(530, b"5.7.0 Authentication required", "polso@example.com"), False),
    (smtplib.SMTPResponseException(554, b"5.6.0 Bad content"), True),
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid"), False),
    (smtplib.SMTPHeloError(501, b"bad helo"), False),
    (smtplib.SMTPConnectError(554, b"no service"), False),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), False),
    (smtplib.SMTPNotSupportedError("SMTPUTF8 not supported"), False),
    (SMTPUnavailable("SMTPResponseException: (554, b'no STARTTLS')"), False),
    (ConnectionRefusedError(111, "Connection refused"), False),
    (TimeoutError("timed out"), False),
])
def test_only_5xx_replies_about_the_message_are_permanent(error, permanent):
    assert is_permanent_failure(error) is permanent


# --- Housekeeping ------------------------------------------------------------------------------

def _sent(db, n: int, sent_at: datetime | None, **kwargs) -> OutboxMessage:
    message = queue_one(db, n, now=NOW - timedelta(days=200))
    message.sent_at = sent_at
    message.next_attempt_at = None if sent_at else message.next_attempt_at
    for name, value in kwargs.items():
        setattr(message, name, value)
    db.session.commit()
    return message


def test_purge_sent_deletes_only_messages_sent_more_than_90_days_ago(db):
    _sent(db, 1, NOW - timedelta(days=91))
    _sent(db, 2, NOW - timedelta(days=90))
    _sent(db, 3, NOW - timedelta(days=1))
    _sent(db, 4, None)  # unsent, due since long ago
    _sent(db, 5, None, attempts=MAX_ATTEMPTS, next_attempt_at=None, last_error="SMTPRecipientsRefused")  # given up

    assert purge_sent(NOW) == 1

    assert [m.to_address for m in outbox(db)] == [f"person{n}@example.com" for n in (2, 3, 4, 5)]
    assert purge_sent(NOW) == 0
    assert purge_sent(NOW + timedelta(days=1000)) == 2  # the sent ones only, however old the others
    assert [m.to_address for m in outbox(db)] == ["person4@example.com", "person5@example.com"]


def test_purge_sent_takes_the_retention_and_refuses_a_negative_one(db):
    _sent(db, 1, NOW - timedelta(days=8))
    _sent(db, 2, NOW - timedelta(days=6))
    with pytest.raises(ValueError):
        purge_sent(NOW, timedelta(days=-1))
    assert purge_sent(NOW, timedelta(days=7)) == 1
    assert [m.to_address for m in outbox(db)] == ["person2@example.com"]


def test_tick_purges_old_sent_mail_and_old_login_attempts(app, db, runner):
    app.config["MAIL_SENT_RETENTION_DAYS"] = 30
    _sent(db, 1, NOW - timedelta(days=31))
    _sent(db, 2, NOW - timedelta(days=29))
    window = timedelta(hours=app.config["LOGIN_FAILURE_HOURS"])  # how long a failed sign-in counts
    db.session.add_all([LoginAttempt(email="a@example.com", remote_addr="10.0.0.1", at=at)
                        for at in (NOW - window - timedelta(seconds=1), NOW - window + timedelta(seconds=1))])
    db.session.commit()

    summary = tasks.tick(NOW)

    assert summary.housekeeping == {"sent_mail_purged": 1, "login_attempts_purged": 1,
                                    "sessions_purged": 0, "reset_requests_purged": 0}
    assert [m.to_address for m in outbox(db)] == ["person2@example.com"]
    assert db.session.scalars(sa.select(LoginAttempt.at)).all() == [NOW - window + timedelta(seconds=1)]
    result = runner.invoke(args=["pulses", "tick", "--now", (NOW + timedelta(days=2)).isoformat()])
    assert result.exit_code == 0, result.output
    assert outbox(db) == []


def test_queue_once_queues_and_commits_a_key_once_and_renders_nothing_the_second_time(app, db):
    from datetime import UTC, datetime

    from mail import services as mail_services

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    composed = []

    def compose():
        composed.append(1)
        mail_services.queue("ada@example.com", "Hello", "Body", kind="test", dedupe_key="test:1", now=now)

    assert mail_services.queue_once("test:1", compose) is True
    db.session.rollback()  # committed: a later rollback keeps it
    assert mail_services.is_queued("test:1")
    assert mail_services.queue_once("test:1", compose) is False
    assert composed == [1]
