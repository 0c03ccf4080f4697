// The WebSocket to the gateway (docs/protocol.md, version 1), reconnecting with backoff.

const BACKOFF_S = [0.5, 1, 2, 4, 8]; // then every 8 s; each delay gets +-20 % jitter
const AUDIO_HEADER_BYTES = 12;
const MAX_BUFFERED_BYTES = 256 * 1024; // about 8 s of 16 kHz audio waiting in the browser

// The connection indicator's words for a state (and its detail).
function connectionWords(state, detail) {
  if (state === "connecting") return "Connecting…";
  if (state === "connected") return "Connected";
  return `Connection lost. Reconnecting in ${detail.delay} s…`;
}

// Shows a state on the page's connection indicator: its words, and `data-state` for styling and the tests.
export function showConnectionIn(indicator, state, detail) {
  indicator.dataset.state = state;
  indicator.textContent = connectionWords(state, detail);
}

export class Connection {
  // handlers: onState(state, detail), onEvent(event), onAudio(header, pcm ArrayBuffer)
  // states: "connecting", "connected", "reconnecting" ({delay, code}).
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.ws = null;
    this.openedUrl = null; // of the socket in this.ws
    this.attempt = 0;
    this.retryTimer = null;
  }

  open() {
    clearTimeout(this.retryTimer);
    this.handlers.onState("connecting");
    const ws = new WebSocket(this.url);
    this.openedUrl = this.url;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.attempt = 0;
      this.handlers.onState("connected");
    };
    ws.onmessage = ({ data }) => (typeof data === "string" ? this.text(data) : this.audio(data));
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const base = BACKOFF_S[Math.min(this.attempt, BACKOFF_S.length - 1)];
      const delay = Math.round(base * (0.8 + 0.4 * Math.random()) * 10) / 10;
      this.attempt++;
      this.handlers.onState("reconnecting", { delay, code: event.code });
      this.retryTimer = setTimeout(() => this.open(), delay * 1000);
    };
    this.ws = ws;
  }

  // Where the next connection goes (a room's speaker comes back on /ws/rooms/ID). With now: a socket open
  // elsewhere is closed and the page connects here at once (a room's socket takes no `start`).
  moveTo(url, { now = false } = {}) {
    this.url = url;
    if (!now || this.ws === null || this.openedUrl === url) return;
    const ws = this.ws;
    this.ws = null; // its close is not a drop: no reconnection
    ws.close(1000);
    this.open();
  }

  // Skips the wait of a pending reconnection (e.g. when the network comes back).
  retryNow() {
    if (this.ws === null) this.open();
  }

  text(data) {
    let event;
    try {
      event = JSON.parse(data);
    } catch (_) {
      console.warn("ignoring a text frame that is not JSON", data);
      return;
    }
    this.handlers.onEvent(event);
  }

  audio(data) {
    if (data.byteLength < AUDIO_HEADER_BYTES) return;
    const view = new DataView(data);
    const header = {
      segmentId: view.getUint32(0, true),
      sequence: view.getUint32(4, true),
      inputOffsetMs: view.getUint32(8, true),
    };
    this.handlers.onAudio(header, data.slice(AUDIO_HEADER_BYTES));
  }

  get ready() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  // Sends a JSON event (object) or audio (ArrayBuffer). False when it was not sent: no open
  // socket, or audio while the network is this far behind (dropped, not queued without bound).
  send(message) {
    if (!this.ready) return false;
    if (message instanceof ArrayBuffer) {
      if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) return false;
      this.ws.send(message);
    } else {
      this.ws.send(JSON.stringify(message));
    }
    return true;
  }
}
