"""The audit log's HR pages: the filtered log, newest first, and the same rows as CSV."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import get_locale
from flask_login import current_user

import inputs
from audit import reading
from audit.services import ACTIONS, action_label, record
from errors import ValidationError
from extensions import db
from people.auth import hr_required
from spreadsheets import download, file_name, write_csv

bp = Blueprint("audit", __name__)

PER_PAGE = 50


@bp.route("/audit")
@hr_required
def index():
    """The log, filtered by the query's action, actor and days; bad filters are shown with the form, no rows."""
    errors: dict[str, str] = {}
    try:
        filters = reading.read_filters(request.args, current_user.timezone)
    except ValidationError as error:
        filters, errors = reading.Filters(zone=current_user.timezone), error.fields
    number = inputs.read_int(request.args.get("page"), "page", low=1, required=False) or 1
    pagination = None if errors else reading.page(filters, number, current_app.config.get("AUDIT_PER_PAGE", PER_PAGE))
    return render_template("audit/index.html", pagination=pagination, filters=filters, values=request.args,
                           errors=errors, actions=ACTIONS, action_label=action_label), 422 if errors else 200


@bp.route("/audit.csv")
@hr_required
def export():
    """Exactly the rows the page's filters select, as CSV; the download is itself recorded."""
    try:
        filters = reading.read_filters(request.args, current_user.timezone)
    except ValidationError as error:
        return Response("\n".join(f"{k}: {v}" for k, v in error.fields.items()) + "\n", status=422,
                        mimetype="text/plain")
    table = reading.table(filters)
    body = write_csv(table, str(get_locale() or "en"))
    described = ", ".join(f"{k}={v}" for k, v in filters.args().items()) or "no filter"
    record("export.downloaded", actor=current_user._get_current_object(), now=datetime.now(UTC),
           summary=f"audit log CSV: rows={len(table.rows)}, {described}")
    db.session.commit()
    return download(body, file_name("audit-log", filters.start, filters.end, extension="csv"))
