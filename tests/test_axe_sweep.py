"""Every page a person can reach by following links, for each role, passes axe-core in real Chromium
and fits a phone's width.

The demo organisation gives every page something to show (survey history, one-on-ones, rewards
in every state). The crawl follows same-origin links from the home page, one page per path (query
strings are filters; digits in a path are one more record on the same template), and skips
downloads and the API.
"""

import re
from collections import deque
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from demo import DEMO_PASSWORD
from tests.conftest import axe_violations

pytestmark = pytest.mark.browser

SKIP = ("/api/", "/static/", "/logout", "/calendar/", "/s/")
DOWNLOADS = (".csv", ".xlsx", ".ics", ".json")
MAX_PAGES = 30
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


@pytest.fixture
def demo_org(runner, db):
    result = runner.invoke(args=["demo", "seed", "--employees", "60", "--weeks", "3", "--seed", "11"])
    assert result.exit_code == 0, result.output


def shape(path: str) -> str:
    """The page's template, as far as a path tells: /people/12/edit and /people/3/edit are one."""
    return re.sub(r"\d+", "#", path)


def crawl(page, origin: str) -> Iterator[str]:
    """Paths reached from the home page, breadth first, at most MAX_PAGES."""
    seen, queue, visited = {shape("/")}, deque(["/"]), []
    while queue and len(visited) < MAX_PAGES:
        path = queue.popleft()
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        visited.append(path)
        yield path
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            url = urlsplit(href)
            if f"{url.scheme}://{url.netloc}" != origin or shape(url.path) in seen:
                continue
            if url.path.startswith(SKIP) or url.path.endswith(DOWNLOADS):
                continue
            seen.add(shape(url.path))
            queue.append(url.path + (f"?{url.query}" if url.query else ""))


@pytest.mark.parametrize("email", ["hr@polso.example", "manager@polso.example", "employee@polso.example"])
def test_every_linked_page_passes_axe_for_each_role(page, live_server, demo_org, email):
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)  # demo people read English or Italian

    problems, too_wide, pages = {}, {}, 0
    for path in crawl(page, live_server):
        pages += 1
        page.wait_for_load_state("load")
        if found := axe_violations(page):
            problems[path] = found
        # narrowed to a phone, the page (charts too: they redraw on resize) stops scrolling sideways
        page.set_viewport_size(PHONE)
        try:
            page.wait_for_function("w => document.documentElement.scrollWidth <= w", arg=PHONE["width"],
                                   timeout=5000)
        except PlaywrightTimeoutError:
            too_wide[path] = page.evaluate("document.documentElement.scrollWidth")
        page.set_viewport_size(DESKTOP)
    assert problems == {}
    assert too_wide == {}
    assert page.console_errors == [] and page.foreign_requests == []
    assert pages >= 5  # the crawl did reach the role's pages
