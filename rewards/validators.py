"""Small readers of one request field each, and the defaults a missing field falls back on.

One job: read a raw value (form text or JSON) for the rewards services and either return it
cleaned or record why not in the caller's ``errors`` dict, under the field's name, so that one
``ValidationError`` names every bad field. Also: today's date where a person is, the payment
terms by default, and how notes are joined.

May import: ``inputs``, ``errors``, Flask's config, Flask-Babel and the models; no session and no
other rewards module.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _

import inputs
from errors import ValidationError
from people.models import Person
from people.timezones import person_zone
from rewards.models import DEFAULT_PAYMENT_TERMS_DAYS

MAX_TITLE = 200
MAX_TEXT = 5000
MAX_URL = 2000
MAX_REFERENCE = 200


def clean_text(raw: Any, name: str, errors: dict[str, str], *, required: str | None, limit: int) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors[name] = required
        return None
    if not isinstance(raw, str):
        errors[name] = _("Must be text.")
        return None
    if len(raw.strip()) > limit:
        errors[name] = _("At most %(max)s characters.", max=limit)
        return None
    return raw.strip()


def clean_date(raw: Any, name: str, errors: dict[str, str]) -> date | None:
    if isinstance(raw, datetime):  # a date-time where a day is meant is a mistake, not a day
        raw = "not a date"
    return inputs.collect(errors, inputs.read_date, raw, name)


def clean_url(raw: Any, name: str, errors: dict[str, str], *, required: str) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        errors[name] = required
        return None
    return inputs.collect(errors, inputs.read_url, raw, name, max_length=MAX_URL)


def clean_version(value: Any, field: str, errors: dict[str, str]) -> int | None:
    """A ``terms_version`` sent back by a page or a client (an int: pages read their hidden field's digits,
    ``rewards.forms``), or None."""
    if value is None or value == "":
        return None
    if not inputs.is_int(value) or not 0 <= value < 2 ** 63:
        errors[field] = _("Must be the terms_version of the plan you read (a whole number).")
        return None
    return value


def parse_terms_version(value: Any) -> int | None:
    """``clean_version`` for a single field. :raise ValidationError: naming ``terms_version``."""
    errors: dict[str, str] = {}
    version = clean_version(value, "terms_version", errors)
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    return version


def join_notes(*parts: str | None) -> str | None:
    return " — ".join(p for p in parts if p) or None


def local_today(person: Person, now: datetime) -> date:
    """The date it is at ``now`` where ``person`` is."""
    return now.astimezone(person_zone(person)).date()


def default_payment_terms() -> int:
    return int(current_app.config.get("REWARDS_PAYMENT_TERMS_DAYS", DEFAULT_PAYMENT_TERMS_DAYS))
