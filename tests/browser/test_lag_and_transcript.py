"""A person runs a session, watches the lag, and leaves with the transcript (lite engine, real Spanish speech).

What the page draws and writes is checked against the events the server sent it (recorded by an init script):
the timeline's bars are the `speech` offsets and the `stats` figures, the SRT cues are timed by the speech
offsets, and the transcript survives a reload until the person clears it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from page_helpers import RECORD_SERVER_EVENTS, server_events, spanish_wav, wait_until_ready_to_start
from playwright.sync_api import Page, expect
from harness.speech import read_pcm, two_phrases

PHONE = {"width": 360, "height": 740}
PIXEL_TOLERANCE = 1.0


def srt_time(ms: float) -> str:
    total = round(ms)
    return f"{total // 3_600_000:02}:{total // 60_000 % 60:02}:{total // 1000 % 60:02},{total % 1000:03}"


def lines(page: Page, side: str) -> list[str]:
    return page.locator(f"#{side}-transcript li").all_inner_texts()


def download(page: Page, format_: str) -> str:
    with page.expect_download() as info:
        page.click(f"#downloads button[data-format={format_}]")
    assert info.value.suggested_filename.endswith(f".{format_}")
    return Path(info.value.path()).read_text(encoding="utf-8")


def timeline_scale(page: Page) -> tuple[float, float]:
    """Pixels at 0 ms and per ms, from the time axis's first two tick labels (m:ss)."""
    ticks = page.evaluate("""[...document.querySelectorAll('#timeline text.tick[text-anchor=middle]')]
      .slice(0, 2).map((tick) => [tick.textContent, Number(tick.getAttribute('x'))])""")
    (label0, x0), (label1, x1) = ticks
    ms0, ms1 = (sum(int(part) * unit for part, unit in zip(label.split(":"), (60_000, 1000))) for label in (label0, label1))
    per_ms = (x1 - x0) / (ms1 - ms0)
    return x0 - ms0 * per_ms, per_ms


def drawn(page: Page, selector: str) -> dict[str, dict[str, float]]:
    """Data and x of the timeline's shapes, by segment key."""
    return page.evaluate("""(selector) => Object.fromEntries([...document.querySelectorAll(selector)].map((shape) =>
      [shape.dataset.key, {x: Number(shape.getAttribute('x') ?? shape.getAttribute('cx')), ...Object.fromEntries(
        Object.entries(shape.dataset).filter(([name]) => name !== 'key').map(([name, value]) => [name, Number(value)]))}]))""",
                         selector)


@pytest.mark.timeout(180)
def test_a_session_shows_its_lag_and_leaves_with_the_transcript_as_srt(open_page, lite_gateway, tmp_path, artifacts):
    recording = two_phrases(tmp_path / "phrases.wav", pause_s=3.0)
    seconds = len(read_pcm(recording)[0]) / 2 / 48000
    page = open_page(f"{lite_gateway.base_url}/?from=spa&to=eng", recording, init_script=RECORD_SERVER_EVENTS)
    wait_until_ready_to_start(page)
    expect(page.locator("#source-language")).to_have_value("spa")  # the link chose the pair
    page.click("#start")
    page.wait_for_function(f"window.s2stDebug.sentFrames > {int(seconds * 50)}", timeout=90_000)
    page.click("#stop")  # the rest of the translation still arrives
    expect(page.locator("#session-status")).to_have_text("Stopped", timeout=60_000)

    # ---- the lag timeline: what the server measured, drawn where it belongs
    stats = server_events(page, "stats")
    speech = {(event["segment_id"], event["state"]): event["input_offset_ms"] for event in server_events(page, "speech")}
    assert len(stats) >= 2, stats  # two phrases, a pause between
    expect(page.locator("#timeline path.ending-offset")).to_have_count(len(stats))
    zero, per_ms = timeline_scale(page)
    speech_bars = drawn(page, "#timeline rect.speech")
    translation_bars = drawn(page, "#timeline rect.translation")
    first_outputs = drawn(page, "#timeline circle.first-output")
    for event in stats:
        key, start = f"1:{event['segment_id']}", speech[(event["segment_id"], "started")]
        end = speech[(event["segment_id"], "ended")]
        assert (speech_bars[key]["startMs"], speech_bars[key]["endMs"]) == (start, end)
        assert speech_bars[key]["x"] == pytest.approx(zero + start * per_ms, abs=PIXEL_TOLERANCE)
        expected_output = (start + event["first_output_latency_ms"], end + event["ending_offset_ms"])
        assert (translation_bars[key]["startMs"], translation_bars[key]["endMs"]) == pytest.approx(expected_output)
        assert translation_bars[key]["x"] == pytest.approx(zero + expected_output[0] * per_ms, abs=PIXEL_TOLERANCE)
        assert first_outputs[key]["ms"] == pytest.approx(event["first_output_latency_ms"])
    expect(page.locator("#timeline")).to_have_attribute("aria-label", re.compile(f"of {len(stats)} finished sentences"))
    expect(page.locator("#ending-offset")).to_have_text(f"{stats[-1]['ending_offset_ms'] / 1000:.2f} s")
    said, heard = lines(page, "source"), lines(page, "target")
    assert page.locator("#announcer").text_content() == heard[-1]  # the live region read the last translation

    page.screenshot(path=str(artifacts / "web-client-lag.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)  # the timeline redraws at the new width
    page.screenshot(path=str(artifacts / "web-client-lag-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    box = page.locator("#timeline").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    expect(page.locator("#timeline rect.translation")).to_have_count(len(translation_bars))
    page.set_viewport_size({"width": 1000, "height": 800})

    # ---- the transcript as files: SRT cues timed by the speech, both sides as the page shows them
    transcripts = {}
    for event in server_events(page, "transcript"):
        transcripts.setdefault(event["segment_id"], {})[event["side"]] = event["text"]
    segments = sorted(transcripts)
    cues = download(page, "srt").strip().split("\n\n")
    assert len(cues) == len(segments) == len(said), (cues, said)
    for number, (cue, segment) in enumerate(zip(cues, segments), start=1):
        index, timing, *text = cue.split("\n")
        assert index == str(number)
        assert timing == f"{srt_time(speech[(segment, 'started')])} --> {srt_time(speech[(segment, 'ended')])}", cue
        assert text == [transcripts[segment][side] for side in ("source", "target") if side in transcripts[segment]]
    plain = download(page, "txt")
    assert all(line in plain for line in said + heard), plain
    kept = {entry["segment_id"]: entry for entry in json.loads(download(page, "json"))["segments"]}
    assert sorted(kept) == segments
    for event in stats:
        if event["segment_id"] in kept:
            assert kept[event["segment_id"]]["first_output_latency_ms"] == pytest.approx(event["first_output_latency_ms"])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#copy-transcript")
    expect(page.locator("#transcript-note")).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == plain

    # ---- a reload keeps it all, without reading it out again; Clear forgets it, also across a reload
    page.reload()
    wait_until_ready_to_start(page)
    assert (lines(page, "source"), lines(page, "target")) == (said, heard)
    expect(page.locator("#timeline path.ending-offset")).to_have_count(len(stats))
    assert page.locator("#announcer").text_content() == ""
    expect(page.locator("#downloads button[data-format=srt]")).to_be_enabled()
    page.click("#clear-transcript")
    expect(page.locator("#source-transcript li")).to_have_count(0)
    expect(page.locator("#timeline rect")).to_have_count(0)
    expect(page.locator("#downloads button[data-format=srt]")).to_be_disabled()
    page.reload()
    wait_until_ready_to_start(page)
    expect(page.locator("#target-transcript li")).to_have_count(0)
    assert page.evaluate("localStorage.getItem('s2st.transcript')") is None


def test_a_browser_that_will_not_keep_the_transcript_says_so(open_page, echo_gateway, tmp_path):
    # As a full storage (or a private window that keeps nothing) answers.
    full_storage = """
      const setItem = Storage.prototype.setItem;
      Storage.prototype.setItem = function (key, value) {
        if (key === "s2st.transcript") throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
        return setItem.call(this, key, value);
      };
    """
    page = open_page(echo_gateway.base_url, spanish_wav(tmp_path, 48000, 0.5), init_script=full_storage)
    wait_until_ready_to_start(page)
    page.click("#start")  # the echo worker's segment is recorded, and saving it fails
    expect(page.locator("#transcript-note")).to_have_text(
        "This browser would not keep the transcript. Download it to keep it.", timeout=10_000)
    page.click("#stop")
