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

import base64
import hashlib
import json
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Response, current_app

REPLY_PATH = "/r/"
SECRET_BYTES = 32
# Pages that show or open a reply link are padded to a multiple of this: an access log (or anyone
# watching the encrypted traffic) that sees a response's size must not learn from it whether the
# answer asked for replies, nor which conversation a link opened.
PAD_TO = 16384


def reply_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> tuple[str, str]:
    """A fresh secret and its hash."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return secret, reply_hash(secret)


def reply_link(secret: str) -> str:
    """The link at the public address."""
    return f"{current_app.config['POLSO_BASE_URL'].rstrip('/')}{REPLY_PATH}{secret}"


def padded(response: Response) -> Response:
    """``response`` with spaces after its end to the next multiple of ``PAD_TO`` bytes (pages are never
    compressed, so the size stays as padded; the proxy must not compress ``/s/`` or ``/r/`` either)."""
    body = response.get_data()
    target = -(-max(len(body), 1) // PAD_TO) * PAD_TO
    response.set_data(body + b" " * (target - len(body)))
    return response


def _cipher() -> AESGCM:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return AESGCM(hashlib.sha256(b"polso.reply-links\0" + secret).digest())


def seal_for_browser(links: list[tuple[str, str]]) -> str:
    """The links to show once, encrypted for the browser's session cookie between the answer and its
    thank-you page: the cookie is the browser's, but must not carry a secret anyone could read off it."""
    nonce = os.urandom(12)
    return base64.urlsafe_b64encode(nonce + _cipher().encrypt(nonce, json.dumps(links).encode(), None)).decode()


def open_from_browser(sealed: object) -> list[tuple[str, str]]:
    """What ``seal_for_browser`` sealed; nothing for anything else."""
    try:
        raw = base64.urlsafe_b64decode(str(sealed))
        return [tuple(pair) for pair in json.loads(_cipher().decrypt(raw[:12], raw[12:], None))]
    except (InvalidTag, ValueError, TypeError):
        return []
