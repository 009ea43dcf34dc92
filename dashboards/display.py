"""How results read as text on pages and in charts.

- Scores and changes are signed and use the minus sign (U+2212), never a hyphen: "+12", "−15".
- Questions have a short label (their driver's name, in the viewer's language) for chart axes and
  table headers, and their full text, company name filled in, for hover, tooltips and tables.
- Favorability colours a table cell on a colour-blind-safe diverging scale (orange = unfavorable,
  blue = favorable) whose text keeps AA contrast (``static/css/results.css``).
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import format_decimal

from surveys.library import DRIVER_LABELS

MINUS = "\u2212"
SCORE_PATTERN = f"+#,##0;{MINUS}#,##0"
R_PATTERN = f"0.00;{MINUS}0.00"
# Upper bounds (exclusive, in % favorable) of the colour classes fav-1 .. fav-5; fav-5 is 80 % and above.
FAVORABILITY_STEPS = (20, 40, 60, 80)
SHORT_LABEL_MAX = 28


def score_text(value: float | None) -> str:
    """An eNPS score or change as shown: "+12", "−15", "+0"; "—" when there is none."""
    return "—" if value is None else format_decimal(value, SCORE_PATTERN)


def r_text(value: float | None) -> str:
    """A correlation as shown: "0.42", "−0.17" (with the locale's decimal separator)."""
    return "—" if value is None else format_decimal(value, R_PATTERN)


def shorten(text: str, limit: int = SHORT_LABEL_MAX) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with "…" when cut."""
    return textwrap.shorten(text, limit, placeholder="…") if len(text) > limit else text


def wrap(text: str, width: int = 16) -> str:
    """A chart label on lines of about ``width`` characters (Plotly breaks lines at ``<br>``)."""
    return "<br>".join(textwrap.wrap(text, width, break_long_words=False)) or text


@dataclass(frozen=True)
class QuestionLabel:
    short: str  # for axes and column headers
    full: str  # for hover, tooltips, captions and tables


def question_labels(questions: Iterable, locale: str) -> dict[int, QuestionLabel]:
    """Labels for a survey's questions, by question id.

    The short label is the question's driver ("Manager support"), or, for a question without a driver
    or one of two on the same driver, its text shortened. Short labels are unique within the set.
    """
    questions = list(questions)
    drivers = Counter(q.driver for q in questions if q.driver in DRIVER_LABELS)
    labels: dict[int, QuestionLabel] = {}
    used: set[str] = set()
    for q in questions:
        full = q.text_for(locale)
        if q.driver in DRIVER_LABELS and drivers[q.driver] == 1:
            short = DRIVER_LABELS[q.driver][1 if locale == "it" else 0]
        else:
            short = shorten(full)
        base, number = short, 2
        while short in used:
            short, number = f"{base} ({number})", number + 1
        used.add(short)
        labels[q.id] = QuestionLabel(short, full)
    return labels


def favorability_class(favorable: float | None) -> str:
    """The CSS class of a favorability cell: ``fav-1`` (under 20 % favorable) to ``fav-5`` (80 % or more)."""
    if favorable is None:
        return ""
    return f"fav-{1 + sum(favorable >= step for step in FAVORABILITY_STEPS)}"
