// Microphone audio into the frames sent to the server: whole engine steps (the `ready` event's
// input_step_ms), counted from the session's start. The engine decides once per step, so a frame of one
// step adds no delay and costs the fewest messages (SeamlessStreaming: 320 ms, 16 times fewer than 20 ms).

import { CAPTURE_RATE as RATE, FRAME_MS as NO_STEP_MS } from "./capture.js"; // no step (echo): the capture's frames

const CATCH_UP_MS = 1000; // speech held while no session was ready leaves in frames up to this long

export class FrameBatcher {
  // send(ArrayBuffer of Int16 PCM): one frame to the server.
  constructor(send) {
    this.send = send;
    this.step = (RATE * NO_STEP_MS) / 1000; // in samples
    this.held = new Int16Array(0); // less than one step, not sent yet
  }

  // A new session: its step, counted from here.
  start(stepMs) {
    this.step = Math.max(1, Math.round((RATE * (stepMs || NO_STEP_MS)) / 1000));
    this.held = new Int16Array(0);
  }

  // Adds Int16 PCM; sends every whole step (several to a frame when a backlog arrives at once).
  push(pcm) {
    const all = concat(this.held, new Int16Array(pcm));
    const perFrame = this.step * Math.max(1, Math.floor((RATE * CATCH_UP_MS) / 1000 / this.step));
    let offset = 0;
    while (all.length - offset >= this.step) {
      const length = Math.min(perFrame, Math.floor((all.length - offset) / this.step) * this.step);
      this.send(all.slice(offset, offset + length).buffer);
      offset += length;
    }
    this.held = all.slice(offset);
  }

  // End of input: what is held leaves as a shorter frame.
  flush() {
    if (this.held.length > 0) this.send(this.held.slice().buffer);
    this.held = new Int16Array(0);
  }

  // What is held, taken back (for a session that has not started yet); null when nothing is.
  takeHeld() {
    const held = this.held;
    this.held = new Int16Array(0);
    return held.length > 0 ? held.buffer : null;
  }

  // Drops what is held (a reset discards the utterance).
  clear() {
    this.held = new Int16Array(0);
  }
}

export function concat(...parts) {
  const joined = new Int16Array(parts.reduce((samples, part) => samples + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}
