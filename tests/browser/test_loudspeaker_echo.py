"""Loudspeakers: the page's own translated speech, heard again by the microphone, is never translated again.

A browser's echo canceller removes what the page plays from the microphone; a browser without one reports
`echoCancellation: false`, and then the page sends silence while its translation plays (docs/web-client.md).
This test builds the loudspeaker-to-microphone path itself: the page's output is mixed into the fake
microphone, which also carries the speaker's two phrases, in a browser that reports no echo canceller.
With the page's gating, only the two phrases are translated, each whole; with it off (the user says
"headphones"), the translation comes back as segments that start in the recording's pauses, which shows
the loop is real.
"""

from __future__ import annotations


from pathlib import Path

import numpy as np
import pytest
from page_helpers import RECORD_SERVER_EVENTS, server_events
from playwright.sync_api import expect
from harness.speech import read_pcm, two_phrases


# Everything the page sends to its speakers is also sent to `loudspeaker`, and getUserMedia returns the
# microphone mixed with it, as a laptop's microphone hears its own speakers; the track reports no canceller.
LOUDSPEAKER_LOOP = """
let loudspeaker = null;
const connect = AudioNode.prototype.connect;
AudioNode.prototype.connect = function (target, ...rest) {
  if (target instanceof AudioDestinationNode && !(this instanceof GainNode)) {  // the player's output
    loudspeaker ??= this.context.createMediaStreamDestination();
    connect.call(this, loudspeaker);
  }
  return connect.call(this, target, ...rest);
};
const getUserMedia = MediaDevices.prototype.getUserMedia;
MediaDevices.prototype.getUserMedia = async function (constraints) {
  const microphone = await getUserMedia.call(this, constraints);
  while (loudspeaker === null) await new Promise((resolve) => setTimeout(resolve, 10));
  const room = new AudioContext();
  const heard = room.createMediaStreamDestination();
  room.createMediaStreamSource(microphone).connect(heard);
  room.createMediaStreamSource(loudspeaker.stream).connect(heard);
  return heard.stream;
};
const getSettings = MediaStreamTrack.prototype.getSettings;
MediaStreamTrack.prototype.getSettings = function () {
  return { ...getSettings.call(this), echoCancellation: false };
};
"""



@pytest.mark.timeout(150)
@pytest.mark.parametrize("headphones", [False, True], ids=["gated", "not gated (negative control)"])
def test_the_pages_own_speech_is_not_translated_again(open_page, lite_gateway, tmp_path, headphones):
    # A long pause: the first translation plays in it, where the microphone would hear it.
    recording = two_phrases(tmp_path / "phrases.wav", pause_s=7.0)
    seconds = len(read_pcm(recording)[0]) / 2 / 48000
    page = open_page(lite_gateway.base_url, recording, init_script=RECORD_SERVER_EVENTS + LOUDSPEAKER_LOOP)
    expect(page.locator("#start")).to_be_enabled()
    page.select_option("#source-language", "spa")
    if headphones:
        page.check("#headphones")
    page.click("#start")
    # The whole recording (about 22 s), the last translation played, then stop.
    page.wait_for_function(f"window.s2stDebug.sentSamples > {int(seconds * 16_000)}", timeout=90_000)
    page.wait_for_timeout(8_000)
    page.click("#stop")
    expect(page.locator("#session-status")).to_have_text("Stopped", timeout=60_000)

    # A segment whose speech starts in a pause of the recording is the page's own speech, heard again.
    phrases = phrase_spans(recording)
    starts = [event["input_offset_ms"] / 1000 for event in server_events(page, "speech") if event["state"] == "started"]
    echoes = [at for at in starts if not any(begin - 0.5 <= at <= end + ECHO_AFTER_S for begin, end in phrases)]
    finals = page.locator("#source-transcript li:not(.partial)").all_inner_texts()
    print("phrases:", phrases, "segments started at:", starts, "source finals:", finals)
    if headphones:
        assert echoes, (starts, finals)  # the loop is real: the page's speech came back as more segments
    else:
        assert not echoes, (starts, finals)
        # Both phrases, each whole: "gracias" is in the middle of the first, which the translation of its
        # first sentence ("Buenos días.", which the engine may end at the short pause after it) must not mute.
        assert [sum(word in line.lower() for line in finals) for word in ("gracias", "museo")] == [1, 1], finals
        assert page.evaluate("window.s2stDebug.gatedFrames") > 0


# The translation plays no sooner than this after a phrase ends; a segment that starts later is an echo.
ECHO_AFTER_S = 0.4


def phrase_spans(recording: Path) -> list[tuple[float, float]]:
    """(start, end) seconds of each phrase in the recording: voiced 10 ms frames, gaps under a second joined."""
    pcm, rate = read_pcm(recording)
    samples = np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.int32))
    frames = samples[: len(samples) // (rate // 100) * (rate // 100)].reshape(-1, rate // 100).max(axis=1)
    voiced = np.flatnonzero(frames > 300) / 100
    breaks = np.flatnonzero(np.diff(voiced) > 1.0)
    return [(float(voiced[begin]), float(voiced[end])) for begin, end in
            zip([0, *(breaks + 1)], [*breaks, len(voiced) - 1])]
