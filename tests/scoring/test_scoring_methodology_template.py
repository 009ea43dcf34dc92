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

from scoring import compare, enps

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
    assert "none or at least 7 who answered" in html
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


def test_the_comparison_example_is_within_noise_for_every_split_of_the_answers():
    # "a rise from 20 to 40 points between two groups of 40 people is still
    # within noise": true whatever the passives, for each of the 17 x 13
    # ways to score 20 and then 40 with 40 answers (p from 0.070 to 0.357
    # under the adjusted-Wald test of scoring.compare).
    html = render()
    example = r"a rise from (\d+) to (\d+) points between two groups of (\d+) people is still within noise"
    match = re.search(example, html)
    assert match, "the example sentence of the comparison section changed"
    before, after, n = (int(group) for group in match.groups())

    def splits(score):
        net = score * n // 100
        assert 100 * net == score * n, "the example score must be reachable with n answers"
        return [(p, n - p - (p - net), p - net) for p in range(net, n + 1) if n - p - (p - net) >= 0]

    pairs = [(a, b) for a in splits(before) for b in splits(after)]
    assert len(pairs) == 17 * 13
    for a, b in pairs:
        comparison = compare(*(enps({10: p, 8: passives, 3: d}) for p, passives, d in (a, b)))
        assert comparison.delta == after - before
        assert not comparison.significant, (a, b, comparison)
