"""Reading what a request sends: the one place ids, integers, text and dates are parsed.

Everything a client sends enters through a URL, a form or a JSON body. The readers here turn
one raw value into the type a service works with, or raise :class:`errors.ValidationError`
naming the field. Services call them for every field they take, whichever dialect the value
came in (a form's strings or JSON's types), so a rule is written once and both databases see
the same values:

- ids and integers are whole numbers within the database's 32-bit range (SQLite would store
  larger ones, PostgreSQL refuses them from 2**31), never booleans;
- text is a string without NUL (PostgreSQL cannot store it, SQLite would) or other control
  characters (tabs and line breaks aside), within its length,
  and single-line where a line break makes no sense (names, titles);
- dates and date-times lie between 1900 and 2199, far from where date arithmetic overflows;
  date-times carry their UTC offset.

:func:`init_app` adds what guards every request before any view runs: URL ids beyond the
range are a 404, a NUL byte anywhere in the query, form or JSON body is a 422 naming the field,
and a JSON body nested deeper than :data:`MAX_JSON_DEPTH` is a 400 before a parser recurses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email
from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter
from werkzeug.routing import ValidationError as NoMatch

from errors import NotFound, ServiceError, ValidationError

#: The largest id or count a column holds on both databases (PostgreSQL's INTEGER).
MAX_INT = 2 ** 31 - 1
#: Dates outside these are refused: a typo, and beyond them "a year later" overflows.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2199, 12, 31)
#: Deeper JSON than this is refused unparsed; no request of ours nests more than 5.
MAX_JSON_DEPTH = 32
MAX_EMAIL = 254  # RFC 5321's limit on a forward path
MAX_URL = 2000
# C0 controls but tab, LF and CR; DEL; C1 controls. Invisible on a page, they break terminals, CSVs and e-mail.
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def invalid(field: str, message: str) -> ValidationError:
    """The refusal for one bad field, in the shape every view and the API understand."""
    return ValidationError(_("Some fields are not valid."), {field: message})


def _absent(value: Any, field: str, required: bool) -> bool:
    """Whether ``value`` is "no value" (``None`` or ``""``); refused when the field is ``required``."""
    if value is None or value == "":
        if required:
            raise invalid(field, _("This field is required."))
        return True
    return False


# --- one value --------------------------------------------------------------------------------

def is_int(value: Any) -> bool:
    """Whether ``value`` is a whole number as a request means one: an int, never a bool (``True`` is
    an int in Python, never in JSON)."""
    return isinstance(value, int) and not isinstance(value, bool)


def read_int(value: Any, field: str, *, low: int = 0, high: int = MAX_INT, required: bool = True,
             from_text: bool | None = None) -> int | None:
    """A whole number in ``low..high``: a JSON integer, or digits from a form or a URL.

    Booleans are refused (``True`` is an int in Python, never in a request). ``None`` and the
    empty string are "no value": ``None`` is returned unless ``required``. Strings are read only
    from forms and query strings (``from_text``; by default whenever the value is a string), and
    only ASCII digits with an optional sign, at most 12 characters, so "²" or 5,000 digits is a
    field error, not a crash.
    """
    if _absent(value, field, required):
        return None
    if isinstance(value, str) and from_text is not False:
        value = _whole_number(value)
        if value is None:
            raise invalid(field, _whole_number_message(low, high))
    if not is_int(value) or not low <= value <= high:
        raise invalid(field, _whole_number_message(low, high))
    return value


def form_int(value: Any) -> Any:
    """A form field's text as the API would send it: the whole number its digits spell, else as it came.

    Forms send only text; a page's ``to_data`` passes number fields through this, so a service gets
    the same typed values from a page as from the API (an int, or something it refuses by name).
    """
    if isinstance(value, str):
        number = _whole_number(value)
        if number is not None:
            return number
        return None if not value.strip() else value
    return value


def _whole_number(text: str) -> int | None:
    """The int that ``text`` spells in ASCII digits with an optional sign, at most 12 characters once
    stripped, else None (``int()`` would take "²" or "1_0", and 5,000 digits with an error of its own)."""
    text = text.strip()
    digits = text[1:] if text[:1] in "+-" else text
    return int(text) if digits.isascii() and digits.isdigit() and len(text) <= 12 else None


def _whole_number_message(low: int, high: int) -> str:
    if high >= MAX_INT:
        return _("Must be a whole number of at least %(low)s.", low=low)
    return _("Must be a whole number from %(low)s to %(high)s.", low=low, high=high)


def read_id(value: Any, field: str, *, required: bool = True, from_text: bool | None = None) -> int | None:
    """A row id: a whole number from 1 to :data:`MAX_INT` (larger ones cannot name a row).

    ``from_text`` as for ``read_int``: a body's ids are ints (pages pass theirs through ``form_int``),
    a URL's and a query string's are text."""
    return read_int(value, field, low=1, high=MAX_INT, required=required, from_text=from_text)


def read_bool(value: Any, field: str, *, default: bool | None = None) -> bool:
    """``true``/``false`` from JSON; from a form, a checkbox's presence ("y", "on", "true", "1")."""
    if value is None or value == "":
        if default is None:
            raise invalid(field, _("This field is required."))
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("y", "yes", "on", "true", "1", "n", "no", "off",
                                                             "false", "0"):
        return value.strip().lower() in ("y", "yes", "on", "true", "1")
    raise invalid(field, _("Must be true or false."))


def read_text(value: Any, field: str, *, max_length: int, required: bool = True, single_line: bool = False,
              strip: bool = True) -> str | None:
    """A string without NUL or other control characters (tabs and line breaks aside), at most
    ``max_length`` characters once stripped.

    ``single_line`` also refuses CR and LF (a name or title with a line break would break
    e-mail headers, CSV rows and calendar lines). Empty text is "no value": ``None`` is
    returned unless ``required``.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise invalid(field, _("Must be text."))
    if strip:
        value = value.strip()
    if not value:
        if required:
            raise invalid(field, _("This field is required."))
        return None
    if "\x00" in value:
        raise invalid(field, _("Contains a character that cannot be stored (NUL)."))
    if single_line and ("\n" in value or "\r" in value):
        raise invalid(field, _("Must be a single line."))
    if _CONTROL.search(value):
        raise invalid(field, _("Contains a control character, which cannot be shown."))
    if len(value) > max_length:
        raise invalid(field, _("At most %(n)s characters.", n=max_length))
    return value


def email_key(value: Any) -> str:
    """The form an e-mail address is stored and looked up in: stripped and lower-cased ("" for non-text).

    For finding someone by the address they typed; ``read_email`` also checks that it is one.
    """
    return value.strip().lower() if isinstance(value, str) else ""


def read_email(value: Any, field: str, *, required: bool = True) -> str | None:
    """An e-mail address (syntax only, no DNS lookup), normalised and lower-cased as ``email_key``."""
    text = read_text(value, field, max_length=MAX_EMAIL, required=required, single_line=True)
    if text is None:
        return None
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise invalid(field, _("Not a valid e-mail address.")) from None
    return email_key(result.normalized)


def read_url(value: Any, field: str, *, max_length: int = MAX_URL, required: bool = True) -> str | None:
    """A web address: http or https, with a host and no spaces."""
    text = read_text(value, field, max_length=max_length, required=required)
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise invalid(field, _("Must be a web address starting with https:// or http://."))
    return text


def read_list(value: Any, field: str, *, most: int, empty: str, too_many: str) -> list[Any]:
    """A JSON list (or a form's rows) of 1 to ``most`` items, each still to be read by the caller.

    ``empty`` is the message for a missing or empty list, or anything else that is not a list;
    ``too_many`` the one for more than ``most`` items.
    """
    if not isinstance(value, list) or not value:
        raise invalid(field, empty)
    if len(value) > most:
        raise invalid(field, too_many)
    return value


def read_choice(value: Any, field: str, choices: Iterable[str], *, required: bool = True) -> str | None:
    """One of ``choices`` (strings); anything else, including a list or an object, is a field error."""
    choices = list(choices)
    if _absent(value, field, required):
        return None
    if not isinstance(value, str) or value not in choices:
        raise invalid(field, _("Must be one of: %(choices)s.", choices=", ".join(choices)))
    return value


@cache
def time_zones() -> frozenset[str]:
    """The IANA zone names this machine knows (from tzdata)."""
    return frozenset(available_timezones())


def read_timezone(value: Any, field: str, *, required: bool = True) -> str | None:
    """An IANA time zone name such as ``Europe/Rome``."""
    if _absent(value, field, required):
        return None
    if not isinstance(value, str) or value.strip() not in time_zones():
        raise invalid(field, _("Not a known time zone (use names like Europe/Rome)."))
    return value.strip()


def read_date(value: Any, field: str, *, required: bool = True) -> date | None:
    """An ISO 8601 date (``YYYY-MM-DD``) between :data:`MIN_DATE` and :data:`MAX_DATE`."""
    if isinstance(value, datetime):
        value = value.date()
    if _absent(value, field, required):
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise invalid(field, _("Must be a date such as 2026-03-31.")) from None
    if not isinstance(value, date):
        raise invalid(field, _("Must be a date such as 2026-03-31."))
    check_date_range(value, field)
    return value


def read_datetime(value: Any, field: str, *, required: bool = True) -> datetime | None:
    """An ISO 8601 date-time with its UTC offset, returned in UTC, within the supported years."""
    if _absent(value, field, required):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise invalid(field, _("Must be a date and time with its UTC offset, "
                                   "such as 2026-03-31T09:30:00+02:00.")) from None
    if not isinstance(value, datetime):
        raise invalid(field, _("Must be a date and time with its UTC offset, such as 2026-03-31T09:30:00+02:00."))
    if value.tzinfo is None or value.utcoffset() is None:
        raise invalid(field, _("Must include its UTC offset, such as +02:00."))
    check_date_range(value.replace(tzinfo=None).date(), field)  # before converting: 9999-12-31-14:00 overflows
    return value.astimezone(UTC)


def check_date_range(day: date, field: str) -> None:
    if not MIN_DATE <= day <= MAX_DATE:
        raise invalid(field, _("Must be between %(low)s and %(high)s.", low=MIN_DATE.isoformat(),
                               high=MAX_DATE.isoformat()))


# --- every request ---------------------------------------------------------------------------

def digits_up_to(limit: int) -> str:
    """A regular expression for the decimal numbers 0..``limit`` (no sign), e.g. for ``limit=250``
    ``[0-9]{1,2}|1[0-9]{2}|2[0-4][0-9]|250``."""
    text = str(limit)
    parts = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        low = 1 if i == 0 and len(text) > 1 else 0
        if int(digit) > low:
            rest = len(text) - i - 1
            parts.append(text[:i] + f"[{low}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(text)
    return "(?:" + "|".join(parts) + ")"


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>`` that matches only ids a row can have, so a huge one is a 404 before any query.

    The bound is in the URL pattern itself, not only in ``to_python``: Werkzeug picks the rule (and
    notes the methods of rules that match the path) before converting, so an id past the bound that
    the pattern took would make ``PATCH /x/<huge>`` a 405 next to ``GET /x/<id>``, not a 404.
    """

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min=min, max=MAX_INT if max is None else max, signed=signed)
        if not signed and not fixed_digits:
            self.regex = digits_up_to(self.max)

    def to_python(self, value: str) -> Any:
        # int() itself refuses more than 4,300 digits with a ValueError, which would be a 500.
        if len(value) > 12 or not value.lstrip("-").isascii():
            raise NoMatch()
        return super().to_python(value)


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit``; linear, and never recursive."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every (field path, string) in a parsed JSON value, keys included, without recursion."""
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, inner in item.items():
                yield (f"{where}.{key}" if where else str(key)), str(key)
                stack.append((f"{where}.{key}" if where else str(key), inner))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", inner) for i, inner in enumerate(item))


def nul_field() -> str | None:
    """The first field of this request whose value (or name) holds a NUL byte, if any."""
    for source in (request.args, request.form):
        for key, values in source.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return key.replace("\x00", "\\0")
    for key, upload in request.files.items():
        if "\x00" in key or "\x00" in (upload.filename or ""):
            return key.replace("\x00", "\\0")
    if request.is_json:
        data = request.get_json(silent=True)
        for where, text in _strings(data, ""):
            if "\x00" in text:
                return where.replace("\x00", "\\0") or "body"
    return None


def guard_request() -> None:
    """Refuse, before the view, what no view can handle: deep JSON, NUL bytes, NUL in the path."""
    if any(isinstance(v, str) and "\x00" in v for v in (request.view_args or {}).values()):
        raise NotFound(_("Not found."))
    if request.is_json and request.content_length != 0:
        body = request.get_data(cache=True)
        if json_depth_exceeds(body, MAX_JSON_DEPTH):
            raise ServiceError(_("The JSON body is nested more than %(n)s levels deep.", n=MAX_JSON_DEPTH))
    field = nul_field()
    if field is not None:
        raise invalid(field, _("Contains a character that cannot be stored (NUL)."))


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(guard_request)



def collect(errors: dict[str, str], reader: Any, value: Any, name: str, *args: Any, **options: Any) -> Any:
    """``reader(value, name, *args, **options)``, adding its refusal to ``errors`` instead of raising.

    For services that report every bad field of a form at once.
    """
    try:
        return reader(value, name, *args, **options)
    except ValidationError as exc:
        errors.update(exc.fields)
        return None
