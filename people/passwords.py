"""What a new password must be, as NIST SP 800-63B says: long enough, not common, not guessable.

No composition rules (a digit, a capital, a symbol): they make passwords harder to remember, not
to guess. Instead a password is refused when it is shorter than ``PASSWORD_MIN_LENGTH`` (at least
12), longer than ``MAX_LENGTH``, or when zxcvbn (which ships lists of the most common and breached
passwords, words, names and keyboard patterns) rates it below ``MIN_SCORE``, with the person's own
name and e-mail counted as easy guesses.
"""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import gettext as _
from zxcvbn import zxcvbn

from errors import ValidationError

MAX_LENGTH = 256
# zxcvbn's scale: 0 too guessable, 1 very, 2 somewhat, 3 safely unguessable (about 10^8 guesses), 4 very.
MIN_SCORE = 3
# zxcvbn's cost grows with the length; it only looks at this much (the rest only adds strength).
_RATED_LENGTH = 100


def _personal_words(email: str | None, name: str | None) -> list[str]:
    words = [email or "", name or ""]
    for text in (email or "", name or ""):
        words.extend(part for part in re.split(r"[^\w]+", text.lower()) if len(part) >= 3)
    return [word for word in words if word]


def check_new_password(password: str | None, *, field: str = "password", email: str | None = None,
                       name: str | None = None) -> str:
    """Return ``password`` if it may be set, else raise.

    :raise ValidationError: on ``field``, saying what is wrong in words a person can act on.
    """
    password = password or ""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        _refuse(field, _("Use at least %(count)d characters.", count=minimum))
    if len(password) > MAX_LENGTH:
        _refuse(field, _("Use at most %(count)d characters.", count=MAX_LENGTH))
    if "\x00" in password:
        _refuse(field, _("A password cannot contain a null character."))
    rating = zxcvbn(password[:_RATED_LENGTH], user_inputs=_personal_words(email, name))
    if rating["score"] < MIN_SCORE:
        _refuse(field, _("This password is too common or too easy to guess. "
                         "A few unrelated words make a strong one."))
    return password


def _refuse(field: str, message: str):
    raise ValidationError(message, {field: message})
