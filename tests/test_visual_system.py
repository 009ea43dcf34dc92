"""One brand palette for pages, charts and e-mails, with WCAG contrast, and a current section that is
marked by more than its colour (docs/visual-system.md).

The palette is read from the custom properties of static/css/brand.css, so the numbers checked here are
the ones the browser uses.
"""

import re
from pathlib import Path

import pytest

from dashboards import figures
from rewards import charts
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
BRAND_CSS = ROOT / "static" / "css" / "brand.css"
HEX = re.compile(r"#[0-9a-fA-F]{6}\b")


def palette() -> dict[str, str]:
    """The ``--polso-*`` colour tokens of brand.css, by name, as lower-case hex or rgba()."""
    css = BRAND_CSS.read_text()
    return {name: value.strip().lower() for name, value in
            re.findall(r"--polso-([a-z0-9-]+):\s*(#[0-9a-fA-F]{6}|rgba\([^)]*\))\s*;", css)}


def luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two hex colours."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rgb(colour: str) -> str:
    """A hex colour as the browser reports it in computed styles."""
    return "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))


# --- Contrast -------------------------------------------------------------------------------------

TEXT_PAIRS = [  # (text, background): body text, secondary text, links, buttons, the current section
    ("ink", "white"), ("ink", "surface"), ("ink-muted", "white"), ("ink-muted", "surface"),
    ("ink-muted", "brand-tint"), ("brand", "white"), ("brand", "surface"), ("brand", "brand-tint"),
    ("brand-active", "white"), ("white", "brand"), ("white", "brand-hover"), ("white", "brand-active"),
    ("white", "ink"), ("white", "positive"), ("white", "negative"),
]
GRAPHIC_PAIRS = [  # (colour, background): focus ring, field borders, chart marks
    ("focus", "white"), ("focus", "surface"), ("focus", "brand-tint"), ("line-strong", "white"),
    ("brand", "white"), ("positive", "white"), ("negative", "white"), ("neutral", "white"),
    *[(f"series-{n}", "white") for n in range(3, 9)],
]


def test_the_palette_defines_every_token_it_is_checked_on():
    tokens = palette()
    used = {name for pair in TEXT_PAIRS + GRAPHIC_PAIRS for name in pair}
    assert used <= tokens.keys(), used - tokens.keys()


@pytest.mark.parametrize(("text", "background"), TEXT_PAIRS)
def test_text_colours_keep_aa_contrast(text, background):
    tokens = palette()
    assert contrast(tokens[text], tokens[background]) >= 4.5, (text, background)


@pytest.mark.parametrize(("colour", "background"), GRAPHIC_PAIRS)
def test_focus_ring_borders_and_chart_colours_keep_3_to_1(colour, background):
    tokens = palette()
    assert contrast(tokens[colour], tokens[background]) >= 3, (colour, background)


def test_bootstrap_primary_and_links_are_the_brand_not_bootstrap_blue():
    css = BRAND_CSS.read_text().lower()
    brand = palette()["brand"]
    for prop in ("--bs-primary", "--bs-link-color"):
        assert re.search(rf"{prop}:\s*{brand};", css), prop
    assert "#0d6efd" not in css
    assert re.search(rf"\.btn-primary \{{[^}}]*--bs-btn-bg: {brand};", css)


# --- Charts and e-mails use the palette ----------------------------------------------------------------

def test_results_charts_use_the_palette_with_blue_promoters_and_orange_detractors():
    tokens = palette()
    assert set(figures.COLORS.values()) <= set(tokens.values())
    assert figures.COLORS["promoter"] == figures.COLORS["favorable"] == tokens["positive"]
    assert figures.COLORS["detractor"] == figures.COLORS["unfavorable"] == tokens["negative"]
    assert figures.COLORS["passive"] == figures.COLORS["neutral"] == tokens["neutral"]
    assert figures.COLORS["line"] == tokens["brand"] and figures.COLORS["band"] == tokens["brand-band"]
    layout = figures._layout()
    assert {layout["plot_bgcolor"], layout["paper_bgcolor"]} == {tokens["white"]}


def test_reward_charts_use_the_palette():
    values = set(palette().values())
    constants = [*charts.PALETTE, charts.ENPS_COLOUR, charts.CUMULATIVE_COLOUR, charts.GRID_COLOUR,
                 charts.ZERO_LINE_COLOUR, charts.BG, charts.MUTED_TEXT_COLOUR]
    assert {c.lower() for c in constants} <= values, {c for c in constants if c.lower() not in values}
    assert len(set(charts.PALETTE)) == len(charts.PALETTE)
    assert palette()["brand"] == charts.ENPS_COLOUR and charts.ENPS_COLOUR not in charts.PALETTE


def test_department_table_ends_are_the_chart_colours():
    css = (ROOT / "static" / "css" / "results.css").read_text().lower()
    cells = dict(re.findall(r"td\.(fav-\d) \{ background-color: (#[0-9a-f]{6});", css))
    assert cells["fav-1"] == palette()["negative"] and cells["fav-5"] == palette()["positive"]


def test_every_colour_in_the_mail_templates_is_from_the_palette():
    values = set(palette().values())
    found = {c.lower() for path in (ROOT / "templates" / "mail").glob("*.html") for c in HEX.findall(path.read_text())}
    assert found and found <= values, found - values


def test_every_html_mail_has_the_shared_layout_and_brand_button(app, factory):
    from mail.services import render

    person = factory.person("ada@example.com", name="Ada")
    for path in sorted((ROOT / "templates" / "mail").glob("[!_]*.html")):
        source = path.read_text()
        assert '{% extends "mail/_layout.html" %}' in source or "include 'mail/_survey.html'" in source, path.name
    _subject, _text, html = render("survey_invitation", "en", person=person, survey=_Survey(), link="https://x/s/t",
                                   closes_text="Friday", company="Acme")
    assert '<html lang="en">' in html and "border-top: 4px solid #7a1f3d" in html
    assert re.search(r'background-color: #7a1f3d;"><a href="https://x/s/t" style="[^"]*color: #ffffff;', html)
    assert "<link" not in html


class _Survey:
    title = "Pulse"
    min_group_size = 5


# --- In Chromium: the current section, focus, and the colours the browser paints -----------------------------

def _sign_in(page, email):
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


INDICATOR = """link => {
  const mark = getComputedStyle(link, '::after');
  const own = getComputedStyle(link);
  const box = link.getBoundingClientRect();
  return {content: mark.content, width: parseFloat(mark.width) || 0, height: parseFloat(mark.height) || 0,
          background: mark.backgroundColor, display: mark.display, weight: parseInt(own.fontWeight, 10),
          color: own.color, decoration: own.textDecorationLine, visible: box.width > 0 && box.height > 0};
}"""


def _current_and_other(page):
    current = page.locator('#nav-main a.nav-link[aria-current="page"]')
    assert current.count() == 1
    other = page.locator('#nav-main .navbar-nav a.nav-link:not([aria-current])').first
    return current.evaluate(INDICATOR), other.evaluate(INDICATOR)


def _assert_marked_by_more_than_colour(current, other):
    assert current["visible"]
    # a bar of the brand colour, at least 3 px thick, that other items lack ...
    assert current["content"] not in ("none", "normal") and current["display"] != "none"
    assert min(current["width"], current["height"]) >= 3 and max(current["width"], current["height"]) >= 16
    assert current["background"] == rgb(palette()["brand"])
    assert other["content"] in ("none", "normal")
    # ... and heavier type
    assert current["weight"] >= other["weight"] + 200


@pytest.mark.browser
def test_the_current_section_has_a_bar_and_heavier_type_on_desktop(page, factory):
    factory.person("marta@example.com", name="Marta Galli", locale="en")
    page.set_viewport_size({"width": 1280, "height": 800})
    _sign_in(page, "marta@example.com")
    page.goto("/one-on-ones")
    current, other = _current_and_other(page)
    _assert_marked_by_more_than_colour(current, other)
    assert current["width"] > current["height"]  # under the item
    assert page.console_errors == [] and page.foreign_requests == []


@pytest.mark.browser
def test_the_current_section_has_a_bar_and_heavier_type_in_the_phone_menu(page, factory):
    factory.person("marta@example.com", name="Marta Galli", locale="en")
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page, "marta@example.com")
    page.goto("/rewards")
    page.get_by_role("button", name="Menu").click()
    page.locator('#nav-main a[aria-current="page"]').wait_for(state="visible")
    current, other = _current_and_other(page)
    _assert_marked_by_more_than_colour(current, other)
    assert current["height"] > current["width"]  # beside the item


@pytest.mark.browser
def test_keyboard_focus_shows_a_3px_ring_of_3_to_1_or_more(page, factory):
    factory.person("marta@example.com", name="Marta Galli", locale="en")
    page.set_viewport_size({"width": 1280, "height": 800})
    _sign_in(page, "marta@example.com")
    page.goto("/")
    focus = palette()["focus"]
    seen = []
    for _ in range(6):  # skip link, brand, then the navigation
        page.keyboard.press("Tab")
        ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
            return {tag: document.activeElement.tagName, style: s.outlineStyle, width: parseFloat(s.outlineWidth),
                    color: s.outlineColor}; }""")
        seen.append(ring)
        assert ring["style"] == "solid" and ring["width"] >= 3 and ring["color"] == rgb(focus), seen
    assert contrast(focus, palette()["white"]) >= 3


@pytest.mark.browser
def test_primary_buttons_and_links_are_painted_in_the_brand_colour(page, factory):
    factory.person("hr@example.com", name="Helena", role="hr_admin", locale="en")
    page.set_viewport_size({"width": 1280, "height": 800})
    _sign_in(page, "hr@example.com")
    page.goto("/surveys")
    brand = rgb(palette()["brand"])
    button = page.locator("main .btn-primary").first
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == brand
    page.goto("/")
    assert page.locator(".tile-links a").first.evaluate("a => getComputedStyle(a).color") == brand
