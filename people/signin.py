"""Signing in: passwords checked under a rate limit, and the JSON API's bearer tokens.

May import: the models and the session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

import inputs
from errors import TooManyAttempts
from extensions import db
from people.models import ApiToken, LoginAttempt, Person


@cache
def _dummy_password_hash(method: str) -> str:
    # Made once per process and per hasher, so that checking it costs what checking a real password costs.
    return generate_password_hash(secrets.token_urlsafe(16), method)


def authenticate(email: str, password: str, remote_addr: str | None, now: datetime) -> Person | None:
    """Return the person for these credentials, or None.

    Failed attempts are recorded; after ``LOGIN_MAX_FAILURES`` failures for the
    same e-mail or address within ``LOGIN_LOCKOUT_MINUTES`` every attempt is
    refused until the window has passed. The limit holds for parallel attempts
    too: however many arrive at once, at most ``LOGIN_MAX_FAILURES`` passwords
    are checked. A wrong password costs the same time whether or not the
    account exists or is active.
    :raise TooManyAttempts: while locked out (checked before the password).
    """
    cfg = current_app.config
    window_start = now - timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"])
    key = inputs.email_key(email)
    addr = remote_addr[:64] if remote_addr else None
    # Recorded and committed before the count, so that parallel attempts each see the others: of any number
    # arriving at once, only the first LOGIN_MAX_FAILURES to commit can count themselves within the limit.
    attempt = LoginAttempt(email=key[:254], remote_addr=addr, at=now)
    db.session.add(attempt)
    db.session.flush()
    attempt_id = attempt.id
    db.session.commit()
    who = [LoginAttempt.email == key[:254]]
    if addr:
        who.append(LoginAttempt.remote_addr == addr)
    attempts = db.session.scalar(
        sa.select(sa.func.count()).select_from(LoginAttempt).where(sa.or_(*who), LoginAttempt.at > window_start)
    )
    if attempts > cfg["LOGIN_MAX_FAILURES"]:
        # A refused attempt checked nothing, so it is not a failure: kept, it would stretch the lockout forever.
        _forget_attempt(attempt_id)
        raise TooManyAttempts(_("Too many failed sign-in attempts. Try again in %(minutes)s minutes.",
                                minutes=cfg["LOGIN_LOCKOUT_MINUTES"]))
    person = db.session.scalar(sa.select(Person).where(Person.email == key)) if key else None
    if person is None or not person.active or person.password_hash is None:
        check_password_hash(_dummy_password_hash(cfg["PASSWORD_HASH_METHOD"]), password or "")
        return None
    if not person.check_password(password or ""):
        return None
    _forget_attempt(attempt_id)
    return person


def _forget_attempt(attempt_id: int) -> None:
    db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.id == attempt_id)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def purge_login_attempts(now: datetime) -> int:
    """Delete failed sign-ins older than the rate-limit window, commit, and return how many.

    ``authenticate`` counts only attempts within the last ``LOGIN_LOCKOUT_MINUTES``,
    so older rows never matter again. Run by ``tick``; safe to run concurrently.
    """
    window_start = now - timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
    result = db.session.execute(
        sa.delete(LoginAttempt).where(LoginAttempt.at < window_start).execution_options(synchronize_session=False)
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


def person_for_api_token(raw: str, now: datetime) -> Person | None:
    digest = hashlib.sha256(raw.encode()).hexdigest()
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or token.expires_at <= now or not token.person.active:
        return None
    return token.person
