"""Signing in: passwords checked under limits that slow a guesser and never lock a company out, and the
JSON API's bearer tokens.

May import: the models and the session.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import format_timedelta
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

import audit
import inputs
from errors import TooManyAttempts, ValidationError
from extensions import db
from people import auth, passwords
from people.models import ApiToken, LoginAttempt, Person, SignInSession


@cache
def _dummy_password_hash(method: str) -> str:
    # Made once per process and per hasher, so that checking it costs what checking a real password costs.
    return generate_password_hash(secrets.token_urlsafe(16), method)


def backoff(failures: int) -> timedelta:
    """How long after its latest failure an account's next try must wait, once it has ``failures``.

    Nothing for the first ``LOGIN_MAX_FAILURES``; then ``LOGIN_BACKOFF_SECONDS``, doubling with each
    further failure, at most ``LOGIN_LOCKOUT_MINUTES``.
    """
    cfg = current_app.config
    extra = failures - cfg["LOGIN_MAX_FAILURES"]
    if extra < 0:
        return timedelta(0)
    longest = timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"])
    return min(longest, timedelta(seconds=cfg["LOGIN_BACKOFF_SECONDS"] * 2 ** min(extra, 32)))


def _refuse(wait: timedelta) -> TooManyAttempts:
    seconds = max(1, math.ceil(wait.total_seconds()))
    refusal = TooManyAttempts(_("Too many failed sign-in attempts. Try again in %(wait)s.",
                                wait=format_timedelta(timedelta(seconds=seconds), threshold=2)))
    refusal.retry_after = seconds
    return refusal


def authenticate(email: str, password: str, remote_addr: str | None, now: datetime) -> Person | None:
    """Return the person for these credentials, or None.

    Two limits, neither of which can lock a company out:

    - **Per account** (the e-mail typed, whether or not anyone has it, so a refusal says nothing
      about who exists): after ``LOGIN_MAX_FAILURES`` failures each try must wait ``backoff``
      after the latest one, and a right password after the wait signs in. A sign-in forgets the
      account's failures. Failures are remembered for ``LOGIN_FAILURE_HOURS``.
    - **Per client address**: ``LOGIN_ADDRESS_MAX_FAILURES`` failures within
      ``LOGIN_LOCKOUT_MINUTES``, high enough for a whole office behind one NAT or proxy (the
      address is the real client's only through ``POLSO_TRUSTED_PROXIES``).

    The limits hold for parallel attempts too: each is recorded and committed before it counts
    the others (all of them, earlier or later), so of any number arriving at once at most
    ``LOGIN_MAX_FAILURES`` check a password.
    A refused attempt is not a failure (kept, it would stretch the wait for ever). A wrong password
    costs the same time whether or not the account exists or is active.
    :raise TooManyAttempts: while either limit holds (checked before the password), with
        ``retry_after`` in seconds.
    """
    cfg = current_app.config
    key = inputs.email_key(email)[:254]
    addr = remote_addr[:64] if remote_addr else None
    attempt = LoginAttempt(email=key, remote_addr=addr, at=now)
    db.session.add(attempt)
    db.session.flush()
    attempt_id = attempt.id
    db.session.commit()
    remembered = now - timedelta(hours=cfg["LOGIN_FAILURE_HOURS"])
    earlier = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(LoginAttempt.at)).where(
            LoginAttempt.email == key, LoginAttempt.at > remembered, LoginAttempt.id != attempt_id)).one()
    failures, latest = earlier
    pause = backoff(failures)
    wait = latest + pause - now if pause and latest is not None else timedelta(0)
    if wait > timedelta(0):
        _forget_attempt(attempt_id)
        raise _refuse(wait)
    if addr:
        window_start = now - timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"])
        from_here = db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt).where(
            LoginAttempt.remote_addr == addr, LoginAttempt.at > window_start))
        if from_here > cfg["LOGIN_ADDRESS_MAX_FAILURES"]:
            _forget_attempt(attempt_id)
            raise _refuse(timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"]))
    person = db.session.scalar(sa.select(Person).where(Person.email == key)) if key else None
    if person is None or not person.active or person.password_hash is None:
        check_password_hash(_dummy_password_hash(cfg["PASSWORD_HASH_METHOD"]), password or "")
        return None
    if not person.check_password(password or ""):
        return None
    db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.email == key, LoginAttempt.id <= attempt_id)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return person


def _forget_attempt(attempt_id: int) -> None:
    db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.id == attempt_id)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def purge_login_attempts(now: datetime) -> int:
    """Delete failed sign-ins that no limit counts any more, commit, and return how many.

    ``authenticate`` counts an account's failures for ``LOGIN_FAILURE_HOURS`` and an address's for
    ``LOGIN_LOCKOUT_MINUTES``, so older rows never matter again. Run by ``tick``; safe to run concurrently.
    """
    cfg = current_app.config
    memory = max(timedelta(hours=cfg["LOGIN_FAILURE_HOURS"]), timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"]))
    result = db.session.execute(
        sa.delete(LoginAttempt).where(LoginAttempt.at < now - memory).execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def issue_api_token(person: Person, now: datetime) -> str:
    """Create a bearer token for ``person``; only its hash is kept."""
    raw = secrets.token_urlsafe(32)
    db.session.add(ApiToken(person_id=person.id, token_hash=hashlib.sha256(raw.encode()).hexdigest(),
                            created_at=now, expires_at=now + timedelta(days=current_app.config["API_TOKEN_DAYS"])))
    db.session.commit()
    return raw


# The token with its person, in one statement built once: every API request starts here.
_TOKEN = sa.select(ApiToken).options(so.joinedload(ApiToken.person)).where(ApiToken.token_hash == sa.bindparam("hash"))


_TOKEN_HOLDER = (sa.select(Person.id, Person.role).join(ApiToken, ApiToken.person_id == Person.id)
                 .where(ApiToken.token_hash == sa.bindparam("hash"), ApiToken.expires_at > sa.bindparam("now"),
                        Person.active.is_(True)))


def person_for_api_token(raw: str, now: datetime) -> Person | None:
    token = db.session.scalar(_TOKEN, {"hash": hashlib.sha256(raw.encode()).hexdigest()})
    if token is None or token.expires_at <= now or not token.person.active:
        return None
    return token.person


def holder_of_api_token(raw: str, now: datetime) -> tuple[int, str] | None:
    """The id and role of the active person whose token this is, if it has not expired: what the answering
    path needs, in one Core statement, without loading the person."""
    row = db.session.connection().execute(_TOKEN_HOLDER, {"hash": hashlib.sha256(raw.encode()).hexdigest(),
                                                          "now": now}).first()
    return (row.id, row.role) if row else None


def password_login_allowed(person: Person) -> bool:
    """Whether ``person`` may sign in with a password: everyone, or with ``POLSO_PASSWORD_LOGIN=admins``
    (single sign-on for the rest) only HR admins, so that one can still get in if the provider is down."""
    return current_app.config["POLSO_PASSWORD_LOGIN"] != "admins" or person.role == "hr_admin"


def active_api_tokens(person: Person, now: datetime) -> list[ApiToken]:
    return list(db.session.scalars(sa.select(ApiToken).where(
        ApiToken.person_id == person.id, ApiToken.expires_at > now).order_by(ApiToken.created_at.desc())))


def revoke_api_token(person: Person, token_id: int, now: datetime) -> bool:
    """Revoke one of ``person``'s own API tokens. Commits; False if there was none."""
    result = db.session.execute(sa.delete(ApiToken).where(ApiToken.id == token_id, ApiToken.person_id == person.id)
                                .execution_options(synchronize_session=False))
    if result.rowcount:
        audit.record("token.revoked", actor=person, target=person, summary=person.email, now=now)
    db.session.commit()
    return result.rowcount > 0


def change_password(person: Person, current: str, new: str, now: datetime, *, keep: SignInSession | None) -> None:
    """Set a new password for ``person``, who proved the current one, and sign them out everywhere else.

    Every other session ends and every API token is revoked (``keep``, the browser that asked, stays
    signed in). Commits.
    :raise ValidationError: a wrong current password (``current_password``) or a new one the rules
        refuse (``new_password``); nothing is changed.
    """
    if not person.check_password(current or ""):
        message = _("Your current password is not correct.")
        raise ValidationError(message, {"current_password": message})
    passwords.check_new_password(new, field="new_password", email=person.email, name=person.name)
    person.set_password(new)
    auth.sign_out_everywhere(person, keep=keep)
    audit.record("password.changed", actor=person, target=person, summary=person.email, now=now)
    db.session.commit()
