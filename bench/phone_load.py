"""How long HR Results and the shared results take to draw their charts on a mid-range phone.

    .venv/bin/python bench/phone_load.py                      # this checkout
    .venv/bin/python bench/phone_load.py --root /tmp/before   # another checkout (git worktree), same venv

Seeds a demo organisation (``flask demo seed``, default 300 people x 12 weeks) into a scratch SQLite
database, shares the latest round with employees, serves the checkout with gunicorn on loopback and
drives Debian's Chromium through Playwright with the phone's limits set over the DevTools protocol:
4x CPU slowdown, 9 Mbit/s down, 1.5 Mbit/s up, 60 ms latency. Signed in as hr@polso.example, each
page is loaded on an empty cache, then again on the warm cache. The figures: the time from the start
of navigation until the page's first chart has drawn its SVG; the time until every chart on the page
has, scrolling to each in turn once the page has loaded (charts are drawn as they near the screen);
and the bytes that came over the wire (response bodies as sent, headers included). Prints the
median of ``--runs`` runs.

Targets (issue 13): charts drawn in <= 3 s on an empty cache, <= 1 s on a warm one, <= 1.5 MB sent.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
HR_EMAIL, PASSWORD = "hr@polso.example", "polso-demo"
PAGES = {"HR Results": "/results", "shared results": "/results/shared"}
NETWORK = {"offline": False, "latency": 60, "downloadThroughput": 9_000_000 / 8, "uploadThroughput": 1_500_000 / 8}
CPU_SLOWDOWN = 4
PHONE = {"viewport": {"width": 393, "height": 851}, "device_scale_factor": 2.75, "is_mobile": True,
         "has_touch": True}
# The page's first chart has become a Plotly plot with its SVG drawn (without scrolling: charts within a
# screen of the viewport are drawn at once, the rest as they near it); returns ms since navigation start.
FIRST_DRAWN = """() => {
  const chart = document.querySelector("div.chart[data-figure]");
  if (!chart || !chart.classList.contains("js-plotly-plot") || !chart.querySelector("svg.main-svg")) return false;
  return performance.now();
}"""
# Every chart on the page drawn, after scrolling each into view in turn (as a reader would, at once).
ALL_DRAWN = """async () => {
  for (const chart of document.querySelectorAll("div.chart[data-figure]")) {
    chart.scrollIntoView();
    while (!chart.querySelector("svg.main-svg")) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return performance.now();
}"""

SHARE_LATEST_ROUND = """
import sqlalchemy as sa
from datetime import UTC, datetime
from app import create_app
from dashboards.services import share_round
from extensions import db
from people.models import Person
from surveys.models import Round
app = create_app()
with app.app_context():
    hr = db.session.scalar(sa.select(Person).where(Person.email == {email!r}))
    latest = db.session.scalar(sa.select(Round).where(Round.status == "closed").order_by(Round.closes_at.desc()))
    share_round(latest, hr, datetime.now(UTC))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(root: Path, env: dict, employees: int, weeks: int) -> None:
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=root, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "demo", "seed", "--employees", str(employees), "--weeks", str(weeks)], cwd=root,
                   env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", SHARE_LATEST_ROUND.format(email=HR_EMAIL)], cwd=root, env=env,
                   check=True, capture_output=True)


def serve(root: Path, env: dict, port: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen([str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{port}", "app:create_app()"],
                              cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the app did not start")


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.locator("input[name=email]").fill(HR_EMAIL)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(lambda url: not url.endswith("/login"))


def load(page, cdp, url: str) -> tuple[float, float, int]:
    """Navigate to ``url`` throttled; return (seconds until the first chart is drawn, seconds
    until every chart is, scrolling down to each, bytes over the wire)."""
    sizes: dict[str, float] = {}
    on_finished = lambda event: sizes.__setitem__(event["requestId"], event["encodedDataLength"])  # noqa: E731
    cdp.on("Network.loadingFinished", on_finished)
    page.goto(url, wait_until="commit")
    first_ms = page.wait_for_function(FIRST_DRAWN, polling=25, timeout=120_000).json_value()
    page.wait_for_load_state("load")
    all_ms = page.evaluate(ALL_DRAWN)
    cdp.remove_listener("Network.loadingFinished", on_finished)
    return first_ms / 1000, all_ms / 1000, int(sum(sizes.values()))


def measure(browser, base: str, path: str) -> dict[str, tuple[float, float, int]]:
    context = browser.new_context(base_url=base, locale="en-GB", **PHONE)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    sign_in(page, base)
    cdp.send("Network.clearBrowserCache")
    cdp.send("Network.emulateNetworkConditions", NETWORK)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    try:
        empty = load(page, cdp, f"{base}{path}")
        warm = load(page, cdp, f"{base}{path}")
    finally:
        context.close()
    return {"empty cache": empty, "warm cache": warm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--employees", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=12)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "POLSO_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp}/phone.sqlite3",
               "SECRET_KEY": "bench-only"}
        prepare(args.root.resolve(), env, args.employees, args.weeks)
        port = free_port()
        server = serve(args.root.resolve(), env, port)
        results: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                    "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                for _ in range(args.runs):
                    for name, path in PAGES.items():
                        for cache, figure in measure(browser, f"http://127.0.0.1:{port}", path).items():
                            results.setdefault((name, cache), []).append(figure)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)

    print(f"{args.root.resolve()} at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, median of {args.runs} runs, "
          f"4x CPU, 9 Mbit/s down, 1.5 Mbit/s up, 60 ms latency:")
    print("| page | cache | first chart drawn | every chart drawn (scrolling) | transferred |")
    print("|---|---|---|---|---|")
    for (name, cache), figures in results.items():
        first = statistics.median(f[0] for f in figures)
        every = statistics.median(f[1] for f in figures)
        sent = statistics.median(f[2] for f in figures)
        print(f"| {name} | {cache} | {first:.2f} s | {every:.2f} s | {sent / 1_000_000:.2f} MB |")

if __name__ == "__main__":
    main()
