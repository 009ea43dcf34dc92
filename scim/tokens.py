"""The bearer tokens SCIM clients present: made once and shown once, stored as SHA-256, revocable.

A token is 32 random bytes (URL-safe base64), so a plain hash is enough: there is nothing to guess.
Making and revoking a token are recorded in the audit log, by the HR admin who did it on the
Provisioning page (or by Polso itself: the CLI has no person).

May import: the models, ``audit`` and the session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa

import audit
from errors import NotFound
from extensions import db
from people.models import Person
from scim.models import ScimToken


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(now: datetime, *, by: Person | None = None) -> tuple[ScimToken, str]:
    """Make a token, commit, and return it with its secret (the only time the secret exists).

    ``by``: the HR admin who made it on the Provisioning page (None from the command line).
    """
    raw = secrets.token_urlsafe(32)
    token = ScimToken(token_hash=_digest(raw), created_at=now)
    db.session.add(token)
    db.session.flush()
    audit.record("scim.token.created", actor=by, target=token, summary=f"SCIM token {token.id}", now=now)
    db.session.commit()
    return token, raw


def revoke_token(token_id: int, now: datetime, *, by: Person | None = None) -> ScimToken:
    """Revoke the token ``token_id`` from ``now`` on (revoking it again changes nothing) and commit.

    :raise NotFound: there is no such token.
    """
    token = db.session.get(ScimToken, token_id)
    if token is None:
        raise NotFound(f"No SCIM token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = now
        audit.record("scim.token.revoked", actor=by, target=token, summary=f"SCIM token {token.id}", now=now)
        db.session.commit()
    return token


def all_tokens() -> list[ScimToken]:
    """Every token, oldest first, revoked ones included."""
    return list(db.session.scalars(sa.select(ScimToken).order_by(ScimToken.id)))


def is_valid(raw: str) -> bool:
    """Whether ``raw`` is a token that was made here and is not revoked."""
    if not raw:
        return False
    token = db.session.scalar(sa.select(ScimToken).where(ScimToken.token_hash == _digest(raw)))
    return token is not None and token.revoked_at is None
