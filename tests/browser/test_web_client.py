"""The web client in a real headless Chromium: microphone in, audio out, transcripts, errors.

Audio is checked against the WAV the fake microphone plays, through the page's test hook
`window.s2stDebug` (docs/web-client.md): what was sent to the gateway, what came back, and
what the output tap saw reach the speakers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from audio_match import aligned_correlation, global_correlation
from page_helpers import recording, spanish_wav, wait_until_ready_to_start
from playwright.sync_api import expect
from harness.servers import running, start_gateway, start_worker
from harness.speech import read_pcm

MIN_CORRELATION = 0.95


def wav_samples(path: Path) -> np.ndarray:
    return np.frombuffer(read_pcm(path)[0], dtype="<i2").astype(np.float64)


def test_the_page_renders_with_languages_and_controls(open_page, echo_gateway, artifacts):
    page = open_page(echo_gateway.base_url)
    wait_until_ready_to_start(page)
    assert page.locator("#target-language").input_value() == "eng"
    assert page.locator("#source-language option").count() > 1
    expect(page.locator("#stop")).to_be_disabled()
    expect(page.locator("#session-status")).to_have_text("Idle")
    page.screenshot(path=str(artifacts / "web-client.png"), full_page=True)

    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(artifacts / "web-client-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the page scrolls sideways on a phone"
    for control in ("#source-language", "#target-language", "#start", "#stop", "#reset", "#level", "#volume", "#mute",
                    "#clear-transcript", "#timeline"):
        box = page.locator(control).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, control


def test_every_control_is_reachable_and_usable_from_the_keyboard(open_page, echo_gateway, tmp_path):
    page = open_page(echo_gateway.base_url, spanish_wav(tmp_path, 48000, 0.5))
    wait_until_ready_to_start(page)
    order = []
    for _ in range(9):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
    # Reading order; Stop, and the transcript's buttons while there is nothing to keep, are disabled.
    assert order == ["source-language", "target-language", "start", "reset", "headphones", "volume", "mute",
                     "source-transcript", "target-transcript"], order

    page.focus("#start")
    page.keyboard.press("Enter")
    expect(page.locator("body")).to_have_attribute("data-phase", "live", timeout=10_000)
    assert page.evaluate("document.activeElement.id") == "stop", "focus should move to the enabled Stop button"
    page.keyboard.press(" ")
    expect(page.locator("#session-status")).to_have_text("Stopped", timeout=10_000)
    expect(page.locator("#start")).to_be_enabled()


def test_microphone_audio_reaches_the_worker_intact_and_its_echo_is_played(open_page, echo_gateway, tmp_path):
    page = open_page(echo_gateway.base_url, spanish_wav(tmp_path, 48000, 0.5))
    wait_until_ready_to_start(page)
    page.evaluate("window.s2stDebug.record = true")
    # Headphones: the audio as captured. With loudspeakers the browser's echo canceller, noise
    # suppression and gain control reshape it on purpose (correlation about 0.8).
    page.check("#headphones")
    page.click("#start")
    expect(page.locator("body")).to_have_attribute("data-phase", "live", timeout=10_000)
    reference = wav_samples(spanish_wav(tmp_path, 16000, 0.5))
    page.wait_for_function(f"window.s2stDebug.sentSamples >= {len(reference)}", timeout=20_000)
    page.click("#stop")
    expect(page.locator("#session-status")).to_have_text("Stopped", timeout=10_000)
    page.wait_for_function("window.s2stDebug.playedSamples > 0 && window.s2stDebug.played.length > 0")
    page.wait_for_timeout(500)  # the last queued audio plays out

    sent, received, played = (recording(page, name) for name in ("sent", "received", "played"))
    debug = page.evaluate("({...window.s2stDebug, sent: 0, received: 0, played: 0})")
    # The echo worker returns exactly what reached it, so `received` is what the worker got.
    assert np.array_equal(sent, received)
    assert debug["sequenceErrors"] == 0
    assert len(received) >= 0.95 * len(reference)
    worker_correlation = aligned_correlation(reference, received)
    played_correlation = aligned_correlation(reference, played)
    print(f"worker got the WAV at correlation {worker_correlation:.4f} "
          f"(single alignment {global_correlation(reference, received):.4f}); "
          f"played: {played_correlation:.4f} (single alignment {global_correlation(reference, played):.4f})")
    assert worker_correlation > MIN_CORRELATION
    assert played_correlation > MIN_CORRELATION, "the echo was not played gap-free and in order"
    assert debug["audibleSamples"] > 0.5 * np.count_nonzero(np.abs(reference) > 32)


def test_without_echo_cancellation_the_translation_waits_for_the_speaker_then_plays_with_the_microphone_muted(
        open_page, echo_gateway, tmp_path):
    # A browser that has no echo canceller reports echoCancellation: false. The echo engine answers at once,
    # while the speaker is still talking: played then, it would mute the rest of their sentence.
    no_echo_canceller = """
      const getSettings = MediaStreamTrack.prototype.getSettings;
      MediaStreamTrack.prototype.getSettings = function () { return { ...getSettings.call(this), echoCancellation: false }; };
    """
    page = open_page(echo_gateway.base_url, spanish_wav(tmp_path, 48000, 0.5), init_script=no_echo_canceller)
    wait_until_ready_to_start(page)
    page.evaluate("window.s2stDebug.record = true")
    page.click("#start")
    reference = wav_samples(spanish_wav(tmp_path, 16000, 0.5))
    # The speaker stops, the held echo plays, and while it plays the microphone sends silence.
    page.wait_for_function(f"window.s2stDebug.sentSamples >= {len(reference)} && window.s2stDebug.audibleSamples > 1600"
                           " && window.s2stDebug.gatedFrames > 10", timeout=20_000)
    page.click("#stop")
    expect(page.locator("#session-status")).to_have_text("Stopped", timeout=10_000)

    debug = page.evaluate("({...window.s2stDebug, sent: 0, received: 0, played: 0})")
    assert debug["heldChunks"] > 0
    # None of the speech was muted: each of its 100 ms windows reached the worker (the browser's voice
    # processing reshapes it, about 0.8; a muted window counts 0).
    correlation = aligned_correlation(reference, recording(page, "sent"))
    print(f"what was said reached the worker at correlation {correlation:.3f}")
    assert correlation > 0.6


def test_a_stopped_worker_is_reported_in_plain_words(open_page, server_logs):
    with running(start_worker("echo", log_dir=server_logs)) as worker, \
            running(start_gateway(worker.address, log_dir=server_logs)) as gateway:
        page = open_page(gateway.base_url)
        wait_until_ready_to_start(page)
        worker.stop()
        page.click("#start")
        expect(page.locator("#error")).to_contain_text("not reachable", timeout=15_000)
        expect(page.locator("#start")).to_be_enabled()
        expect(page.locator("#session-status")).to_have_text("Not started.")  # it never ran


@pytest.mark.timeout(120)
def test_spanish_speech_shows_english_words_and_plays_them(open_page, lite_gateway, tmp_path, artifacts):
    page = open_page(lite_gateway.base_url, spanish_wav(tmp_path, 48000, 1.5))
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket))
    wait_until_ready_to_start(page)
    page.select_option("#source-language", "spa")
    page.click("#start")
    final = page.locator("#target-transcript li:not(.partial)")
    expect(final.first).to_be_visible(timeout=60_000)
    translation = page.locator("#target-transcript").inner_text().lower()
    assert any(word in translation for word in ("good morning", "thank", "help")), translation
    assert page.locator("#source-transcript li").count() >= 1
    page.wait_for_function("window.s2stDebug.audibleSamples > 8000", timeout=30_000)  # 0.5 s of speech
    assert page.evaluate("window.s2stDebug.echoCancellation") in (True, "all")
    expect(page.locator("#first-output")).to_have_text(re.compile(r"\d+\.\d\d s"), timeout=30_000)
    page.screenshot(path=str(artifacts / "web-client-translating.png"), full_page=True)

    page.click("#reset")  # clears state and transcripts, keeps the connection
    expect(page.locator("#target-transcript li")).to_have_count(0)
    expect(page.locator("#source-transcript li")).to_have_count(0)
    expect(page.locator("#first-output")).to_have_text("–")
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected")
    assert len(sockets) == 1
    page.click("#stop")
    expect(page.locator("#session-status")).to_have_text("Stopped", timeout=30_000)


def test_audio_leaves_in_frames_of_the_engines_step(open_page, lite_gateway, tmp_path):
    page = open_page(lite_gateway.base_url, spanish_wav(tmp_path, 48000, 0.5))
    sent: list[bytes] = []
    received: list[str] = []

    def watch(socket) -> None:
        socket.on("framesent", lambda payload: sent.append(payload) if isinstance(payload, bytes) else None)
        socket.on("framereceived", lambda payload: received.append(payload) if isinstance(payload, str) else None)

    page.on("websocket", watch)
    wait_until_ready_to_start(page)
    page.click("#start")
    expect(page.locator("body")).to_have_attribute("data-phase", "live", timeout=10_000)
    page.wait_for_function("window.s2stDebug.sentSamples > 16000 * 2", timeout=20_000)
    page.click("#stop")
    expect(page.locator("#session-status")).to_have_text("Stopped", timeout=60_000)

    ready = next(json.loads(text) for text in received if json.loads(text)["type"] == "ready")
    step_bytes = ready["input_step_ms"] * 16 * 2
    assert step_bytes == 1024  # the lite engine's voice-detector window: 32 ms, not a whole number of 20 ms frames
    # Whole steps (one, or several while a backlog leaves at once); only the frame `stop` sends may be shorter.
    assert all(len(frame) % step_bytes == 0 for frame in sent[:-1]), sorted({len(frame) for frame in sent})
    assert len(sent[-1]) < step_bytes or len(sent[-1]) % step_bytes == 0
    assert sum(map(len, sent)) == 2 * page.evaluate("window.s2stDebug.sentSamples")


@pytest.mark.timeout(120)
def test_a_dropped_socket_reconnects_and_keeps_the_transcripts(open_page, lite_worker, server_logs, tmp_path):
    gateway = start_gateway(lite_worker.address, log_dir=server_logs)
    with running(gateway):
        page = open_page(gateway.base_url, spanish_wav(tmp_path, 48000, 1.0))
        wait_until_ready_to_start(page)
        page.select_option("#source-language", "spa")
        page.click("#start")
        finals = page.locator("#target-transcript li:not(.partial)")
        expect(finals.first).to_be_visible(timeout=60_000)
        gateway.stop()  # drains: a sentence still being translated may reach the page before the socket closes
        expect(page.locator("#connection-state")).to_contain_text("Reconnecting", timeout=10_000)
        before = finals.all_inner_texts()  # all the first connection delivered
    with running(start_gateway(lite_worker.address, log_dir=server_logs, port=gateway.port)):
        expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected", timeout=20_000)
        expect(page.locator("body")).to_have_attribute("data-phase", "live", timeout=10_000)  # resumed
        # Kept as they were; the resumed session may add lines after them.
        assert finals.all_inner_texts()[:len(before)] == before
        page.click("#stop")
        expect(page.locator("#session-status")).to_have_text("Stopped", timeout=30_000)
