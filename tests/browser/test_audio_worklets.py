"""The audio worklets rendered offline (OfflineAudioContext in Chromium).

Capture: 16 kHz out of common device rates, speech band kept, what would alias removed.
Playback: exact, gap-free joins, crossfaded steps, fades around underruns, and a short chunk
that still plays."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import Page

RATE = 16000
JITTER = 1600  # 100 ms, as web/playback.js
FADE = 80  # 5 ms

# Renders `seconds` of the pcm-player fed with chunks [[time_s, samples], ...]: chunks at time 0
# are posted before rendering starts, later ones while rendering is suspended at their time.
RENDER_JS = """async ([rate, seconds, jitter, fade, chunks]) => {
  const context = new OfflineAudioContext(1, Math.round(rate * seconds), rate);
  await context.audioWorklet.addModule("audio-worklets.js");
  const player = new AudioWorkletNode(context, "pcm-player", {
    numberOfInputs: 0, outputChannelCount: [1],
    processorOptions: { sourceRate: rate, jitterSamples: jitter, fadeSamples: fade, capacitySamples: rate * 10 },
  });
  player.connect(context.destination);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));  // the worklet takes the message
  for (const [time, samples] of chunks) {
    const post = () => player.port.postMessage(new Float32Array(samples).buffer);
    if (time === 0) post();
    else context.suspend(time).then(async () => { post(); await settle(); context.resume(); });
  }
  await settle();
  return Array.from((await context.startRendering()).getChannelData(0));
}"""


# One second of a tone at `rate` through pcm-capture; returns the Int16 samples it posted.
CAPTURE_JS = """async ([rate, frequency]) => {
  const context = new OfflineAudioContext(1, rate, rate);
  await context.audioWorklet.addModule("audio-worklets.js");
  const capture = new AudioWorkletNode(context, "pcm-capture", { processorOptions: { frameSamples: 320 } });
  const samples = [];
  capture.port.onmessage = ({ data }) => samples.push(...new Int16Array(data.pcm));
  const tone = new OscillatorNode(context, { frequency });
  tone.connect(new GainNode(context, { gain: 0.5 })).connect(capture).connect(context.destination);
  tone.start();
  await context.startRendering();
  await new Promise((resolve) => setTimeout(resolve, 200));  // the last frames' messages
  return samples;
}"""


@pytest.fixture(scope="module")
def page(playwright_driver, echo_gateway) -> Page:
    from conftest import CHROMIUM, CHROMIUM_ARGS

    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    page = browser.new_page()
    page.goto(echo_gateway.base_url)
    yield page
    browser.close()


def render(page: Page, seconds: float, chunks: list[tuple[float, np.ndarray]]) -> np.ndarray:
    payload = [[time, samples.astype(np.float32).tolist()] for time, samples in chunks]
    return np.array(page.evaluate(RENDER_JS, [RATE, seconds, JITTER, FADE, payload]), dtype=np.float32)


def tone(seconds: float, frequency: float = 220.0, amplitude: float = 0.5, phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * frequency * t + phase)).astype(np.float32)


def largest_step(samples: np.ndarray) -> float:
    return float(np.max(np.abs(np.diff(samples))))


def test_contiguous_chunks_play_back_to_back_exactly_and_in_order(page):
    speech = tone(0.6) * np.linspace(0.2, 1.0, round(0.6 * RATE), dtype=np.float32)  # no two chunks alike
    chunks = np.split(speech, 30)  # 20 ms each
    out = render(page, 0.8, [(0, chunk) for chunk in chunks])
    # Everything is queued at once, so playback starts at once; only the first and last 5 ms fade.
    np.testing.assert_array_equal(out[FADE : len(speech) - FADE], speech[FADE:-FADE])
    assert np.all(out[len(speech) :] == 0)


def test_a_step_at_a_chunk_join_is_crossfaded_away(page):
    first = tone(0.2)
    second = tone(0.2, phase=np.pi)  # starts where a continuation would be furthest away
    natural = largest_step(first)
    out = render(page, 0.5, [(0, first), (0, second)])
    join = len(first)
    assert largest_step(out[join - 100 : join + 100]) < 1.5 * natural  # a bare join jumps 2x the amplitude
    np.testing.assert_array_equal(out[join + FADE : join + len(second) - FADE], second[FADE:-FADE])


def test_playback_fades_out_at_an_underrun_and_fades_in_when_audio_returns(page):
    first = np.full(RATE // 10, 0.5, dtype=np.float32)  # a DC step would click without fades
    second = np.full(RATE // 20, 0.5, dtype=np.float32)  # 50 ms: shorter than the jitter buffer
    out = render(page, 0.9, [(0, first), (0.4, second)])
    assert largest_step(out) <= 0.5 / FADE * 1.01
    playing = np.flatnonzero(out > 0)
    restart = playing[np.flatnonzero(np.diff(playing) > 1)[0] + 1]
    assert playing[0] == 0 and np.count_nonzero(out[:restart]) == len(first)
    # The short chunk arrived at 0.4 s and waited the jitter time (100 ms), then played whole.
    assert 0.4 * RATE + JITTER - 1 <= restart <= 0.4 * RATE + JITTER + 128
    assert np.count_nonzero(out[restart:]) == len(second)


@pytest.mark.parametrize("device_rate", [48000, 44100])
def test_capture_resamples_to_16_khz_keeping_speech_and_removing_what_would_alias(page, device_rate):
    speech = np.array(page.evaluate(CAPTURE_JS, [device_rate, 1000]), dtype=np.float64) / 32768
    assert abs(len(speech) - RATE) <= 320  # one second, in whole 20 ms frames
    spectrum = np.abs(np.fft.rfft(speech[1000:9192] * np.hanning(8192)))
    assert abs(np.argmax(spectrum) * RATE / 8192 - 1000) < 2 * RATE / 8192
    assert np.sqrt(np.mean(speech[1000:] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)
    # 11 kHz is above 16 kHz's Nyquist: unfiltered it would fold down to 5 kHz, right in speech.
    alias = np.array(page.evaluate(CAPTURE_JS, [device_rate, 11000]), dtype=np.float64) / 32768
    assert np.sqrt(np.mean(alias[1000:] ** 2)) < 0.01 * 0.5 / np.sqrt(2)  # below -40 dB
