"""What a room's speaker says reaches its listeners from the first word (docs/web-client.md, "Rooms"): the room
translates its first language from the moment it opens, so a listener who joins after the first sentence reads
that sentence whole, from the start."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from tests.harness.speech import SENTENCES
from test_rooms_page import listen, open_room, speech_after_a_pause


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
