"""A speaker picks the wrong spoken language: the page offers the right one, and marks the lines the engine
doubted (lite engine, real Spanish speech as the microphone, French picked; no fakes)."""

from __future__ import annotations

import pytest
from page_helpers import RECORD_SERVER_EVENTS, server_events, wait_until_ready_to_start
from playwright.sync_api import Page, expect
from harness.speech import TWO_PHRASES, phrases

PHONE = {"width": 360, "height": 740}
LOW_CONFIDENCE = 0.4  # web/transcripts.js


def final_lines(page: Page, side: str) -> list[dict]:
    """Each final line's text, whether the page marks it as doubtful, and its title."""
    return page.evaluate("""(side) => [...document.querySelectorAll(`#${side}-transcript li:not(.partial)`)]
      .map((line) => ({text: line.textContent, unsure: line.classList.contains("unsure"), title: line.title}))""", side)


def check_marks(page: Page) -> int:
    """Every final line is marked exactly when its event's confidence is under the threshold; returns how many are."""
    marked = 0
    for side in ("source", "target"):
        finals = [e for e in server_events(page, "transcript") if e["final"] and e["side"] == side]
        confidence = {e["text"]: e["confidence"] for e in finals}
        for line in final_lines(page, side):
            unsure = confidence[line["text"]] < LOW_CONFIDENCE
            assert line["unsure"] == unsure, (line, confidence)
            assert (line["title"] == "The engine was unsure of this line") == unsure
            marked += unsure
    return marked


@pytest.mark.timeout(240)
def test_a_wrongly_chosen_language_is_offered_a_one_click_switch(open_page, lite_gateway, tmp_path, artifacts):
    # Spanish: a sentence and a short reply (Whisper base identifies the two together as Spanish, 0.95 or more
    # wherever the segments are cut; the sentence alone 0.79-0.98), a pause long enough to take the hint, then
    # the sentence that should come as Spanish.
    recording = phrases([(TWO_PHRASES[0], 1.2), ("Muchas gracias. Hasta luego.", 6.0), (TWO_PHRASES[1], 6.0)], "es",
                        tmp_path / "spanish.wav")
    page = open_page(f"{lite_gateway.base_url}/?from=fra&to=eng&headphones=1", recording,
                     init_script=RECORD_SERVER_EVENTS)
    wait_until_ready_to_start(page)
    expect(page.locator("#source-language")).to_have_value("fra")
    page.click("#start")

    banner = page.locator("#language-hint")
    expect(banner).to_be_visible(timeout=90_000)
    expect(page.locator("#language-hint-text")).to_have_text("This sounds like Spanish. Switch?")
    hint, = server_events(page, "language_hint")
    assert (hint["language"], hint["source_language"]) == ("spa", "fra")
    # The French decode of Spanish speech is the engine's doubt, marked quietly (the hint may come before its final).
    expect(page.locator("#source-transcript li:not(.partial)").first).to_be_visible(timeout=60_000)
    assert check_marks(page) >= 1
    page.screenshot(path=str(artifacts / "web-client-language-hint.png"))
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)  # the timeline redraws at the new width
    page.screenshot(path=str(artifacts / "web-client-language-hint-phone.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the banner overflows"
    page.set_viewport_size({"width": 1000, "height": 800})

    page.click("#switch-language")  # one click: a new session with Spanish as the spoken language
    expect(banner).to_be_hidden()
    expect(page.locator("#source-language")).to_have_value("spa")
    page.wait_for_function("window.serverEvents.filter((e) => e.type === 'ready').length === 2", timeout=30_000)
    assert server_events(page, "ready")[1]["source_language"] == "spa"
    # The next sentence comes as Spanish text (and its English translation).
    page.wait_for_function("""() => {
      const readies = window.serverEvents.filter((e) => e.type === 'ready');
      const after = window.serverEvents.slice(window.serverEvents.indexOf(readies[1]));
      return after.some((e) => e.type === 'transcript' && e.final && e.side === 'source' && /museo/i.test(e.text));
    }""", timeout=90_000)
    assert any("museo" in line["text"].lower() for line in final_lines(page, "source"))
    assert page.evaluate("localStorage.getItem('s2st.source-language')") == "spa"  # remembered like a pick
    check_marks(page)
    page.click("#stop")
    expect(page.locator("#session-status")).to_have_text("Stopped", timeout=60_000)
    assert len(server_events(page, "language_hint")) == 1  # nothing more to suggest once Spanish is chosen
