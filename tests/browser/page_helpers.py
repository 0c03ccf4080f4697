"""What several browser tests do with the page: wait until it can start, make its test speech, read what it
recorded and what the server sent it."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
from playwright.sync_api import Page, expect
from harness.speech import SENTENCES, speak

# Keeps every JSON event the page receives in window.serverEvents, as the page saw them.
RECORD_SERVER_EVENTS = """
window.serverEvents = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", ({ data }) => {
      if (typeof data === "string") window.serverEvents.push(JSON.parse(data));
    });
  }
};
"""


def wait_until_ready_to_start(page: Page) -> None:
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected")
    expect(page.locator("#start")).to_be_enabled()  # languages loaded


def spanish_wav(directory: Path, rate: int, tail_silence_s: float) -> Path:
    voice, text = SENTENCES["spa"]
    return speak(text, voice, directory / f"spa-{rate}.wav", rate=rate, lead_silence_s=0.3, tail_silence_s=tail_silence_s)


def server_events(page: Page, event_type: str) -> list[dict]:
    """The events of one type the page has received (needs RECORD_SERVER_EVENTS as its init script)."""
    return page.evaluate("(type) => window.serverEvents.filter((event) => event.type === type)", event_type)


# The hook's recordings as base64 of little-endian int16 (the played Float32 is scaled).
RECORDING_JS = """(name) => {
  const list = window.s2stDebug[name];
  const parts = list.map((item) => item instanceof Float32Array
    ? Int16Array.from(item, (x) => Math.max(-32768, Math.min(32767, Math.round(x * 32768))))
    : new Int16Array(item));
  const all = new Int16Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) { all.set(part, offset); offset += part.length; }
  const bytes = new Uint8Array(all.buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(text);
}"""


def recording(page: Page, name: str) -> np.ndarray:
    """One of the test hook's recordings (`sent`, `received`, `played`) as int16-scaled samples."""
    return np.frombuffer(base64.b64decode(page.evaluate(RECORDING_JS, name)), dtype="<i2").astype(np.float64)
