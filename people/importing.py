"""The CSV import of people: a file read into rows, upserted all or nothing by ``people.directory``."""

from __future__ import annotations

import csv
import io

from flask_babel import gettext as _

from errors import ValidationError
from people.directory import upsert_people
from people.models import Person

CSV_COLUMNS = ("email", "name", "department", "manager_email", "role", "kind", "hired_on",
               "locale", "timezone", "active")


def import_people_csv(data: bytes, *, by: Person | None = None) -> list[Person]:
    """Upsert people from a CSV file, all or nothing.

    The header names the columns (``email`` and ``name`` required; the
    others of ``CSV_COLUMNS`` optional). Row numbers in errors are the
    file's line numbers, the header being line 1.
    With ``by``, the import and each person it adds or changes are in the audit log.
    :raise ValidationError: listing every bad row (``error.rows``); nothing is written.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(_("The file is not UTF-8 text; save it as CSV UTF-8 and try again."),
                              {"file": _("Not UTF-8.")}) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("email", "name") if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(_("missing columns: %(cols)s", cols=", ".join(missing)))
        if unknown:
            parts.append(_("unknown columns: %(cols)s", cols=", ".join(unknown)))
        raise ValidationError(_("The header is not valid (%(problems)s).", problems="; ".join(parts)),
                              {"file": "; ".join(parts)})
    reader.fieldnames = header
    rows = []
    for raw in reader:
        # DictReader files surplus cells under None and leaves missing ones None.
        rows.append({k: v for k, v in raw.items() if k is not None and v is not None})
    if not rows:
        raise ValidationError(_("The file has no rows."), {"file": _("No rows.")})
    return upsert_people(rows, first_row=2, report_rows=True, by=by)
