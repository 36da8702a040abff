"""The web view as a person uses it, in headless Chromium (Debian's), served by uvicorn.

Skipped, with the reason, where Playwright or /usr/bin/chromium is not installed. Every request
the browser makes is watched: anything for a host other than the server fails the test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.browser import CHROMIUM, NO_CHROMIUM, QUIET_FLAGS

if TYPE_CHECKING:
    from conftest import Site

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
)
if not CHROMIUM.exists():
    pytest.skip(NO_CHROMIUM, allow_module_level=True)

ARGS = list(QUIET_FLAGS)
OUT = Path(__file__).parent / "out"  # git-ignored: the screenshots to look at


class Browser:
    """A page in a fresh browser context that records every request for another host."""

    def __init__(self, page: object, base: str) -> None:
        self.page = page
        self.base = base
        self.outside: list[str] = []

    def watch(self) -> None:
        server = urlsplit(self.base).netloc

        def route(route: object, request: object) -> None:
            url = request.url  # type: ignore[attr-defined]
            if urlsplit(url).netloc != server and not url.startswith(("data:", "about:")):
                self.outside.append(url)
                route.abort()  # type: ignore[attr-defined]
            else:
                route.continue_()  # type: ignore[attr-defined]

        self.page.context.route("**/*", route)  # type: ignore[attr-defined]


@pytest.fixture
def browser(served: str) -> Iterator[Browser]:
    """Chromium on the served app; fails the test if a page asked another host."""
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        watched = Browser(context.new_page(), served)
        watched.watch()
        yield watched
        context.close()
        chromium.close()


def screenshot(page: object, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot in the test's directory, copied to tests/web/out/."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    OUT.mkdir(exist_ok=True)
    shutil.copy(path, OUT / name)
    return path


def test_an_investigator_follows_income_to_v12_and_finds_john_does_decision(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    page = browser.page
    page.goto(f"{browser.base}/ui/")
    assert "/ui/login" in page.url  # not signed in yet
    page.fill("#token", site.reader)
    page.click("form[action='/ui/login'] button[type=submit]")
    page.wait_for_url(f"{browser.base}/ui/")

    page.fill("#q", "income")
    page.press("#q", "Enter")
    page.wait_for_url("**/ui/search?q=income")
    page.click("a[href='/ui/node/feature:income']")
    page.wait_for_url("**/ui/node/feature:income")
    assert page.locator("h1").inner_text().endswith("feature:income")
    drawing = page.locator(".drawing svg")
    assert drawing.get_attribute("role") == "img"
    feature_shot = screenshot(page, tmp_path, "feature_income.png")

    # Follow the graph: the model version trained on a snapshot holding the feature.
    drawing.locator("a[href='/ui/node/model:lending_approval@v12']").click()
    page.wait_for_url("**/ui/node/model:lending_approval@v12")
    assert "abc123def456" in page.content()  # its code commit, among its properties
    node_shot = screenshot(page, tmp_path, "node_model_v12.png")

    page.click("p.actions a:text('Decisions')")
    page.wait_for_url("**/ui/decisions?model=model%3Alending_approval%40v12")
    page.fill("input[name=from]", "2024-01-25")
    page.fill("input[name=snapshot]", "credit_model_training_2024_01_20")
    page.click("form.question button[type=submit]")
    page.wait_for_selector("section.batch")
    assert page.locator("section.batch").count() >= 1  # the Jan 25 batches of v12

    page.fill("input[name=subject]", "john_doe_12345")
    page.click("form.question button[type=submit]")
    row = page.locator("table.records tbody tr")
    row.first.wait_for()
    assert row.count() == 1
    assert "john_doe_12345" in row.inner_text() and "APPROVED" in row.inner_text()
    screenshot(page, tmp_path, "decisions_john_doe.png")

    assert feature_shot.stat().st_size > 10_000 and node_shot.stat().st_size > 10_000
    assert browser.outside == []


def test_graphiql_without_its_cdn_says_so_and_links_to_the_offline_pages(
    browser: Browser, tmp_path: Path
) -> None:
    page = browser.page
    page.goto(f"{browser.base}/graphql")
    page.wait_for_function("document.getElementById('status').textContent.includes('cannot run')")
    assert "Could not load" in page.inner_text("#why")
    assert page.locator("a[href='/ui']").count() == 1
    assert page.locator("a[href='/ui/query']").count() == 1
    screenshot(page, tmp_path, "graphiql_offline.png")
    assert browser.outside and all("unpkg.com" in url for url in browser.outside)
