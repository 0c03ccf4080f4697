// Live transcripts: one line per segment and side; a partial is replaced by the next, a final settles it.

export class TranscriptView {
  constructor(list) {
    this.list = list;
    this.lines = new Map(); // segment id -> <li>
  }

  update({ segment_id: segmentId, text, final }) {
    let line = this.lines.get(segmentId);
    if (!line) {
      line = document.createElement("li");
      this.lines.set(segmentId, line);
      this.list.append(line);
    }
    line.textContent = text;
    line.classList.toggle("partial", !final);
    line.scrollIntoView({ block: "nearest" });
  }

  newSession() {
    // Segment ids restart with each session: keep the old lines, forget their ids.
    this.lines = new Map();
  }

  clear() {
    this.list.replaceChildren();
    this.lines = new Map();
  }
}
