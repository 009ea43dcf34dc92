"""Where people are: the time zone a person's dates and times are shown and read in.

A person without a time zone of their own is in ``POLSO_DEFAULT_TIMEZONE``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flask import current_app

if TYPE_CHECKING:
    from people.models import Person


def default_timezone() -> str:
    """The IANA name of the company's time zone (``POLSO_DEFAULT_TIMEZONE``), for new people."""
    return current_app.config["POLSO_DEFAULT_TIMEZONE"]


def timezone_name(person: Person) -> str:
    """The IANA name of ``person``'s time zone: their own, else the company's."""
    return person.timezone or default_timezone()


def person_zone(person: Person) -> ZoneInfo:
    """``person``'s time zone: their own, else the company's."""
    return ZoneInfo(timezone_name(person))
