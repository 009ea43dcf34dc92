"""The methodology page renders, and its Italian .po fragment matches it.

Rendered with a stub base.html so that it does not depend on the app.
"""

import io
import re
from pathlib import Path

import jinja2
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PAGE = TEMPLATES / "scoring" / "methodology.html"
ITALIAN = TEMPLATES / "scoring" / "methodology_it.po.txt"
STUB_BASE = "<title>{% block title %}{% endblock %}</title>{% block content %}{% endblock %}"


def render(translations=None, **context):
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.DictLoader({"base.html": STUB_BASE}), jinja2.FileSystemLoader(TEMPLATES)]),
        extensions=["jinja2.ext.i18n"],
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    if translations is None:
        env.install_null_translations(newstyle=True)
    else:
        env.install_gettext_translations(translations, newstyle=True)
    return env.get_template("scoring/methodology.html").render(**context)


def italian_translations():
    catalog = read_po(io.BytesIO(ITALIAN.read_bytes()), locale="it")
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def extracted_msgids():
    messages = extract_from_file("jinja2", str(PAGE), options={"extensions": "jinja2.ext.i18n"})
    return {message[1] for message in messages}


def test_page_renders_with_one_h1_and_section_headings():
    html = render()
    assert html.count("<h1") == 1
    assert html.count("<h2") >= 8
    assert "at least 5 people in it answered" in html


def test_page_states_the_configured_thresholds():
    html = render(min_group_size=7, comment_threshold=10, min_driver_n=25)
    assert "at least 7 people in it answered" in html
    assert "1 to 6 people" in html
    assert "at least 25 people answered both questions" in html


def test_italian_fragment_has_exactly_the_extracted_msgids():
    catalog = read_po(io.BytesIO(ITALIAN.read_bytes()), locale="it")
    fragment = {message.id for message in catalog if message.id}
    assert fragment == extracted_msgids()
    assert all(message.string for message in catalog if message.id)


def test_italian_translations_keep_the_placeholders():
    catalog = read_po(io.BytesIO(ITALIAN.read_bytes()), locale="it")
    for message in catalog:
        if message.id:
            placeholders = sorted(re.findall(r"%\(\w+\)s", message.id))
            assert sorted(re.findall(r"%\(\w+\)s", message.string)) == placeholders


def test_page_renders_in_italian():
    html = render(italian_translations(), min_group_size=7)
    assert "Come conta Polso" in html
    assert "almeno 7 persone del gruppo hanno risposto" in html
