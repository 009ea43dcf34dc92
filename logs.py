"""What the app writes to its logs: never a survey link's token, never an answer.

A personal survey link is ``/s/<token>``; the token opens one person's
invitation, so a log line holding it says who opened the survey, and when.
:class:`RedactTokens` rewrites such paths to ``/s/[redacted]`` in every
record of the loggers that could see one: the access logs of the
development server (``werkzeug``) and of gunicorn (``gunicorn.access``,
``gunicorn.error``), the app's own logger and ``polso.mail``, which prints
e-mails when no SMTP server is configured. Answers are posted in the body of
``/s/answer``, and no logger is given request bodies. A comment's secret
reply link, ``/r/<secret>``, is redacted the same way: it would tie the
conversation to an address and a time.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

# Survey links (/s/<token>) and the links that set a password (/password/<key>).
TOKEN_PATH = re.compile(r"/(s|r|password)/[A-Za-z0-9_\-]{16,}")
REDACTED = r"/\1/[redacted]"
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "polso.mail", "polso")


def redact(text: str) -> str:
    return TOKEN_PATH.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Rewrites survey-link tokens out of a record's message (and of its arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactTokens()


def install(app: Flask) -> None:
    for name in (*LOGGERS, app.logger.name):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
