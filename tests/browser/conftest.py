"""The manager dashboard in a real headless Chromium against a live server.

The server is the ``app`` fixture (SQLite and PostgreSQL) with the small world and a month of
figures (``figures.py``), served over HTTP on 127.0.0.1 from a thread. The browser is Debian's
Chromium driven by Playwright: one browser per test session, a fresh context (cookies, storage)
per test. Without Playwright, or without Chromium and no way to install it, these tests skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask

from tests.browser import chromium
from tests.browser.figures import enter_figures
from tests.browser.server import LiveServer, serving
from tests.builders import load, world

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
STEP_TIMEOUT_MS = 10_000


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The small world and its December figures, served over real HTTP."""
    load(app, world())
    territories = enter_figures(app)
    with serving(app) as url:
        yield LiveServer(url, territories)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason=chromium.NO_PLAYWRIGHT,
    )
    found = chromium.find_or_install()
    if found.path is None:
        pytest.skip(f"no Chromium for the browser tests: {found.missing}")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=found.path, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page in a context of its own, addressed relative to the live server."""
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshot_path(request: pytest.FixtureRequest, backend: str) -> Path:
    """Where this test saves its screenshot: ``artifacts/<test name>-<backend>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{request.node.originalname}-{backend}.png"
