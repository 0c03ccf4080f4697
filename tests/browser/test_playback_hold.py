"""Talker priority in web/playback.js, on a real Playback (its worklets, a real AudioContext): held speech
waits, hold(false) plays it in order, and 20 s of it are played even while still held (a talker who never
pauses still hears their translation)."""

from __future__ import annotations

from page_helpers import wait_until_ready_to_start

# A Playback at 16 kHz whose output tap counts audible samples into window.heard.
PREPARE_JS = """async () => {
  const { Playback } = await import(new URL("playback.js", location.href));
  window.heard = 0;
  window.player = new Playback(({ audible }) => { window.heard = audible; });
  await window.player.prepare(16000);
}"""

# Enqueues `seconds` one-second chunks of a tone; returns how many were held back.
ENQUEUE_JS = """(seconds) => {
  let held = 0;
  for (let i = 0; i < seconds; i++) {
    const chunk = new Int16Array(16000).map((_, n) => Math.round(8000 * Math.sin((2 * Math.PI * 220 * n) / 16000)));
    if (window.player.enqueue(chunk.buffer)) held++;
  }
  return held;
}"""


def test_held_speech_waits_then_plays_and_twenty_seconds_of_it_play_regardless(open_page, echo_gateway):
    page = open_page(echo_gateway.base_url)
    wait_until_ready_to_start(page)
    page.evaluate(PREPARE_JS)

    page.evaluate("window.player.hold(true)")
    assert page.evaluate(ENQUEUE_JS, 2) == 2
    page.wait_for_timeout(600)
    assert page.evaluate("window.heard") == 0, "held speech played"
    page.evaluate("window.player.hold(false)")
    page.wait_for_function("window.heard > 8000", timeout=5_000)  # released: it plays

    page.evaluate("window.player.clear(); window.player.hold(true)")
    page.wait_for_timeout(300)
    played_before = page.evaluate("window.heard")
    assert page.evaluate(ENQUEUE_JS, 19) == 19
    page.wait_for_timeout(600)
    assert page.evaluate("window.heard") == played_before, "held speech played before 20 s of it waited"
    page.evaluate(ENQUEUE_JS, 2)  # past 20 s: all of it goes to the player, though still held
    page.wait_for_function(f"window.heard > {played_before} + 8000", timeout=5_000)
