// The speaker's "Share with listeners" panel: the languages a room offers (at most MAX_LANGUAGES), then,
// once the room is open, its listener link (Copy, QR code), how many listen in each language, and the
// Revoke link button; End room, which sits with the page's Start and Stop. It only shows and asks; app.js talks to the gateway.

import { listenerLink, qrCodeUrl } from "./room-links.js";

export const MAX_LANGUAGES = 4; // S2ST_ROOM_MAX_LANGUAGES's default: each language listened to is a worker stream

export class RoomShare {
  // elements: {languages: fieldset, open, panel, link, copy, note, qr, counts, total, revoke, end};
  // actions: {onOpen(), onRevoke(), onEnd()}.
  constructor(elements, { onOpen, onRevoke, onEnd }) {
    this.ui = elements;
    this.names = new Map(); // language code -> name
    this.boxes = [];
    this.idle = false; // no session or room runs
    this.live = false; // a room runs and this page is its speaker
    this.returning = false; // opened by a speaker link
    elements.open.addEventListener("click", onOpen);
    elements.revoke.addEventListener("click", onRevoke);
    elements.end.addEventListener("click", onEnd);
    elements.copy.addEventListener("click", () => this.copy());
  }

  // The languages a room may offer ({code, name}), with `preferred` ticked.
  fillLanguages(languages, preferred) {
    for (const { code, name } of languages) {
      this.names.set(code, name);
      const label = document.createElement("label");
      label.className = "check";
      const box = Object.assign(document.createElement("input"), { type: "checkbox", value: code, checked: code === preferred });
      box.addEventListener("change", () => this.enable(this.idle));
      label.append(box, ` ${name}`);
      this.ui.languages.append(label);
      this.boxes.push(box);
    }
  }

  get languages() {
    return this.boxes.filter((box) => box.checked).map((box) => box.value);
  }

  // idle: no session or room runs, so a room may be opened (and its languages chosen).
  enable(idle, live = this.live) {
    this.idle = idle;
    this.live = live;
    const full = this.languages.length >= MAX_LANGUAGES;
    for (const box of this.boxes) box.disabled = !idle || (full && !box.checked);
    this.ui.open.disabled = !idle || (this.languages.length === 0 && !this.returning);
    this.ui.revoke.disabled = this.ui.end.disabled = !live;
    this.ui.end.hidden = !live; // beside Pause at the top, where a phone shows it, only while a room runs
  }

  // The page was opened by a speaker link: Open speaks in that room again (its languages are set).
  comingBack() {
    this.returning = true;
    this.ui.open.textContent = "Speak in the room again";
  }

  // A `room` event: its listener link, as text and QR code (again after a revoke: a new link).
  show(room) {
    const link = listenerLink(room);
    const changed = this.ui.link.value !== "" && this.ui.link.value !== link;
    this.ui.panel.hidden = false;
    this.ui.link.value = link;
    this.ui.qr.src = qrCodeUrl(link);
    this.ui.panel.dataset.room = room.room_id;
    if (this.counted === undefined || this.counted.room !== room.room_id) {
      this.counted = { room: room.room_id, languages: room.languages };
      this.showCounts({ counts: {}, total: 0 });
    }
    this.say(changed ? "A new link: whoever joined with the old one was removed." : "Share this link with your listeners.");
  }

  // A `listeners` event: how many listen in each of the room's languages.
  showCounts({ counts, total }) {
    const items = this.counted.languages.map((code) => {
      const item = document.createElement("li");
      item.dataset.language = code;
      item.textContent = `${this.names.get(code) ?? code}: ${counts[code] ?? 0}`;
      return item;
    });
    this.ui.counts.replaceChildren(...items);
    this.ui.total.textContent = total === 1 ? "1 listener" : `${total} listeners`;
  }

  // The room ended (words: errors.js's roomEndedWords).
  ended(words) {
    this.returning = false;
    this.ui.open.textContent = "Open a room";
    this.enable(this.idle, false);
    this.ui.link.value = "";
    this.ui.qr.removeAttribute("src");
    this.ui.panel.hidden = true;
    this.counted = undefined;
    this.say(words.text);
  }

  async copy() {
    try {
      await navigator.clipboard.writeText(this.ui.link.value);
      this.say("Copied. Share it with your listeners.");
    } catch (_) {
      // No clipboard access (an http page other than localhost, or a browser that asks): select it instead.
      this.ui.link.focus();
      this.ui.link.select();
      this.say("The link is selected: press Ctrl+C (⌘C on a Mac) to copy it.");
    }
  }

  say(text) {
    this.ui.note.textContent = text;
  }
}
