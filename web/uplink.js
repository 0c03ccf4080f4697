// Microphone audio on its way to the server (the speaker page's): frames captured while no session is ready
// wait (a few seconds of them) and go first once one is; all leave in frames of the engine's step; and
// without an echo canceller, frames heard while translated speech plays go as silence (half duplex).
// It reads and writes the page's state (session-state.js): `pending`, `slowNetworkShown`; reads the rest.

import { FRAME_MS } from "./capture.js";
import { FrameBatcher, concat } from "./frames.js";
import { TalkDetector } from "./talk-detector.js";

const PENDING_MAX_MS = 3000; // speech kept while no session is ready (opening, reconnecting)

export class Uplink {
  // headphones: the page's checkbox (echo cannot come back through headphones); debug: the test hook's
  // counters (docs/web-client.md); onSlowNetwork(): the socket refused audio (once a page).
  constructor(state, connection, { headphones, debug, onSlowNetwork }) {
    this.state = state;
    this.connection = connection;
    this.headphones = headphones;
    this.debug = debug;
    this.onSlowNetwork = onSlowNetwork;
    this.batcher = new FrameBatcher((pcm) => this.send(pcm)); // microphone frames -> frames of the engine's step
    this.talk = new TalkDetector();
  }

  // A captured frame (capture.js), with its level.
  frame(pcm, level) {
    const { state, debug } = this;
    if (state.phase !== "starting" && state.phase !== "live") return; // posted just before the capture stopped
    if (this.halfDuplex()) {
      const now = performance.now();
      if (state.playback.audible) {
        pcm = new ArrayBuffer(pcm.byteLength);
        debug.gatedFrames++;
      } else {
        this.talk.hear(level, now); // only the person: while the translation plays, the microphone hears it too
      }
      state.playback.hold(this.talk.talking(now));
    }
    if (!this.flows()) {
      state.pending.push(pcm);
      if (state.pending.length > PENDING_MAX_MS / FRAME_MS) state.pending.shift();
      return;
    }
    this.batcher.push(pcm);
  }

  // Audio may flow (a session is ready, or the room knows this page as its speaker): frames of this step
  // (0: the capture's own), counted from here, what waited first.
  start(stepMs) {
    this.batcher.start(stepMs);
    this.sendPending();
  }

  // The end of what the microphone said (Stop, Pause, End room, a language switch): all of it leaves now.
  flush() {
    this.sendPending();
    this.batcher.flush();
  }

  // What was captured and not sent is dropped (Reset, the room's end).
  clear() {
    this.state.pending = [];
    this.batcher.clear();
  }

  // The session on the socket is gone: what was batched and never sent waits for the next one, first.
  keepUnsent() {
    const held = this.batcher.takeHeld();
    if (held !== null) this.state.pending.unshift(held);
  }

  // Without an echo canceller, translated speech from loudspeakers would come back through the
  // microphone and be translated again: while it plays, send silence instead (keeps the clock). And
  // while the person talks, their translation waits (talker priority), so that gating never mutes them.
  halfDuplex() {
    const { mode, capture } = this.state;
    return mode === "session" && !this.headphones.checked && capture !== null && !capture.echoCancelled;
  }

  flows() {
    return this.state.ready !== null || this.state.roomLive;
  }

  // What was captured while no session was ready, in order, ahead of what follows.
  sendPending() {
    const { pending } = this.state;
    if (pending.length > 0) this.batcher.push(concat(...pending.map((frame) => new Int16Array(frame))).buffer);
    this.state.pending = [];
  }

  send(pcm) {
    const { debug } = this;
    if (this.connection.send(pcm)) {
      debug.sentFrames++;
      debug.sentSamples += pcm.byteLength / 2;
      if (debug.record) debug.sent.push(pcm);
    } else if (this.connection.ready && !this.state.slowNetworkShown) {
      this.state.slowNetworkShown = true;
      this.onSlowNetwork();
    }
  }
}
