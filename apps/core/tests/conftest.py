"""Fixtures of the core tests: a real browser for the admin and the API docs pages."""

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Chromium's own calls home are refused on a closed network; don't make them.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Per module, not per session: each module that drives a browser gets a Chromium of its own, and
# Playwright's sync API allows one at a time per thread.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running in this thread, and Django then refuses
    # database calls from it; the tests' own calls are plain synchronous ones.
    executable = shutil.which("chromium")
    assert executable, "Chromium is missing: `make test` installs it (apt-get install chromium)"
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_FLAGS
            )
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
