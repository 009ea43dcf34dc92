"""Reading the log for HR: the filters a request sends, a page of events, the same events as a table.

One job, reads only. The filters are an action code, part of the actor's e-mail address, and a
range of days in the reader's time zone (both ends included). Events come newest first, ties by
id, so a page and the CSV list them in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

import inputs
from audit.models import MAX_EMAIL, AuditEvent
from audit.services import ACTIONS, action_label
from errors import ValidationError
from extensions import db
from spreadsheets import Table


@dataclass(frozen=True)
class Filters:
    action: str | None = None
    actor: str | None = None  # part of the actor's e-mail address, lower-cased
    start: date | None = None  # first day shown, in ``zone``
    end: date | None = None  # last day shown, in ``zone``
    zone: str = "UTC"

    def args(self) -> dict[str, str]:
        """The filters as the page's query arguments (for the pager and the CSV link)."""
        values = {"action": self.action, "actor": self.actor,
                  "from": self.start.isoformat() if self.start else None,
                  "to": self.end.isoformat() if self.end else None}
        return {k: v for k, v in values.items() if v}


def read_filters(args: Mapping[str, Any], zone: str) -> Filters:
    """The filters in a request's query (``action``, ``actor``, ``from``, ``to``), days in ``zone``.

    Empty ones filter nothing. :raise ValidationError: naming each bad one (an unknown action, a bad
    date, an end before the start).
    """
    errors: dict[str, str] = {}
    action = inputs.collect(errors, inputs.read_choice, args.get("action") or None, "action", ACTIONS,
                            required=False)
    actor = inputs.collect(errors, inputs.read_text, args.get("actor"), "actor", max_length=MAX_EMAIL,
                           required=False, single_line=True)
    start = inputs.collect(errors, inputs.read_date, args.get("from"), "from", required=False)
    end = inputs.collect(errors, inputs.read_date, args.get("to"), "to", required=False)
    if start and end and end < start:
        errors["to"] = _("The last day must not be before the first.")
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    return Filters(action, inputs.email_key(actor) or None, start, end, zone)


def _midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def select(filters: Filters) -> sa.Select:
    """The filtered events, newest first."""
    stmt = sa.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.actor:
        stmt = stmt.where(AuditEvent.actor_email.like(_like(filters.actor), escape="\\"))
    if filters.start:
        stmt = stmt.where(AuditEvent.at >= _midnight(filters.start, filters.zone))
    if filters.end:
        stmt = stmt.where(AuditEvent.at < _midnight(filters.end + timedelta(days=1), filters.zone))
    return stmt


def page(filters: Filters, number: int, per_page: int):
    """One page of the filtered events (a Flask-SQLAlchemy pagination; past the last page, an empty one)."""
    return db.paginate(select(filters), page=number, per_page=per_page, error_out=False)


def table(filters: Filters) -> Table:
    """Every filtered event as a table for the CSV, times in the filters' zone, texts in the request's language."""
    zone = ZoneInfo(filters.zone)
    columns = [_("Time (%(zone)s)", zone=filters.zone), _("Actor"), _("Action code"), _("Action"),
               _("Target type"), _("Target id"), _("Summary"), _("Address")]
    automatic = _("Polso (automatic)")
    rows = [[event.at.astimezone(zone), event.actor_email or automatic, event.action, action_label(event.action),
             event.target_type, event.target_id, event.summary, event.remote_addr]
            for event in db.session.scalars(select(filters))]
    return Table(columns, rows, _("Audit log"))
