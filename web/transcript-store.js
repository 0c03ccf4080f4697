// The record of what was said and translated since the last clear: one entry per segment with
// both sides' text, when the speech was (input time) and when its translation played, and the
// worker's latency figures. The transcript views, the lag timeline and the downloads all read it;
// it is saved in localStorage, so a reload of the page keeps it.
//
// Times are on one clock: milliseconds of input audio since the record began. Each session's
// input offsets (docs/protocol.md) start at 0, so a new session continues where the last ended.

const STORAGE_KEY = "s2st.transcript";
const STORAGE_VERSION = 1;
const SAVE_DELAY_MS = 500; // changes within this are saved together (partials come several a second)

const hasText = (entry) => entry.source !== null || entry.target !== null;

export class TranscriptStore {
  // onChange(): after every change. onSaveFailed(error): the browser would not keep it.
  // storageKey: where it is saved; null: nowhere (a room's listener: the room gives the transcript so far).
  constructor({ onChange = () => {}, onSaveFailed = () => {}, storageKey = STORAGE_KEY } = {}) {
    this.onChange = onChange;
    this.storageKey = storageKey;
    this.onSaveFailed = onSaveFailed;
    this.segments = []; // in order of their first event
    this.byKey = new Map();
    this.session = 0; // sessions since the page loaded; keys them apart (segment ids restart)
    this.base = 0; // clock time at which the current session's input began
    this.clock = 0; // the latest clock time any event reached
    this.saveTimer = null;
    addEventListener("pagehide", () => this.save());
  }

  // Reads what an earlier visit saved; false when there was nothing (or nothing readable).
  load() {
    let saved;
    if (this.storageKey === null) return false;
    try {
      saved = JSON.parse(localStorage.getItem(this.storageKey));
    } catch (_) {
      return false;
    }
    if (saved?.version !== STORAGE_VERSION || !Array.isArray(saved.segments) || !Number.isFinite(saved.clock)) return false;
    for (const entry of saved.segments) this.add(entry);
    this.base = this.clock = saved.clock;
    this.session = Math.max(0, ...this.segments.map((entry) => entry.session));
    return this.segments.length > 0;
  }

  // Call before a `start`: the events that follow belong to a new session.
  newSession() {
    this.session++;
    this.base = this.clock;
  }

  // A `speech` event.
  speech({ segment_id: id, state, input_offset_ms: offset }) {
    const entry = this.entry(id, offset);
    if (state === "started") entry.startMs = this.at(offset);
    else entry.endMs = this.at(offset);
    this.changed();
  }

  // A `transcript` event; returns its entry.
  transcript({ segment_id: id, side, text, final, language, confidence = null, input_offset_ms: offset }) {
    const entry = this.entry(id, offset);
    entry[side] = { text, final, language, confidence };
    this.changed();
    return entry;
  }

  // A chunk of translated speech, durationMs long, produced at the header's input offset. Until
  // the segment's `stats` say better, it plays right after the chunks before it.
  audio({ segmentId: id, inputOffsetMs: offset }, durationMs) {
    const entry = this.entry(id, offset);
    const start = Math.max(entry.outputEndMs ?? 0, this.at(offset));
    entry.outputStartMs ??= start;
    entry.outputEndMs = start + durationMs;
    this.changed(false);
  }

  // A `stats` event: the worker's own measure of when the translation started and ended playing.
  stats({ segment_id: id, first_output_latency_ms: firstOutput, ending_offset_ms: ending, input_offset_ms: offset }) {
    const entry = this.entry(id, offset);
    entry.firstOutputLatencyMs = firstOutput;
    entry.endingOffsetMs = ending;
    entry.endMs ??= this.at(offset);
    if (firstOutput !== null) entry.outputStartMs = entry.startMs + firstOutput;
    if (ending !== null) entry.outputEndMs = entry.endMs + ending;
    this.changed();
  }

  // Forgets the sides still partial (no final will come for them), so downloads hold only what settled.
  dropPartials() {
    for (const entry of this.segments) {
      for (const side of ["source", "target"]) if (entry[side] && !entry[side].final) entry[side] = null;
    }
    this.changed();
  }

  // Forgets everything, saved copy included; the clock restarts at 0 (a live session goes on).
  clear() {
    this.segments = [];
    this.byKey.clear();
    this.base -= this.clock;
    this.clock = 0;
    this.changed();
    this.save();
  }

  // The latest segment with latency figures (the page's First output / Ending offset readout), or null.
  get lastMeasured() {
    return this.segments.findLast((entry) => entry.firstOutputLatencyMs !== null || entry.endingOffsetMs !== null) ?? null;
  }

  // Segments that have text on either side.
  get spoken() {
    return this.segments.filter(hasText);
  }

  get hasText() {
    return this.segments.some(hasText);
  }

  // ---- inside ----

  at(offsetMs) {
    const time = this.base + offsetMs;
    this.clock = Math.max(this.clock, time);
    return time;
  }

  entry(id, offsetMs) {
    const key = `${this.session}:${id}`;
    return this.byKey.get(key) ?? this.add({ key, session: this.session, segmentId: id, startMs: this.at(offsetMs) });
  }

  add(fields) {
    const entry = {
      key: "", session: 0, segmentId: 0, startMs: 0, endMs: null, source: null, target: null,
      outputStartMs: null, outputEndMs: null, firstOutputLatencyMs: null, endingOffsetMs: null, ...fields,
    };
    this.segments.push(entry);
    this.byKey.set(entry.key, entry);
    return entry;
  }

  changed(worthSaving = true) {
    this.onChange();
    if (worthSaving && this.saveTimer === null) this.saveTimer = setTimeout(() => this.save(), SAVE_DELAY_MS);
  }

  save() {
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (this.storageKey === null) return;
    try {
      if (this.segments.length === 0) localStorage.removeItem(this.storageKey);
      else localStorage.setItem(this.storageKey, JSON.stringify({ version: STORAGE_VERSION, clock: this.clock, segments: this.segments }));
    } catch (error) {
      this.onSaveFailed(error); // storage full, or turned off (some private windows)
    }
  }
}
