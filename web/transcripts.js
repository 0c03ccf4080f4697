// Live transcripts: one line per segment and side, keyed by the transcript store's entry key
// (segment ids restart with each session). A partial replaces the line's text and is styled
// apart; a final settles it, marked quietly when the engine was unsure of it.

// A final whose `confidence` (docs/protocol.md) is below this is marked. The lite engine's figures: clean
// speech 0.47-0.81, speech under loud noise 0.30-0.43, speech decoded in the wrong language 0.17-0.19.
export const LOW_CONFIDENCE = 0.4;
const UNSURE_TITLE = "The engine was unsure of this line";

export class TranscriptView {
  // announce(text): called with each final line (a screen-reader live region).
  constructor(list, announce = () => {}) {
    this.list = list;
    this.announce = announce;
    this.lines = new Map();
  }

  // quiet: not announced (lines restored from an earlier visit).
  update(key, { text, final, confidence }, { quiet = false } = {}) {
    let line = this.lines.get(key);
    if (!line) {
      line = document.createElement("li");
      this.lines.set(key, line);
      this.list.append(line);
    }
    line.textContent = text;
    line.classList.toggle("partial", !final);
    const unsure = final && typeof confidence === "number" && confidence < LOW_CONFIDENCE;
    line.classList.toggle("unsure", unsure);
    if (unsure) line.title = UNSURE_TITLE;
    else line.removeAttribute("title");
    if (final && !quiet) this.announce(text);
    this.list.scrollTop = this.list.scrollHeight;
  }

  // Removes the lines still partial: no final will come for them (the listener left, the room or its
  // speaker went away), and a grey line that never settles reads as text still on its way.
  dropPartials() {
    for (const [key, line] of this.lines) {
      if (!line.classList.contains("partial")) continue;
      line.remove();
      this.lines.delete(key);
    }
  }

  clear() {
    this.list.replaceChildren();
    this.lines.clear();
  }
}
