"""In Italian, no page and no chart shows an English sentence from the catalog, nor a raw placeholder.

For HR, a manager and an employee of the demo organisation, every page reached by following links
from home (one page per path shape, as in ``test_axe_sweep``) is read in Italian: its text, the
words in its attributes (title, aria-label, placeholder, alt, value of buttons) and every string in
its Plotly figures. None may contain the English side of a catalog entry whose Italian differs (only
entries of two words or more, so that "eNPS" or "OK" are not false alarms; for messages with
placeholders, each literal stretch of two words or more between them).
"""

from __future__ import annotations

import json
import re
from collections import deque
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from flask_babel import refresh

from demo import DEMO_PASSWORD

CATALOG = Path(__file__).resolve().parents[1] / "translations" / "it" / "LC_MESSAGES" / "messages.po"
SKIP = ("/api/", "/static/", "/logout", "/calendar/", "/s/", "/vendor/", "/language/")
DOWNLOADS = (".csv", ".xlsx", ".ics", ".json", ".js", ".css", ".md")
MAX_PAGES = 40
# docs/anonymity.md, shown as written: the project's documents are in English (the page says so).
ENGLISH_DOCUMENTS = ("/methodology/anonymity",)
ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%|%[sd]|\{[a-z_]+\}")


@cache
def english_phrases() -> tuple[str, ...]:
    """English stretches of the catalog that an Italian page must not show."""
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    phrases = set()
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english in ids:
            if english in strings:
                continue
            for stretch in PLACEHOLDER.split(english):
                stretch = stretch.strip(" .,:;·()–—…")
                if len(stretch.split()) >= 2 and len(stretch) >= 8 and stretch not in "".join(strings):
                    phrases.add(stretch)
    return tuple(sorted(phrases))


class PageText(HTMLParser):
    """The words a person can read or hear on a page, and its chart figures."""

    def __init__(self):
        super().__init__()
        self.words: list[str] = []
        self.figures: list[dict] = []
        self.links: list[str] = []
        self._skip = 0
        self._elsewhere: list[str] = []  # open elements marked as another language (an e-mail preview)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if attrs.get("lang") and attrs["lang"] != "it" and tag != "html":
            self._elsewhere.append(tag)
            self._skip += 1
        self.words += [attrs[name] for name in ATTRIBUTES if attrs.get(name)]
        if tag in ("input", "button") and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.words.append(attrs["value"])
        if attrs.get("data-figure"):
            self.figures.append(json.loads(attrs["data-figure"]))
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        if self._elsewhere and self._elsewhere[-1] == tag:
            self._elsewhere.pop()
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.words.append(data)


def figure_strings(node, inside_template: bool = False) -> list[str]:
    """Every string of a Plotly figure (its template, Plotly's styling defaults, aside)."""
    if isinstance(node, dict):
        return [s for key, value in node.items() if key != "template" for s in figure_strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in figure_strings(value)]
    return [node] if isinstance(node, str) else []


def shape(path: str) -> str:
    return re.sub(r"\d+", "#", path)


def read_in_italian(client) -> dict[str, PageText]:
    """Pages reached from home, breadth first, each parsed."""
    seen, queue, pages = {shape("/")}, deque(["/"]), {}
    while queue and len(pages) < MAX_PAGES:
        path = queue.popleft()
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        html = response.get_data(as_text=True)
        assert '<html lang="it">' in html, path
        page = PageText()
        page.feed(html)
        pages[path] = page
        for href in page.links:
            url = urlsplit(href)
            if url.netloc not in ("", "localhost") or not url.path.startswith("/") or shape(url.path) in seen:
                continue
            if url.path.startswith(SKIP) or url.path.endswith(DOWNLOADS):
                continue
            seen.add(shape(url.path))
            queue.append(url.path + (f"?{url.query}" if url.query else ""))
    return pages


@pytest.fixture
def demo_org(runner, db):
    result = runner.invoke(args=["demo", "seed", "--employees", "60", "--weeks", "3", "--seed", "11"])
    assert result.exit_code == 0, result.output


@pytest.fixture(params=["hr@polso.example", "manager@polso.example", "employee@polso.example"])
def italian_pages(request, client, auth, demo_org) -> dict[str, PageText]:
    auth.login(request.param, DEMO_PASSWORD)
    client.post("/language/it", data={"next": "/"})
    refresh()  # the test's app context outlives each request: drop the language an earlier one cached
    pages = read_in_italian(client)
    assert len(pages) >= 5  # the crawl reached the role's pages
    return pages


def test_the_catalog_gives_the_sweep_english_to_look_for():
    phrases = english_phrases()
    assert "Download CSV" in phrases and "Change from the previous round" in phrases
    assert "eNPS" not in phrases and "OK" not in phrases


def test_no_italian_page_or_chart_shows_english_from_the_catalog(italian_pages):
    found = {}
    for path, page in italian_pages.items():
        if path in ENGLISH_DOCUMENTS:
            continue
        texts = [" ".join(" ".join(page.words).split())]
        texts += [" ".join(s.replace("<br>", " ").split()) for f in page.figures for s in figure_strings(f)]
        hits = sorted({phrase for phrase in english_phrases() for text in texts if phrase in text})
        if hits:
            found[path] = hits
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


def test_no_page_or_chart_shows_a_raw_placeholder(italian_pages):
    raw = {path: [w for w in page.words + [s for f in page.figures for s in figure_strings(f)]
                  if "{company}" in w or "%(" in w]
           for path, page in italian_pages.items()}
    assert {path: words for path, words in raw.items() if words} == {}


def test_italian_numbers_use_the_minus_sign_never_a_hyphen(italian_pages):
    hyphenated = {path: [w for w in page.words if re.search(r"(?<![\w-])-\d", w)]
                  for path, page in italian_pages.items()}
    assert {path: words for path, words in hyphenated.items() if words} == {}
