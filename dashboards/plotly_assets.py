"""Plotly.js for our pages: a partial bundle built from npm, with its stylesheet as a file.

Our figures use scatter and bar traces (and heatmaps are planned). ``make`` installs plotly.js from
npm (``assets/package.json``, the same version as the Python plotly package) and bundles its core
with only those trace types (``assets/plotly.js``, ``assets/build.mjs``) into
``static/vendor/plotly.min.js``: 1.18 MB, a quarter of the full bundle in the Python package and
a fifth less than plotly.js's cartesian bundle. It then runs this module to write
``static/vendor/plotly.css``; both are ordinary static files (compressed, fingerprinted, see
``static_files``). Until it has run, the full bundle from the Python package stands in at
``/vendor/plotly.min.js``.

Plotly.js normally injects its CSS rules in a <style> element at load time,
which our Content-Security-Policy (style-src 'self') forbids. It skips that
when the page already has an element with id ``plotly.js-style-global`` and
class ``no-inline-styles``, so we extract the same rules from the bundle once
and serve them as a stylesheet.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from pathlib import Path

import plotly

VENDOR_DIR = Path(__file__).resolve().parents[1] / "static" / "vendor"
PACKAGE_DIR = Path(plotly.__file__).parent / "package_data"
PLOTLY_DIR = VENDOR_DIR if (VENDOR_DIR / "plotly.min.js").is_file() else PACKAGE_DIR
_START = '{"X,X div":'
_PAIR = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*:\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _object_literal(source: str, start: int) -> str:
    depth, quote, index = 0, None, start
    while True:
        char = source[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return source[start:index + 1]
        index += 1


_GUARDED_STYLE = re.compile(
    r'if\(!document\.getElementById\("([0-9a-f]{16,64})"\)\)\{var \w+=document\.createElement\("style"\)')


@cache
def _source() -> str:
    return (PLOTLY_DIR / "plotly.min.js").read_text(encoding="utf-8")


@cache
def guarded_style_ids() -> tuple[str, ...]:
    """Ids of bundled stylesheets (map libraries we do not use) that inject themselves unless the id exists."""
    return tuple(_GUARDED_STYLE.findall(_source()))


@cache
def plotly_css() -> str:
    """The rules plotly.js would inject, with its own selector substitutions applied."""
    source = _source()
    rules = []
    for key, value in _PAIR.findall(_object_literal(source, source.index(_START))):
        selector = (_unquote(key).replace(",", " ,", 1) if _unquote(key).startswith(",") else _unquote(key))
        selector = selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        rules.append(f"{selector}{{{_unquote(value)}}}")
    return "\n".join(rules) + "\n"


def write_stylesheet(target: Path = VENDOR_DIR / "plotly.css") -> None:
    """Write the vendored bundle's rules as a stylesheet (``make`` runs this after vendoring)."""
    target.write_text(plotly_css(), encoding="utf-8")


if __name__ == "__main__":
    if PLOTLY_DIR != VENDOR_DIR:
        sys.exit(f"{VENDOR_DIR / 'plotly.min.js'} is missing: vendor the bundle first (make install).")
    write_stylesheet()
