"""A meeting's time in the words of the person reading it: their time zone, the page's language.

One job: the locale and the wording shared by refusals (an overlap names the slot it clashes
with) and by the pages.

May import: ``flask``, ``flask_babel``, ``babel``, ``people.models``.
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_date, format_time
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _

from people.models import Person
from people.timezones import person_zone


def viewer_locale(person: Person | None) -> str:
    if has_request_context() and get_locale() is not None:
        return str(get_locale())
    return (person.locale if person else None) or current_app.config["BABEL_DEFAULT_LOCALE"]


def describe_slot(begins: datetime, ends: datetime, person: Person) -> str:
    """A meeting's time as ``person`` reads it: their time zone, the page's language."""
    tz = person_zone(person)
    locale = viewer_locale(person)
    return _("%(date)s, %(start)s–%(end)s (%(timezone)s)",
             date=format_date(begins.astimezone(tz).date(), "full", locale=locale),
             start=format_time(begins, "short", tzinfo=tz, locale=locale),
             end=format_time(ends, "short", tzinfo=tz, locale=locale), timezone=tz.key)
