// The WebSocket to the gateway (docs/protocol.md, version 1), reconnecting with backoff.

const BACKOFF_S = [0.5, 1, 2, 4, 8];
const AUDIO_HEADER_BYTES = 12;

export class Connection {
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers; // {onState(state, detail), onEvent(event), onAudio(header, pcm)}
    this.ws = null;
    this.attempt = 0;
    this.closedByUser = false;
    this.retryTimer = null;
  }

  open() {
    this.closedByUser = false;
    this.handlers.onState("connecting");
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.attempt = 0;
      this.handlers.onState("connected");
    };
    ws.onmessage = ({ data }) => {
      if (typeof data === "string") {
        this.handlers.onEvent(JSON.parse(data));
        return;
      }
      const view = new DataView(data);
      const header = {
        segmentId: view.getUint32(0, true),
        sequence: view.getUint32(4, true),
        inputOffsetMs: view.getUint32(8, true),
      };
      this.handlers.onAudio(header, data.slice(AUDIO_HEADER_BYTES));
    };
    ws.onclose = (event) => {
      this.ws = null;
      if (this.closedByUser) {
        this.handlers.onState("disconnected");
        return;
      }
      const delay = BACKOFF_S[Math.min(this.attempt, BACKOFF_S.length - 1)];
      this.attempt++;
      this.handlers.onState("reconnecting", { delay, code: event.code });
      this.retryTimer = setTimeout(() => this.open(), delay * 1000);
    };
    this.ws = ws;
  }

  get ready() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (!this.ready) return false;
    this.ws.send(message instanceof ArrayBuffer ? message : JSON.stringify(message));
    return true;
  }

  close() {
    this.closedByUser = true;
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(1000);
  }
}
