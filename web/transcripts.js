// Live transcripts: one line per segment and side. A partial replaces the previous partial of
// its segment (styled apart), a final settles it. Segment ids restart with each session, so
// lines are keyed by session too; earlier sessions' lines stay on the page.

export class TranscriptView {
  // announce(text): called with each final line (a screen-reader live region).
  constructor(list, announce = () => {}) {
    this.list = list;
    this.announce = announce;
    this.lines = new Map();
    this.session = 0;
  }

  update({ segment_id: segmentId, text, final }) {
    const key = `${this.session}:${segmentId}`;
    let line = this.lines.get(key);
    if (!line) {
      line = document.createElement("li");
      this.lines.set(key, line);
      this.list.append(line);
    }
    line.textContent = text;
    line.classList.toggle("partial", !final);
    if (final) this.announce(text);
    this.list.scrollTop = this.list.scrollHeight;
  }

  newSession() {
    this.session++;
  }

  clear() {
    this.list.replaceChildren();
    this.lines.clear();
  }
}
