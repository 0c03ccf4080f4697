"""The translated speech's volume, mute and speaking indicator, with an echo worker: what comes back is what was
said, so what reaches the speakers can be compared with it."""

from __future__ import annotations

import numpy as np
import pytest
from page_helpers import recording, spanish_wav, wait_until_ready_to_start
from playwright.sync_api import Page, expect

SET_VOLUME_JS = """(percent) => {
  const slider = document.getElementById("volume");
  slider.value = percent;
  slider.dispatchEvent(new Event("input", { bubbles: true }));
}"""


def start_speaking(page: Page) -> None:
    wait_until_ready_to_start(page)
    page.check("#headphones")  # the audio as captured: no voice processing reshapes it
    page.click("#start")


def test_the_volume_scales_the_translated_speech_and_the_indicator_shows_it_playing(open_page, echo_gateway, tmp_path):
    page = open_page(echo_gateway.base_url, spanish_wav(tmp_path, 48000, 1.0))
    page.evaluate("window.s2stDebug.record = true")
    page.evaluate(SET_VOLUME_JS, 50)
    start_speaking(page)
    expect(page.locator("#speaking")).to_have_attribute("data-active", "true", timeout=10_000)
    expect(page.locator("#speaking")).to_have_text("Speaking")
    # The tail of silence plays out, the indicator goes dark; then stop.
    expect(page.locator("#speaking")).to_have_attribute("data-active", "false", timeout=20_000)
    expect(page.locator("#speaking")).to_have_text("Silent")
    page.click("#stop")
    expect(page.locator("#session-status")).to_have_text("Stopped", timeout=10_000)
    page.wait_for_timeout(300)  # the tap's last report

    received, played = recording(page, "received"), recording(page, "played")
    # Contiguous echo chunks play sample for sample, so the loudest played sample is the loudest received one, scaled.
    assert np.abs(played).max() / np.abs(received).max() == pytest.approx(0.5, abs=0.02)


def test_mute_silences_the_translated_speech_while_it_still_arrives(open_page, echo_gateway, tmp_path):
    page = open_page(echo_gateway.base_url, spanish_wav(tmp_path, 48000, 0.5))
    start_speaking(page)
    page.wait_for_function("window.s2stDebug.audibleSamples > 1600", timeout=20_000)  # 0.1 s of speech played
    page.click("#mute")
    expect(page.locator("#mute")).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(300)  # reports of blocks played before the click arrive
    heard, chunks = page.evaluate("[window.s2stDebug.audibleSamples, window.s2stDebug.receivedChunks]")
    page.wait_for_timeout(1000)
    assert page.evaluate("window.s2stDebug.receivedChunks") > chunks + 25, "the speech kept arriving"
    assert page.evaluate("window.s2stDebug.audibleSamples") == heard, "muted speech reached the speakers"
    expect(page.locator("#speaking")).to_have_attribute("data-active", "true")  # it plays, unheard
    page.click("#mute")
    page.wait_for_function(f"window.s2stDebug.audibleSamples > {heard}", timeout=5_000)
    page.click("#stop")
