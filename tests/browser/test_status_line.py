"""What the page says about a session, in a person's words and in step with what happens: the status line
(no engine names, "Translating…" only while a translation is on its way), the speaking indicator (steady
through the pauses between words), the latency readout after a reload, and the hint under the page."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from page_helpers import spanish_wav, wait_until_ready_to_start
from playwright.sync_api import expect
from harness.speech import SENTENCES, speak

LISTENING = "Listening. Speak now."

# Every text the status line shows, with the test hook's playback counters at that moment.
RECORD_STATUS = """
window.statusLog = [];
addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("session-status");
  new MutationObserver(() => window.statusLog.push({
    text: status.textContent, audible: window.s2stDebug.audibleSamples, received: window.s2stDebug.receivedChunks,
  })).observe(status, { childList: true, characterData: true, subtree: true });
});
"""

# Every change of the speaking indicator.
RECORD_SPEAKING = """
window.speakingLog = [];
addEventListener("DOMContentLoaded", () => {
  const speaking = document.getElementById("speaking");
  new MutationObserver(() => window.speakingLog.push(speaking.dataset.active))
    .observe(speaking, { attributes: true, attributeFilter: ["data-active"] });
});
"""


@pytest.mark.timeout(180)
def test_translating_gives_way_to_listening_once_the_translation_is_shown_and_played(open_page, lite_gateway, tmp_path):
    voice, text = SENTENCES["spa"]
    recording = speak(text, voice, tmp_path / "es.wav", rate=48000, lead_silence_s=0.3, tail_silence_s=20)
    page = open_page(f"{lite_gateway.base_url}/?from=spa&to=eng&headphones=1", recording, init_script=RECORD_STATUS)
    wait_until_ready_to_start(page)
    page.click("#start")
    expect(page.locator("#session-status")).to_have_text(LISTENING, timeout=30_000)  # no engine name
    page.wait_for_function("window.statusLog.some((entry) => entry.text === 'Translating…')", timeout=60_000)
    # Then back to listening, with the microphone still hearing the recording's silence: no new speech needed.
    page.wait_for_function(f"""() => {{
      const log = window.statusLog;
      const translating = log.findIndex((entry) => entry.text === 'Translating…');
      return log.slice(translating).some((entry) => entry.text === '{LISTENING}');
    }}""", timeout=60_000)
    log = page.evaluate("window.statusLog")
    back = next(entry for entry in log[log.index(next(e for e in log if e["text"] == "Translating…")):]
                if entry["text"] == LISTENING)
    expect(page.locator("#target-transcript li:not(.partial)")).not_to_have_count(0)  # shown
    page.wait_for_timeout(300)  # the output tap's next report
    played = page.evaluate("window.s2stDebug")
    assert back["audible"] > 0 and back["received"] == played["receivedChunks"], (back, played)  # all of it arrived
    # and had played: the output tap reports every 100 ms, so the count then trails by at most that much
    assert back["audible"] > 0.75 * played["audibleSamples"], (back, played)
    assert not any("(lite)" in entry["text"] for entry in log), log
    page.click("#stop")


def pulses(path: Path, count: int, gap_s: float) -> Path:
    """A WAV of `count` 300 ms tones (words, to the echo engine) with gap_s of silence after each."""
    subprocess.run(["sox", "-R", "-n", "-r", "48000", "-c", "1", "-b", "16", str(path), "synth", "0.3", "sine", "440",
                    "vol", "0.4", "pad", "0", str(gap_s), "repeat", str(count - 1)], check=True, capture_output=True)
    return path


def test_the_speaking_indicator_holds_through_the_pauses_between_words(open_page, echo_gateway, tmp_path):
    words, gap_s = 6, 0.15
    page = open_page(echo_gateway.base_url, pulses(tmp_path / "words.wav", words, gap_s), init_script=RECORD_SPEAKING)
    wait_until_ready_to_start(page)
    page.check("#headphones")  # the echo plays as it comes: no talker priority holds it back
    page.click("#start")
    expect(page.locator("#speaking")).to_have_attribute("data-active", "true", timeout=10_000)
    # Every word sent (the echo comes straight back), then the indicator goes dark after the last one.
    page.wait_for_function(f"window.s2stDebug.sentSamples >= 16000 * {words * (0.3 + gap_s)}", timeout=20_000)
    expect(page.locator("#speaking")).to_have_attribute("data-active", "false", timeout=20_000)
    log = page.evaluate("window.speakingLog")
    changes = [value for index, value in enumerate(log) if index == 0 or log[index - 1] != value]
    assert changes in (["true", "false"], ["false", "true", "false"]), log  # one stretch of speech, no flicker
    page.click("#stop")


def test_after_a_reload_the_latency_readout_agrees_with_the_timeline(open_page, echo_gateway, tmp_path):
    page = open_page(echo_gateway.base_url, spanish_wav(tmp_path, 48000, 0.5))
    wait_until_ready_to_start(page)
    page.click("#start")
    page.wait_for_function("window.s2stDebug.receivedChunks > 5", timeout=15_000)
    page.click("#stop")
    expect(page.locator("#session-status")).to_have_text("Stopped", timeout=10_000)
    expect(page.locator("#ending-offset")).not_to_have_text("–")
    shown = page.locator("#first-output").inner_text(), page.locator("#ending-offset").inner_text()
    page.reload()
    wait_until_ready_to_start(page)
    expect(page.locator("#timeline path.ending-offset")).to_have_count(1)
    assert (page.locator("#first-output").inner_text(), page.locator("#ending-offset").inner_text()) == shown


def test_the_hint_under_the_page_speaks_to_people_not_engineers(open_page, echo_gateway):
    page = open_page(echo_gateway.base_url)
    hint = page.locator("p.hint").inner_text()
    assert "echo cancellation" not in hint.lower() and "captured" not in hint, hint
    assert "I use headphones" in hint and "unsure" in hint, hint  # what to do, and what the dotted lines mean
