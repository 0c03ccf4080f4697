// Live transcripts: one line per segment and side, keyed by the transcript store's entry key
// (segment ids restart with each session). A partial replaces the line's text and is styled
// apart; a final settles it.

export class TranscriptView {
  // announce(text): called with each final line (a screen-reader live region).
  constructor(list, announce = () => {}) {
    this.list = list;
    this.announce = announce;
    this.lines = new Map();
  }

  // quiet: not announced (lines restored from an earlier visit).
  update(key, { text, final }, { quiet = false } = {}) {
    let line = this.lines.get(key);
    if (!line) {
      line = document.createElement("li");
      this.lines.set(key, line);
      this.list.append(line);
    }
    line.textContent = text;
    line.classList.toggle("partial", !final);
    if (final && !quiet) this.announce(text);
    this.list.scrollTop = this.list.scrollHeight;
  }

  clear() {
    this.list.replaceChildren();
    this.lines.clear();
  }
}
