"""The one HTML error page: a heading, what happened, and the way home, for every status.

A service's own message (written for the person using the page) replaces the default text where
the status has one to give: 400, 403, 404, 409 and 503. A 503 (``errors.Unavailable``: the database cannot
be reached, or is busy) always gets its own page, with ``Retry-After``, and the page reads nothing from the
database; its text says whether anything of the request was saved.
The API never comes here; its errors are JSON (``api.core``).
"""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l

from errors import Unavailable

# status → (heading, the default text, whether a service's message replaces the default)
PAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please go back and try again."), True),
    403: (_l("Not allowed"), _l("Your role does not give access to this page."), True),
    404: (_l("Page not found"), _l("There is nothing at this address."), True),
    405: (_l("Not allowed"), _l("This page does not accept that kind of request."), False),
    409: (_l("This could not be done"),
          _l("Someone changed this at the same moment. Reload the page and try again."), True),
    429: (_l("Too many attempts"), _l("Too many requests in a short time. Please wait a few minutes."), False),
    500: (_l("Something went wrong"),
          _l("Something went wrong on our side. Nothing you entered was half-saved; please try again."), False),
    503: (_l("Temporarily unavailable"),
          _l("Polso cannot reach its database just now, so nothing was saved. Please try again in a moment."), True),
}


def render(page: int, status: int | None = None, message: str | None = None,
           fields: dict[str, str] | None = None):
    """The error page for ``page`` (a key of ``PAGES``), sent with ``status`` (default: ``page``)."""
    headers = {}
    if status == 503:
        page = 503
        headers["Retry-After"] = str(Unavailable.retry_after)
    heading, default, takes_message = PAGES[page]
    text = message if (message and takes_message) else default
    return render_template("errors/error.html", heading=heading, text=text,
                           fields=(fields or {}) if takes_message and message else {}), status or page, headers
