"""Secret reply links: a respondent who opts in gets one per comment, shown once, stored only as a hash.

The secret is 32 random bytes, like a personal survey link, but it opens a
conversation about one comment, not an invitation: nothing about the person
is ever stored next to it. The answer page shows the link once, on the
thank-you page; no e-mail carries it (an e-mail would tie it to an
address). Its SHA-256 travels sealed in the ballot and is stored with the
comment when the ballot is mixed (``Answer.reply_hash``). ``logs.redact``
keeps ``/r/<secret>`` out of every log.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app

REPLY_PATH = "/r/"
SECRET_BYTES = 32


def reply_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> tuple[str, str]:
    """A fresh secret and its hash."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return secret, reply_hash(secret)


def reply_link(secret: str) -> str:
    """The link at the public address."""
    return f"{current_app.config['POLSO_BASE_URL'].rstrip('/')}{REPLY_PATH}{secret}"
