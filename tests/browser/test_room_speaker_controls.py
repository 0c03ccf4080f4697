"""A room's speaker page (docs/web-client.md, "Rooms"): Pause closes the microphone while the room and its listeners
stay, Resume opens it again, and End room sits beside them where a phone shows it without scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from harness.speech import SENTENCES
from test_rooms_page import PHONE, listen, open_room, speech_after_a_pause

# Keeps the microphone tracks the page opens, so a test can see whether they still run.
KEEP_TRACKS = """
window.microphoneTracks = [];
const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (...args) => {
  const stream = await getUserMedia(...args);
  window.microphoneTracks.push(...stream.getAudioTracks());
  return stream;
};
"""
LIVE_TRACKS = "window.microphoneTracks.filter((track) => track.readyState === 'live').length"


@pytest.mark.timeout(90)
def test_a_room_speaker_pauses_and_resumes_the_microphone_and_ends_the_room_from_the_top_at_phone_width(
        open_page, echo_gateway, tmp_path):
    wav = speech_after_a_pause(tmp_path, 0.5, [SENTENCES["spa"][1]])
    speaker = open_page(echo_gateway.base_url, wav, init_script=KEEP_TRACKS)
    speaker.set_viewport_size(PHONE)
    link = open_room(speaker, ["eng"])
    listener = listen(open_page, link, "eng")
    speaker.evaluate("window.scrollTo(0, 0)")
    pause, end = speaker.locator("#stop"), speaker.locator("#end-room")
    for button in (pause, end):
        expect(button).to_be_enabled()
        expect(button).to_be_in_viewport()  # no scrolling down to the share panel on a phone
    expect(pause).to_have_text("Pause")
    assert speaker.evaluate(LIVE_TRACKS) == 1

    pause.click()
    expect(speaker.locator("body")).to_have_attribute("data-phase", "paused")
    expect(speaker.locator("#session-status")).to_contain_text("The room stays open")
    expect(pause).to_have_text("Resume")
    assert speaker.evaluate(LIVE_TRACKS) == 0  # the microphone is closed, not only muted
    expect(listener.locator("body")).to_have_attribute("data-phase", "listening")
    expect(listener.locator("#session-status")).to_have_text("Listening in English.")

    sent = speaker.evaluate("window.s2stDebug.sentFrames")
    pause.click()  # Resume
    expect(speaker.locator("body")).to_have_attribute("data-phase", "live")
    speaker.wait_for_function(f"window.s2stDebug.sentFrames > {sent}", timeout=10_000)  # audio flows again
    assert speaker.evaluate(LIVE_TRACKS) == 1

    end.click()
    expect(listener.locator("body")).to_have_attribute("data-phase", "ended", timeout=15_000)
    expect(speaker.locator("body")).to_have_attribute("data-phase", "idle", timeout=15_000)
    expect(end).to_be_hidden()
    expect(pause).to_have_text("Stop")
