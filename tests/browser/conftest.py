"""Headless Debian Chromium driven by Playwright, with a WAV file as the microphone."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright never downloads a browser here
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
    "--use-fake-device-for-media-stream",
]
ALLOW_MICROPHONE = "--use-fake-ui-for-media-stream"  # answers the permission prompt with Allow; without it: Block

OpenPage = Callable[..., Page]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ in the repository root (git-ignored): screenshots of the page."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator:
    """Playwright's sync API for one test module.

    Module-scoped on purpose: the sync API runs an event loop in the main thread while it is
    open, and pytest-asyncio's tests in later modules cannot start theirs until it has stopped.
    """
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"the browser tests need Debian's chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def open_page(playwright_driver) -> Iterator[OpenPage]:
    """open_page(url, microphone=None, init_script=None, microphone_allowed=True) -> a page in a
    fresh Chromium.

    The microphone plays the given WAV once, then silence. With microphone_allowed=False the
    browser blocks it, as when a person answers the permission prompt with Block. Uncaught page
    errors fail the test.
    """
    browsers: list[Browser] = []
    errors: list[str] = []

    def open_(url: str, microphone: Path | None = None, init_script: str | None = None,
              microphone_allowed: bool = True) -> Page:
        args = CHROMIUM_ARGS + [ALLOW_MICROPHONE] if microphone_allowed else list(CHROMIUM_ARGS)
        if microphone is not None:
            args.append(f"--use-file-for-fake-audio-capture={microphone}%noloop")
        browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        browsers.append(browser)
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.on("pageerror", lambda error: errors.append(str(error)))
        if init_script:
            page.add_init_script(init_script)
        page.goto(url)
        return page

    yield open_
    for browser in browsers:
        for page in browser.contexts[0].pages if browser.contexts else []:
            print(f"page at the end: {page_state(page)}")  # shown when the test failed
        browser.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def page_state(page: Page) -> dict[str, str | None]:
    """What the page showed: connection, phase, status and error lines."""
    try:
        return page.evaluate("""() => ({
          connection: document.getElementById("connection-state")?.textContent,
          phase: document.body.dataset.phase,
          status: document.getElementById("session-status")?.textContent,
          error: document.getElementById("error")?.textContent,
        })""")
    except Exception as error:  # a page that crashed or closed says so instead
        return {"unreadable": str(error)}
