"""The web client in a real headless Chromium: microphone in, audio out, transcripts, errors."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from speech import SENTENCES, read_pcm, speak

CAPTURED_PCM_JS = """() => {
  const chunks = window.s2stDebug.received.map(b => new Uint8Array(b));
  let n = 0; chunks.forEach(c => n += c.length);
  const all = new Uint8Array(n); let o = 0; chunks.forEach(c => { all.set(c, o); o += c.length; });
  let s = ''; for (let i = 0; i < all.length; i += 8192) s += String.fromCharCode.apply(null, all.subarray(i, i + 8192));
  return btoa(s);
}"""


def global_lag(reference: np.ndarray, received: np.ndarray) -> int:
    """Lag (samples) at which received best matches reference, by FFT cross-correlation."""
    size = 1 << int(np.ceil(np.log2(len(reference) + len(received))))
    corr = np.fft.irfft(np.fft.rfft(received, size) * np.conj(np.fft.rfft(reference, size)), size)
    lag = int(np.argmax(corr))
    return lag if lag < size // 2 else lag - size


def aligned_correlation(reference: np.ndarray, received: np.ndarray, window: int = 1600,
                        slack: int = 160) -> float:
    """Energy-weighted mean correlation of 100 ms speech windows, each aligned within +-10 ms of the global lag.

    The fake microphone and the audio graph run on different clocks, so Chromium adapts its
    rate now and then; per-window alignment follows that drift.
    """
    lag0 = global_lag(reference, received)
    scores, weights = [], []
    for start in range(0, len(reference) - window, window):
        piece = reference[start : start + window] - reference[start : start + window].mean()
        if piece.std() < 300:  # silence: nothing to compare
            continue
        best = -1.0
        for lag in range(lag0 - slack, lag0 + slack):
            begin = start + lag
            if begin < 0 or begin + window > len(received):
                continue
            other = received[begin : begin + window] - received[begin : begin + window].mean()
            best = max(best, float(np.dot(piece, other) / (np.linalg.norm(piece) * np.linalg.norm(other) + 1e-9)))
        scores.append(best)
        weights.append(float(np.dot(piece, piece)))
    return float(np.average(scores, weights=weights))


def test_the_page_renders_with_languages_and_controls(open_page, echo_gateway, artifacts):
    page = open_page(echo_gateway.base_url)
    page.wait_for_selector("#connection-state[data-state=connected]")
    page.wait_for_function("document.querySelectorAll('#target-language option').length > 0")
    assert page.locator("#target-language").input_value() == "eng"
    assert page.locator("#start").is_enabled() and page.locator("#stop").is_disabled()
    page.screenshot(path=str(artifacts / "web-client.png"), full_page=True)
    page.set_viewport_size({"width": 380, "height": 800})
    page.screenshot(path=str(artifacts / "web-client-phone.png"), full_page=True)
    assert page.locator(".transcripts").bounding_box()["width"] <= 380


def test_microphone_audio_reaches_the_worker_and_comes_back_played(open_page, echo_gateway, tmp_path):
    voice, text = SENTENCES["spa"]
    wav = speak(text, voice, tmp_path / "mic.wav", rate=48000, lead_silence_s=0.2, tail_silence_s=0.5)
    page = open_page(echo_gateway.base_url, wav)
    page.wait_for_selector("#connection-state[data-state=connected]")
    page.keyboard.press("Tab")  # keyboard reachability: the pickers and buttons take focus in order
    page.uncheck("#voice-processing")  # compare the audio as captured, not as noise suppression reshapes it
    page.focus("#start")
    page.keyboard.press("Enter")
    page.wait_for_function("window.s2stDebug.receivedChunks > 100", timeout=20_000)
    page.wait_for_timeout(3000)
    page.click("#stop")
    page.wait_for_function("window.s2stDebug.playedAudibleSamples > 16000", timeout=10_000)
    received = np.frombuffer(base64.b64decode(page.evaluate(CAPTURED_PCM_JS)), dtype="<i2").astype(np.float64)
    pcm, _ = read_pcm(speak(text, voice, tmp_path / "ref.wav", rate=16000, lead_silence_s=0.2,
                            tail_silence_s=0.5))
    reference = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    assert len(received) > 0.8 * len(reference)
    assert aligned_correlation(reference, received) > 0.95


def test_stopping_the_worker_shows_plain_words_and_the_page_recovers(open_page, server_logs, tmp_path):
    from servers import running, start_gateway, start_worker

    with running(start_worker("echo", log_dir=server_logs)) as worker, \
            running(start_gateway(worker.address, log_dir=server_logs)) as gateway:
        page = open_page(gateway.base_url)
        page.wait_for_selector("#connection-state[data-state=connected]")
        worker.stop()
        page.click("#start")
        page.wait_for_selector("#error:not([hidden])", timeout=15_000)
        assert "not reachable" in page.locator("#error").inner_text()
        assert page.locator("#start").is_enabled()


def test_a_dropped_socket_reconnects_and_keeps_the_transcripts(open_page, server_logs):
    from servers import running, start_gateway, start_worker

    with running(start_worker("echo", log_dir=server_logs)) as worker:
        gateway = start_gateway(worker.address, log_dir=server_logs)
        with running(gateway):
            page = open_page(gateway.base_url)
            page.wait_for_selector("#connection-state[data-state=connected]")
            page.evaluate("document.getElementById('source-transcript').innerHTML = '<li>kept line</li>'")
            gateway.stop()
            page.wait_for_selector("#connection-state[data-state=reconnecting]", timeout=10_000)
            assert "reconnecting" in page.locator("#connection-state").inner_text().lower()
        assert page.locator("#source-transcript li").inner_text() == "kept line"


@pytest.mark.timeout(180)
def test_spanish_speech_shows_english_words_on_the_page(open_page, lite_gateway, tmp_path):
    voice, text = SENTENCES["spa"]
    wav = speak(text, voice, tmp_path / "es.wav", rate=48000, lead_silence_s=0.3, tail_silence_s=2.0)
    page = open_page(lite_gateway.base_url, wav)
    page.wait_for_selector("#connection-state[data-state=connected]")
    page.wait_for_function("document.querySelectorAll('#source-language option').length > 10")
    page.select_option("#source-language", "spa")
    page.click("#start")
    page.wait_for_selector("#target-transcript li:not(.partial)", timeout=60_000)
    translation = page.locator("#target-transcript").inner_text().lower()
    assert any(word in translation for word in ("good morning", "thank", "help")), translation
    page.wait_for_function("window.s2stDebug.playedAudibleSamples > 8000", timeout=20_000)
