"""A real headless browser (Debian's ``chromium``, driven by Playwright for Python) on the
console of an embedded system with a small demo-like tenant. Playwright's own browser
download is never used; without ``/usr/bin/chromium`` the tests fail (``make test``
installs it).

Screenshots go to ``$ICB_TEST_ARTIFACTS/console`` (default ``.test-artifacts/console`` in the
repository)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.support.console_server import ConsoleServer, console_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    with console_server(tmp_path_factory.mktemp("console")) as served:
        yield served


# Module scope: while the sync driver lives, its event loop counts as running in this thread,
# so the asyncio tests that follow this module must not find it alive.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium", False)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport=DESKTOP)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def api(console: ConsoleServer) -> Iterator[httpx.Client]:
    """The public API with the admin key, to check what the console did."""
    headers = {"Authorization": f"Bearer {console.keys['admin']}"}
    with httpx.Client(base_url=console.url, headers=headers, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def screenshots() -> Path:
    root = Path(os.environ.get("ICB_TEST_ARTIFACTS", REPO / ".test-artifacts")) / "console"
    root.mkdir(parents=True, exist_ok=True)
    return root


def sign_in(page: Page, console: ConsoleServer, role: str, path: str = "/console/") -> None:
    page.goto(console.url + path)
    page.get_by_label("API key").fill(console.keys[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
