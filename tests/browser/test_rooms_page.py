"""Rooms in real browsers: a speaker page opens a room and shows its link; listener pages opened from that link
each pick a language and hear it (docs/web-client.md, "Rooms"; docs/protocol.md, "Rooms").

The lite engine translates into English only, and the echo engine accepts any target language but has no words
(it sends back the audio it gets). So the work is split:

- Two languages: an echo worker serves the room's "eng" and "fra" streams, each returning the speaker's speech,
  standing in for a second language's worker stream where the lite engine only speaks English (issue 20 allows
  it). The echo worker lists English only in /api/languages, though it accepts any code: the pages are told the
  service offers English and French (the one HTTP answer faked here; the gateway and worker are real). A speaker
  page and two listener pages, one per language: each plays speech, the speaker sees 1 and 1, ending the room
  shows "ended" on both. Echo has no transcript, so the words are the second test's.
- Words (lite worker, English): Spanish speech gives English lines and speech on a listener page, the speaker
  sees its own words, a late joiner gets the transcript so far, revoking the link removes whoever joined with it
  and shows the speaker a new link.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from page_helpers import RECORD_SERVER_EVENTS, server_events
from test_accessibility import low_contrast
from playwright.sync_api import Page, Route, expect
from harness.speech import SENTENCES, TWO_PHRASES, speak

PROTOCOL_DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
LISTENER_LANGUAGES = {"eng": "English", "fra": "French"}
LISTENER_AUDIBLE_SAMPLES = 8000  # 0.5 s of speech played
PHONE = {"width": 360, "height": 740}

# The listener view as assistive technology reads it (partial: these nodes, in this order).
LISTENER_TREE = """
- main:
  - region "Listening":
    - combobox "Listen in"
    - button "Listen" [disabled]
    - button "Stop listening"
    - group "Translated speech":
      - slider "Volume"
      - button "Mute"
  - status: Listening in English.
  - list "What was said"
  - list "Translation"
"""

# Counts what a listener page asks of the microphone and the audio it sends (it must do neither), and keeps
# the server's events.
LISTENER_INIT = RECORD_SERVER_EVENTS + """
window.microphoneRequests = 0;
window.audioFramesSent = 0;
const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (...args) => { window.microphoneRequests++; return getUserMedia(...args); };
const send = NativeWebSocket.prototype.send;
NativeWebSocket.prototype.send = function (data) {
  if (typeof data !== "string") window.audioFramesSent++;
  return send.call(this, data);
};
"""


def offer_english_and_french(page: Page) -> None:
    """/api/languages answers with English and French targets (what the echo worker accepts), then the page reloads."""
    def answer(route: Route) -> None:
        listed = [{"code": code, "name": name} for code, name in LISTENER_LANGUAGES.items()]
        route.fulfill(json={"engine": "echo", "source_languages": listed, "target_languages": listed,
                            "speech_output_languages": listed, "source_language_selectable": True})

    page.route(re.compile(r"/api/languages"), answer)
    page.reload()


def open_room(speaker: Page, languages: list[str]) -> str:
    """Ticks the room's languages, opens it; the listener link the page shows."""
    expect(speaker.locator("#connection-state")).to_have_attribute("data-state", "connected")
    for box in speaker.locator("#room-languages input").all():
        box.set_checked(box.get_attribute("value") in languages)
    speaker.click("#open-room")
    expect(speaker.locator("body")).to_have_attribute("data-phase", "live", timeout=10_000)
    link = speaker.locator("#listener-link").input_value()
    assert re.search(r"\?room=[^&]+&listen=[\w-]{20,}", link), link
    return link


def listen(open_page, link: str, language: str, routed: bool = False) -> Page:
    """A listener page from the link, listening in language (a browser of its own, with no microphone allowed)."""
    page = open_page(link, init_script=LISTENER_INIT, microphone_allowed=False)
    if routed:
        offer_english_and_french(page)
    expect(page.locator("#listen")).to_be_enabled(timeout=10_000)
    page.select_option("#listen-language", language)
    page.click("#listen")
    expect(page.locator("body")).to_have_attribute("data-phase", "listening", timeout=15_000)
    return page


def speech_after_a_pause(directory: Path, lead_silence_s: float, phrases: list[str]) -> Path:
    """Spanish phrases, the first after lead_silence_s (listeners join meanwhile: nobody hears a room before)."""
    parts = [speak(text, "es", directory / f"phrase-{i}.wav", rate=48_000, lead_silence_s=lead_silence_s if i == 0 else 0,
                   tail_silence_s=1.5) for i, text in enumerate(phrases)]
    path = directory / "speaker.wav"
    subprocess.run(["sox", "-R", *map(str, parts), str(path)], check=True, capture_output=True)
    return path


def assert_never_used_the_microphone(listener: Page) -> None:
    assert listener.evaluate("[window.microphoneRequests, window.audioFramesSent]") == [0, 0]


@pytest.mark.timeout(90)
def test_two_listeners_hear_their_own_languages_and_see_the_room_end(open_page, echo_gateway, tmp_path):
    wav = speech_after_a_pause(tmp_path, 6.0, [SENTENCES["spa"][1], SENTENCES["spa"][1]])
    speaker = open_page(echo_gateway.base_url, wav)
    offer_english_and_french(speaker)
    speaker.context.grant_permissions(["clipboard-read", "clipboard-write"])
    expect(speaker.locator("#room-languages input")).to_have_count(2)
    link = open_room(speaker, ["eng", "fra"])
    assert "langs=eng%2Cfra" in link
    expect(speaker.locator("#listener-qr")).to_have_js_property("complete", True)
    assert speaker.locator("#listener-qr").evaluate("(image) => image.naturalWidth") > 0, "the QR code did not load"
    speaker.click("#copy-link")
    expect(speaker.locator("#room-note")).to_contain_text("Copied")
    assert speaker.evaluate("navigator.clipboard.readText()") == link

    english = listen(open_page, link, "eng", routed=True)
    french = listen(open_page, link, "fra", routed=True)
    expect(speaker.locator("#listener-counts li[data-language=eng]")).to_have_text("English: 1", timeout=5_000)
    expect(speaker.locator("#listener-counts li[data-language=fra]")).to_have_text("French: 1")
    expect(speaker.locator("#listener-total")).to_have_text("2 listeners")
    for listener, language in ((english, "eng"), (french, "fra")):
        assert [event["target_language"] for event in server_events(listener, "joined")] == [language]
        expect(listener.locator("#session-status")).to_have_text(f"Listening in {LISTENER_LANGUAGES[language]}.")
    for listener in (english, french):  # the speech comes after the pause
        listener.wait_for_function(f"window.s2stDebug.audibleSamples > {LISTENER_AUDIBLE_SAMPLES}", timeout=30_000)
        assert listener.evaluate("window.s2stDebug.sequenceErrors") == 0
    expect(english).to_have_title("Listening: speech translation")
    expect(english.locator("body")).to_match_aria_snapshot(LISTENER_TREE)
    assert low_contrast(speaker) == [] and low_contrast(english) == []
    english.set_viewport_size(PHONE)
    speaker.set_viewport_size(PHONE)
    for page in (speaker, english):
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "scrolls sideways on a phone"

    speaker.click("#end-room")
    for listener in (english, french):
        expect(listener.locator("body")).to_have_attribute("data-phase", "ended", timeout=15_000)
        expect(listener.locator("#session-status")).to_have_text("The room has ended. The speaker ended it.")
        expect(listener.locator("#listen")).to_be_disabled()
        assert_never_used_the_microphone(listener)
    expect(speaker.locator("body")).to_have_attribute("data-phase", "idle", timeout=15_000)
    expect(speaker.locator("#room-share")).to_be_hidden()
    expect(speaker.locator("#start")).to_be_enabled()  # back on /ws: a session or another room may follow
    assert "room=" not in speaker.url


@pytest.mark.timeout(120)
def test_a_listener_reads_and_hears_the_translation_and_a_late_joiner_gets_the_transcript_so_far(
        open_page, lite_gateway, tmp_path, artifacts):
    wav = speech_after_a_pause(tmp_path, 5.0, [SENTENCES["spa"][1], TWO_PHRASES[1]])
    speaker = open_page(lite_gateway.base_url, wav)
    # The lite engine offers a room every target it has: English, and Spanish among the pairs it translates.
    expect(speaker.locator("#room-languages input[value=spa]")).to_have_count(1)
    expect(speaker.locator("#room-languages input[value=eng]")).to_have_count(1)
    speaker.select_option("#source-language", "spa")
    link = open_room(speaker, ["eng"])
    first = listen(open_page, link, "eng")
    expect(speaker.locator("#listener-counts li[data-language=eng]")).to_have_text("English: 1", timeout=5_000)

    expect(first.locator("#target-transcript li:not(.partial)").first).to_be_visible(timeout=40_000)
    translation = first.locator("#target-transcript").inner_text().lower()
    assert any(word in translation for word in ("good morning", "thank", "help")), translation
    first.wait_for_function(f"window.s2stDebug.audibleSamples > {LISTENER_AUDIBLE_SAMPLES}", timeout=30_000)
    expect(speaker.locator("#source-transcript li").first).to_contain_text(re.compile("buenos|gracias", re.I),
                                                                           timeout=10_000)

    late = listen(open_page, link, "eng")
    joined = server_events(late, "joined")[0]
    assert joined["transcript"] and joined["transcript"][0]["target"], joined
    expect(late.locator("#target-transcript li").first).to_have_text(joined["transcript"][0]["target"])
    expect(speaker.locator("#listener-counts li[data-language=eng]")).to_have_text("English: 2", timeout=5_000)
    speaker.screenshot(path=str(artifacts / "web-client-room-speaker.png"), full_page=True)
    first.screenshot(path=str(artifacts / "web-client-room-listener.png"), full_page=True)

    speaker.click("#revoke-link")
    expect(speaker.locator("#listener-link")).not_to_have_value(link)
    expect(speaker.locator("#room-note")).to_contain_text("A new link")
    for listener in (first, late):
        expect(listener.locator("body")).to_have_attribute("data-phase", "ended", timeout=10_000)
        expect(listener.locator("#session-status")).to_contain_text("replaced the link")
        assert_never_used_the_microphone(listener)
    speaker.click("#end-room")
    expect(speaker.locator("body")).to_have_attribute("data-phase", "idle", timeout=20_000)
    expect(speaker.locator("#session-status")).to_have_text("The room has ended.")


def test_every_room_error_and_end_reason_has_its_own_plain_words(open_page, echo_gateway):
    room_errors = PROTOCOL_DOC.split("### Room errors", 1)[1].split("\n#", 1)[0]
    codes = re.findall(r"^\| `([a-z_]+)`(?:, `[a-z_]+`)* \|", room_errors, re.M)
    codes += [code for row in re.findall(r"^\| (`[a-z_]+`(?:, `[a-z_]+`)+) \|", room_errors, re.M)
              for code in re.findall(r"`([a-z_]+)`", row)]
    ended = PROTOCOL_DOC.split("### `room_ended`", 1)[1].split("\n#", 1)[0]
    reasons = re.findall(r"^\| `([a-z_]+)` \|", ended, re.M)
    assert {"unknown_room", "language_not_offered", "busy"} <= set(codes) and {"ended", "link_revoked"} <= set(reasons)
    page = open_page(echo_gateway.base_url)
    words = page.evaluate("""async ([codes, reasons]) => {
      const { serverErrorWords, roomEndedWords } = await import(new URL("errors.js", location.href));
      return {
        errors: codes.map((code) => [code, serverErrorWords({ code, message: "m", fatal: true })]),
        unknownError: serverErrorWords({ code: "no_such_code", message: "m", fatal: true }).text,
        reasons: reasons.map((reason) => [reason, roomEndedWords(reason)]),
        unknownReason: roomEndedWords("no_such_reason").text,
      };
    }""", [codes, reasons])
    for code, description in words["errors"]:
        assert description["text"] != words["unknownError"], f"no words for {code}"
    for reason, description in words["reasons"]:
        assert description["text"] != words["unknownReason"], f"no words for {reason}"
    for code, description in words["errors"] + words["reasons"]:
        text = description["text"]
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), f"a raw code on screen: {text}"  # "ended" is a word
        assert re.fullmatch(r"[A-Z].*[.!…]", text), f"not a sentence: {text}"


# Keeps the page's sockets in window.sockets, so a test can drop one as a network would.
KEEP_SOCKETS = """
window.sockets = [];
const Native = window.WebSocket;
window.WebSocket = class extends Native {
  constructor(...args) { super(...args); window.sockets.push(this); }
};
"""


def test_a_speaker_whose_connection_drops_or_who_reloads_comes_back_to_the_same_room(open_page, echo_gateway, tmp_path):
    wav = speech_after_a_pause(tmp_path, 0.5, [SENTENCES["spa"][1]])
    speaker = open_page(echo_gateway.base_url, wav, init_script=KEEP_SOCKETS)
    link = open_room(speaker, ["eng"])
    listener = listen(open_page, link, "eng")
    room_id = speaker.locator("#room-share").get_attribute("data-room")

    speaker.evaluate("window.sockets.at(-1).close()")  # the network drops
    expect(listener.locator("#session-status")).to_contain_text("waiting for them", timeout=5_000)
    expect(speaker.locator("body")).to_have_attribute("data-phase", "live", timeout=10_000)
    expect(listener.locator("#session-status")).to_have_text("Listening in English.", timeout=5_000)
    assert "/ws/rooms/" in speaker.evaluate("window.sockets.at(-1).url")  # the room's own socket
    expect(speaker.locator("#listener-link")).to_have_value(link)  # the same room, the same link

    assert f"room={room_id}" in speaker.url and "speak=" in speaker.url  # the address is the speaker link
    speaker.reload()
    expect(speaker.locator("#open-room")).to_have_text("Speak in the room again")
    expect(speaker.locator("#start")).to_be_disabled()
    speaker.click("#open-room")
    expect(speaker.locator("body")).to_have_attribute("data-phase", "live", timeout=10_000)
    expect(speaker.locator("#listener-link")).to_have_value(link)
    expect(speaker.locator("#listener-counts li[data-language=eng]")).to_have_text("English: 1", timeout=5_000)
    expect(listener.locator("#session-status")).to_have_text("Listening in English.", timeout=5_000)
    speaker.click("#end-room")
    expect(listener.locator("body")).to_have_attribute("data-phase", "ended", timeout=15_000)


def test_a_dead_listener_link_says_the_room_is_gone_on_load(open_page, echo_gateway):
    speaker = open_page(echo_gateway.base_url)
    link = open_room(speaker, ["eng"])
    live = open_page(link, microphone_allowed=False)
    expect(live.locator("#listen")).to_be_enabled(timeout=10_000)  # a live link: Listen as before
    expect(live.locator("#session-status")).to_have_text("Pick a language and press Listen.")

    def assert_gone(dead_link: str) -> None:
        page = open_page(dead_link, microphone_allowed=False)
        expect(page.locator("body")).to_have_attribute("data-phase", "ended", timeout=10_000)
        expect(page.locator("#session-status")).to_contain_text("does not work any more")
        expect(page.locator("#listen")).to_be_disabled()

    speaker.click("#revoke-link")
    expect(speaker.locator("#listener-link")).not_to_have_value(link)
    assert_gone(link)  # revoked, the room going on
    ended_link = speaker.locator("#listener-link").input_value()
    speaker.click("#end-room")
    expect(speaker.locator("body")).to_have_attribute("data-phase", "idle", timeout=15_000)
    assert_gone(ended_link)  # ended
    assert_gone(re.sub(r"room=[^&]+", "room=0.invented", link))  # never there
