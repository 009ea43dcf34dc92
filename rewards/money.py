"""Money: ISO 4217 currencies and amounts in integer minor units, as stored, shown and typed.

One job: move an amount between minor units (how the database keeps money; never floats), a
decimal, the viewer's locale and what someone types in a form, and refuse a currency or an amount
that is not money one pays people in.

May import: Babel, Flask-Babel and ``rewards.models``; no session and no other rewards module, so
that forms, templates and every rewards service can use it. Refusals are recorded in the caller's
``errors`` dict under the field's name; the caller raises one ``ValidationError`` for all of them.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import NumberFormatError, get_currency_precision, list_currencies, parse_decimal
from babel.numbers import format_decimal as babel_format_decimal
from flask_babel import format_currency
from flask_babel import gettext as _

import inputs
from rewards.models import MAX_AMOUNT_MINOR

# Digits with the locale's separators (and a sign, so "-5" is refused for being negative): no exponents, no NaN.
_TYPED_AMOUNT = re.compile(r"^-?\d[\d.,\u00a0\u202f' ]*$")
# ISO 4217 codes that are not money one pays people in (testing, "no currency", metals, SDR, units of account).
NOT_MONEY = frozenset({"XXX", "XTS", "XAU", "XAG", "XPD", "XPT", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU",
                       "XUA"})


def currencies() -> list[str]:
    """ISO 4217 codes Babel knows, without the non-money X codes."""
    return sorted(code for code in list_currencies() if code not in NOT_MONEY)


def minor_digits(currency: str) -> int:
    """Digits after the decimal point in ``currency`` (2 for EUR, 0 for JPY, 3 for BHD)."""
    return get_currency_precision(currency)


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-minor_digits(currency))


def decimal_text(amount_minor: int, currency: str) -> str:
    """The amount as a plain decimal string with the currency's digits: 123450 EUR → "1234.50"."""
    return str(to_decimal(amount_minor, currency))


def money(amount_minor: int, currency: str) -> str:
    """The amount in the viewer's locale: "€1,234.50" in English, "1.234,50 €" in Italian."""
    return format_currency(to_decimal(amount_minor, currency), currency)


def typed_amount(amount_minor: int, currency: str, locale: str) -> str:
    """The amount as someone in ``locale`` would type it in a form: 123450 EUR → "1,234.50" or "1.234,50"."""
    digits = minor_digits(currency)
    return babel_format_decimal(to_decimal(amount_minor, currency), format="#,##0" + ("." + "0" * digits if digits
                                                                                     else ""), locale=locale)


def clean_currency(raw: Any, errors: dict[str, str]) -> str | None:
    code = raw.strip().upper() if isinstance(raw, str) else None
    if not code:
        errors["currency"] = _("A currency is required, as an ISO 4217 code such as EUR.")
        return None
    if len(code) != 3 or code not in list_currencies() or code in NOT_MONEY:
        errors["currency"] = _("Not a known ISO 4217 currency code (for example EUR, USD, GBP).")
        return None
    return code


def _check_minor(value: int, name: str, errors: dict[str, str]) -> int | None:
    if value <= 0:
        errors[name] = _("The amount must be more than zero.")
    elif value > MAX_AMOUNT_MINOR:
        errors[name] = _("The amount is too large.")
    else:
        return value
    return None


def clean_amount_minor(raw: Any, name: str, errors: dict[str, str]) -> int | None:
    if not inputs.is_int(raw):
        errors[name] = _("Must be a whole number of minor units (cents), for example 150000 for 1,500.00.")
        return None
    return _check_minor(raw, name, errors)


def clean_amount_text(raw: Any, currency: str | None, locale: str, name: str, errors: dict[str, str]) -> int | None:
    """An amount typed in major units in the viewer's locale ("1.234,50" in Italian) → minor units."""
    if not isinstance(raw, str) or not raw.strip():
        errors[name] = _("An amount is required.")
        return None
    if currency is None:
        return None  # the currency's own error says why
    try:
        if not _TYPED_AMOUNT.match(raw.strip()):
            raise ValueError(raw)
        value = parse_decimal(raw.strip(), locale=locale, strict=True)
    except (NumberFormatError, InvalidOperation, ValueError):
        errors[name] = _("Not an amount; write it like %(example)s.",
                         example=babel_format_decimal(Decimal("1234.50"), format="#,##0.00", locale=locale))
        return None
    if not value.is_finite():
        errors[name] = _("An amount is required.")
        return None
    minor = value.scaleb(minor_digits(currency))
    if minor != minor.to_integral_value():
        errors[name] = _("%(currency)s has %(digits)s digits after the decimal point.",
                         currency=currency, digits=minor_digits(currency))
        return None
    return _check_minor(int(minor), name, errors)
