"""How a room's listener page ends what it shows (docs/web-client.md, "Rooms"): a grey partial line never stays
behind when the listener stops listening, the link is revoked or the speaker's socket goes away; a speaker who
does not come back is counted down, then the room's end is said once, in one tense.

The lite engine (English) sends partials every second of a long sentence while it is spoken, so each listener
sees a partial line before the event that ends its listening; the events each page received say it was still
open then (no final had settled it).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_helpers import server_events
from playwright.sync_api import Page, expect
from harness.servers import Gateway, Worker, running, start_gateway
from harness.speech import speak
from test_rooms_page import listen, open_room

LONG_SENTENCE = ("Buenos días a todos. Hoy vamos a hablar de la historia de nuestra ciudad, de sus museos antiguos, "
                 "de sus calles estrechas y de la gente que vive aquí desde hace muchos años.")
GRACE_SECONDS = 6
PARTIAL_LINES = "#source-transcript li.partial, #target-transcript li.partial"


@pytest.fixture(scope="module")
def short_grace_gateway(echo_worker: Worker, server_logs: Path) -> Iterator[Gateway]:
    with running(start_gateway(echo_worker.address, {"S2ST_ROOM_GRACE_SECONDS": str(GRACE_SECONDS)},
                               log_dir=server_logs)) as gateway:
        yield gateway


def two_long_sentences(directory: Path, lead_silence_s: float) -> Path:
    parts = [speak(LONG_SENTENCE, "es", directory / f"long-{i}.wav", rate=48_000,
                   lead_silence_s=lead_silence_s if i == 0 else 0, tail_silence_s=2.0) for i in range(2)]
    path = directory / "speaker.wav"
    subprocess.run(["sox", "-R", *map(str, parts), str(path)], check=True, capture_output=True)
    return path


def open_partial_when(page: Page, event_type: str) -> bool:
    """Whether the page had a partial transcript not yet settled by a final when its first `event_type` came."""
    return page.evaluate("""(type) => {
      const open = new Set();
      for (const event of window.serverEvents) {
        if (event.type === type) return open.size > 0;
        if (event.type === "joined") open.clear();
        if (event.type !== "transcript") continue;
        const line = `${event.segment_id}:${event.side}`;
        if (event.final) open.delete(line); else open.add(line);
      }
      return false;
    }""", event_type)


def stop_listening_with_a_partial_line(page: Page) -> int:
    """Presses Stop listening at once once a partial line shows; how many partial lines showed then."""
    page.locator(PARTIAL_LINES).first.wait_for(timeout=40_000)
    return page.evaluate("""(selector) => {
      const shown = document.querySelectorAll(selector).length;
      document.getElementById("leave").click();
      return shown;
    }""", PARTIAL_LINES)


@pytest.mark.timeout(150)
def test_no_partial_line_stays_after_stop_listening_a_revoked_link_or_the_speaker_leaving(
        open_page, lite_gateway, tmp_path):
    speaker = open_page(lite_gateway.base_url, two_long_sentences(tmp_path, 6.0))
    speaker.select_option("#source-language", "spa")
    link = open_room(speaker, ["eng"])
    stopping, revoked = listen(open_page, link, "eng"), listen(open_page, link, "eng")

    assert stop_listening_with_a_partial_line(stopping) > 0
    expect(stopping.locator("body")).to_have_attribute("data-phase", "idle", timeout=10_000)
    expect(stopping.locator(PARTIAL_LINES)).to_have_count(0)

    revoked.locator(PARTIAL_LINES).first.wait_for(timeout=40_000)
    speaker.click("#revoke-link")
    expect(revoked.locator("body")).to_have_attribute("data-phase", "ended", timeout=10_000)
    assert open_partial_when(revoked, "room_ended"), "a final came first: the test proved nothing"
    expect(revoked.locator(PARTIAL_LINES)).to_have_count(0)

    expect(speaker.locator("#listener-link")).not_to_have_value(link)
    deserted = listen(open_page, speaker.locator("#listener-link").input_value(), "eng")
    deserted.locator(PARTIAL_LINES).first.wait_for(timeout=40_000)
    speaker.close()  # the speaker's socket goes away in the middle of a sentence
    expect(deserted.locator("#session-status")).to_contain_text("waiting for them", timeout=10_000)
    assert open_partial_when(deserted, "speaker"), "a final came first: the test proved nothing"
    expect(deserted.locator(PARTIAL_LINES)).to_have_count(0)
    assert server_events(deserted, "speaker")[0]["connected"] is False


def seconds_left(page: Page) -> int:
    text = page.locator("#session-status").inner_text()
    found = re.search(r"The room ends in (\d+) s unless they come back\.", text)
    assert found, text
    return int(found[1])


def test_a_speaker_who_does_not_come_back_is_counted_down_and_the_end_said_once(open_page, short_grace_gateway):
    speaker = open_page(short_grace_gateway.base_url)
    listener = listen(open_page, open_room(speaker, ["eng"]), "eng")
    speaker.close()
    status = listener.locator("#session-status")
    expect(status).to_contain_text("The room ends in", timeout=10_000)
    first = seconds_left(listener)
    assert 0 < first <= GRACE_SECONDS
    expect(status).not_to_contain_text(f"ends in {first} s", timeout=5_000)  # it counts down
    assert seconds_left(listener) < first
    expect(listener.locator("body")).to_have_attribute("data-phase", "ended", timeout=GRACE_SECONDS * 1000 + 5_000)
    expect(status).to_have_text("The room has ended. The speaker left and did not come back.")
    expect(listener.locator("#error")).to_be_hidden()  # no second message saying it "is ending"
    assert "is ending" not in listener.locator("body").inner_text()
    assert [event["code"] for event in server_events(listener, "error")] == ["speaker_gone"]  # it came, unsaid
