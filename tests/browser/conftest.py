"""Headless Debian Chromium driven by Playwright, with a WAV file as the microphone."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BASE_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def open_page(tmp_path: Path) -> Iterator[Callable[[str, Path | None], Page]]:
    """open_page(url, microphone_wav) -> a page in a fresh Chromium whose microphone plays the WAV once."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail("Debian chromium is required for the browser tests: apt-get install chromium")
    browsers: list[Browser] = []
    with sync_playwright() as playwright:

        def open_(url: str, microphone: Path | None = None) -> Page:
            args = list(BASE_ARGS)
            if microphone is not None:
                args.append(f"--use-file-for-fake-audio-capture={microphone}%noloop")
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            browsers.append(browser)
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.goto(url)
            return page

        yield open_
        for browser in browsers:
            browser.close()
