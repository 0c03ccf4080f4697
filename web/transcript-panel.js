// The controls that keep the transcript: download it as text, SRT or JSON, copy it, clear it
// (the copy saved in this browser too).

import { asJson, asSrt, asText } from "./transcript-export.js";

const FORMATS = {
  txt: { write: asText, type: "text/plain" },
  srt: { write: asSrt, type: "application/x-subrip" },
  json: { write: asJson, type: "application/json" },
};
const KEPT = "Kept in this browser until you press Clear.";
const NOT_KEPT = "Not kept when you leave this page: download it to keep it.";
const DOWNLOAD_URL_LIFETIME_MS = 10_000; // the file's object URL outlives the click that saves it

export class TranscriptPanel {
  // elements: {downloads: buttons with data-format, copy, clear, note}; onClear(): forget it all.
  // kept: the store saves it in this browser (a room's listener's does not).
  constructor({ downloads, copy, clear, note }, store, onClear, { kept = true } = {}) {
    this.store = store;
    this.kept = kept ? KEPT : NOT_KEPT;
    this.keepers = [...downloads, copy];
    this.clearButton = clear;
    this.note = note;
    for (const button of downloads) button.addEventListener("click", () => this.download(button.dataset.format));
    copy.addEventListener("click", () => this.copy());
    clear.addEventListener("click", onClear);
    this.say(this.kept);
  }

  // Enables downloads and copying when there is a line to keep, Clear when there is anything.
  refresh() {
    const nothingSaid = !this.store.hasText;
    for (const button of this.keepers) button.disabled = nothingSaid;
    this.clearButton.disabled = this.store.segments.length === 0;
  }

  say(text) {
    this.note.textContent = text;
  }

  download(format) {
    const { write, type } = FORMATS[format];
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([write(this.store.spoken)], { type: `${type};charset=utf-8` }));
    link.download = `transcript-${new Date().toISOString().slice(0, 16).replace(/[T:]/g, "-")}.${format}`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), DOWNLOAD_URL_LIFETIME_MS);
  }

  async copy() {
    try {
      await navigator.clipboard.writeText(asText(this.store.spoken));
      this.say("Copied. " + this.kept);
    } catch (_) {
      this.say("The browser did not allow copying. Use a download instead.");
    }
  }

  // The browser would not save the transcript (storage full, or turned off in a private window).
  saveFailed() {
    this.say("This browser would not keep the transcript. Download it to keep it.");
  }
}
