"""A room's speaker page (docs/web-client.md, "Rooms"): what the speaker says reaches listeners from the first word
(the room translates its first language from the moment it opens, so a listener who joins after the first sentence
reads it whole), and the speaker sees what listeners get: each sentence's translation and its lag, with only the
controls that act in a room."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from harness.speech import SENTENCES
from test_rooms_page import PHONE, listen, open_room, speech_after_a_pause


@pytest.mark.timeout(120)
def test_a_listener_who_joins_after_the_first_sentence_reads_it_whole(open_page, lite_gateway, tmp_path):
    speaker = open_page(lite_gateway.base_url, speech_after_a_pause(tmp_path, 0.5, [SENTENCES["spa"][1]]))
    speaker.select_option("#source-language", "spa")
    link = open_room(speaker, ["eng"])  # nobody listens yet: the speaker talks at once
    said = speaker.locator("#source-transcript li:not(.partial)").first
    expect(said).to_contain_text(re.compile("buenos días", re.I), timeout=40_000)  # transcribed with no listener

    listener = listen(open_page, link, "eng")
    expect(listener.locator("#source-transcript li").first).to_have_text(said.inner_text())  # the first words
    expect(listener.locator("#target-transcript li:not(.partial)").first).not_to_be_empty(timeout=40_000)


PLAYED_HERE = ("#volume", "#mute", "#speaking", "#headphones")  # act only on speech this page plays


@pytest.mark.timeout(120)
def test_a_room_speaker_sees_each_sentences_translation_and_lag_and_no_controls_that_do_nothing(
        open_page, lite_gateway, tmp_path, artifacts):
    speaker = open_page(lite_gateway.base_url, speech_after_a_pause(tmp_path, 3.0, [SENTENCES["spa"][1]]))
    speaker.select_option("#source-language", "spa")
    for control in PLAYED_HERE:
        expect(speaker.locator(control)).to_be_visible()  # a session's page has them
    listener = listen(open_page, open_room(speaker, ["eng"]), "eng")
    for control in PLAYED_HERE:
        expect(speaker.locator(control)).to_be_hidden()

    heard = listener.locator("#target-transcript li:not(.partial)").first
    expect(heard).not_to_be_empty(timeout=40_000)
    expect(speaker.locator("#target-transcript li:not(.partial)").first).to_have_text(heard.inner_text(), timeout=10_000)
    expect(speaker.locator("#first-output")).to_have_text(re.compile(r"\d+\.\d\d s"), timeout=30_000)
    expect(speaker.locator("#ending-offset")).to_have_text(re.compile(r"\d+\.\d\d s"))
    expect(speaker.locator("#timeline rect.translation").first).to_be_visible()  # a lane of its own, per sentence
    speaker.screenshot(path=str(artifacts / "web-client-room-speaker-view.png"), full_page=True)
    speaker.set_viewport_size(PHONE)
    assert speaker.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "scrolls sideways on a phone"
    speaker.evaluate("window.scrollTo(0, 0)")
    speaker.screenshot(path=str(artifacts / "web-client-room-speaker-view-phone.png"))

    speaker.click("#end-room")
    expect(speaker.locator("body")).to_have_attribute("data-phase", "idle", timeout=20_000)
    for control in PLAYED_HERE:
        expect(speaker.locator(control)).to_be_visible()  # back for a session
