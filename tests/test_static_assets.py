"""Static files reach a phone small and once: compressed, by content-hash URLs cached for a year."""

import gzip
import hashlib
import re
from pathlib import Path

import brotli
import plotly.offline
import pytest

from dashboards import plotly_assets
from tests.conftest import chart_drawn

STATIC = Path(__file__).resolve().parents[1] / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
ASSET_URL = re.compile(r'(?:src|href)="(/static/[^"?]+)(?:\?v=([^"]*))?"')


def fingerprint_of(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def static_urls(html: str) -> dict[str, str | None]:
    return dict(ASSET_URL.findall(html))


@pytest.fixture
def results_html(client, auth, closed):
    auth.login("hr@example.com")
    response = client.get("/results")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_static_file_is_sent_gzip_compressed_when_the_browser_accepts_gzip(client):
    response = client.get("/static/vendor/bootstrap/bootstrap.min.css", headers={"Accept-Encoding": "gzip, deflate"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.vary
    original = (STATIC / "vendor/bootstrap/bootstrap.min.css").read_bytes()
    assert gzip.decompress(response.data) == original
    assert len(response.data) < len(original) / 4


def test_static_file_is_sent_brotli_compressed_when_the_browser_accepts_br(client):
    response = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.data) == (STATIC / "vendor/plotly.min.js").read_bytes()


def test_static_file_is_sent_as_is_to_a_client_that_accepts_no_compression(client):
    response = client.get("/static/js/charts.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers
    assert response.data == (STATIC / "js/charts.js").read_bytes()


def test_each_encoding_has_its_own_etag_and_revalidates_to_304(client):
    gzipped = client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip"})
    plain = client.get("/static/css/app.css", headers={"Accept-Encoding": "identity"})
    assert gzipped.headers["ETag"] != plain.headers["ETag"]
    again = client.get("/static/css/app.css",
                       headers={"Accept-Encoding": "gzip", "If-None-Match": gzipped.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_pages_link_every_static_file_by_its_content_hash(results_html):
    urls = static_urls(results_html)
    for path in ("/static/css/app.css", "/static/vendor/bootstrap/bootstrap.min.css", "/static/js/charts.js",
                 "/static/vendor/plotly.min.js", "/static/vendor/plotly.css"):
        assert urls.get(path) == fingerprint_of(path.removeprefix("/static/")), path
    assert all(version for version in urls.values()), urls


def test_a_fingerprinted_url_is_cached_for_a_year_even_for_a_signed_in_person(client, results_html):
    for path, version in static_urls(results_html).items():
        response = client.get(f"{path}?v={version}", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == IMMUTABLE, path


def test_an_unfingerprinted_or_outdated_url_still_works_but_is_revalidated(client):
    for url in ("/static/js/charts.js", "/static/js/charts.js?v=000000000000"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.data == (STATIC / "js/charts.js").read_bytes()
        assert response.headers["Cache-Control"] == "public, no-cache"
        assert response.headers["ETag"]


def test_a_missing_or_escaping_static_path_is_a_404(client):
    assert client.get("/static/js/nothing-here.js").status_code == 404
    assert client.get("/static/../app.py").status_code == 404


def test_the_page_loads_our_partial_plotly_bundle_of_the_python_packages_version(client, results_html):
    assert plotly_assets.PLOTLY_DIR == STATIC / "vendor", "run `make install` to vendor the bundle"
    bundle = (STATIC / "vendor/plotly.min.js").read_text(encoding="utf-8")
    version = plotly.offline.get_plotlyjs_version()
    assert f"plotly.js (polso: scatter, bar, heatmap - minified) v{version}" in bundle[:200]
    assert len(bundle) < 1_250_000, "only the trace types our figures use (assets/plotly.js)"
    sent = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert len(sent.data) < 450_000
    assert "/vendor/plotly.min.js?v=" in results_html


@pytest.mark.parametrize("trace", ["scatter", "bar", "heatmap"])
def test_the_bundle_carries_every_trace_type_our_charts_use(trace):
    bundle = (STATIC / "vendor/plotly.min.js").read_text(encoding="utf-8")
    assert f'moduleType:"trace",name:"{trace}"' in bundle


def test_the_vendored_stylesheet_holds_the_rules_the_bundle_would_inject(client):
    served = client.get("/static/vendor/plotly.css").get_data(as_text=True)
    assert served == plotly_assets.plotly_css()
    assert ".js-plotly-plot .plotly .modebar{" in served


@pytest.mark.browser
def test_compressed_fingerprinted_bundle_draws_every_chart_under_the_csp(page, closed):
    bundles = []
    page.on("response", lambda r: bundles.append(r) if "/static/vendor/plotly.min.js" in r.url else None)
    page.goto("/login")
    page.get_by_label("E-mail").fill("hr@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Results", exact=True).click()
    charts = page.locator("div.chart[data-figure]").evaluate_all("els => els.map(e => e.id)")
    assert len(charts) >= 4
    for chart in charts:
        chart_drawn(page, chart)
    assert [r.headers.get("content-encoding") for r in bundles] == ["br"]
    assert bundles[0].headers["cache-control"] == IMMUTABLE
    assert page.console_errors == [] and page.foreign_requests == []

    page.get_by_role("button", name="Italiano").click()
    page.locator("html[lang=it]").wait_for()
    chart_drawn(page, charts[0])
    page.locator(f"#{charts[0]}").hover()
    titles = page.locator(f"#{charts[0]} .modebar-btn").evaluate_all("els => els.map(e => e.dataset.title)")
    assert titles == ["Scarica il grafico come PNG", "Reimposta gli assi"]
    assert page.console_errors == [] and page.foreign_requests == []


@pytest.mark.browser
def test_charts_far_below_the_screen_are_drawn_when_they_near_it_and_all_before_printing(page, closed):
    page.set_viewport_size({"width": 390, "height": 700})
    page.goto("/login")
    page.get_by_label("E-mail").fill("hr@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", level=1).wait_for()
    page.goto("/results")
    charts = page.locator("div.chart[data-figure]")
    last = charts.last
    page.wait_for_function("() => window.polsoCharts !== undefined")
    # every box has its height before it is drawn, so the page does not jump and the last is screens away
    assert min(charts.evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")) >= 360
    assert last.evaluate("e => e.getBoundingClientRect().top") > 3 * 700
    page.wait_for_timeout(500)
    assert "js-plotly-plot" not in (last.get_attribute("class") or "")
    last.scroll_into_view_if_needed()
    last.locator(".main-svg").first.wait_for()

    page.reload()
    page.wait_for_function("() => window.polsoCharts !== undefined")
    page.emulate_media(media="print")
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    drawn = charts.evaluate_all("els => els.map(e => e.querySelector('.main-svg') !== null)")
    assert drawn and all(drawn)
    assert page.console_errors == [] and page.foreign_requests == []
