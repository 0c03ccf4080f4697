// The page: language pickers, Start / Stop / Reset, level meter, transcripts, latency, errors; or, instead
// of a one-to-one session, a room this page speaks in (Share with listeners: room-share.js).
// Data path: microphone -> Capture -> Uplink -> Connection.send -> gateway;
//            gateway -> Connection -> onEvent (transcripts, status, stats, room, listeners) / onAudio -> Playback;
//            events -> TranscriptStore -> transcript views, lag timeline, downloads.

import { Capture, CAPTURE_RATE } from "./capture.js";
import { Connection, showConnectionIn } from "./connection.js";
import { showCloseWordsIn, showErrorIn } from "./error-banner.js";
import { languagesWords, microphoneWords, resumingWords, roomEndedWords, serverErrorWords } from "./errors.js";
import { LanguageHintBanner } from "./language-hint.js";
import { fillPickers } from "./language-pickers.js";
import { OutputControls } from "./output-controls.js";
import { enterPhase } from "./page-phase.js";
import { JITTER_MS, Playback } from "./playback.js";
import { remember, wanted } from "./preferences.js";
import { resumable, startsOnNextSocket } from "./resume.js";
import { addressFor, fetchApi, roomAddress, roomSocketUrl, socketUrl } from "./room-links.js";
import { RoomShare } from "./room-share.js";
import { speakerState } from "./session-state.js";
import { LagTimeline } from "./timeline.js";
import { TranscriptPanel } from "./transcript-panel.js";
import { TranscriptStore } from "./transcript-store.js";
import { TranscriptView } from "./transcripts.js";
import { Uplink } from "./uplink.js";

const LANGUAGES_RETRY_S = 3;
const DEFAULT_OUTPUT_RATE = 16000; // until a `ready` event says otherwise
const LISTENING = "Listening. Speak now.";
const ROOM_OPEN = "The room is open. Speak now.";

const $ = (id) => document.getElementById(id);
const ui = {
  connection: $("connection-state"), source: $("source-language"), target: $("target-language"),
  start: $("start"), stop: $("stop"), reset: $("reset"), headphones: $("headphones"), level: $("level"),
  status: $("session-status"), error: $("error"), errorText: $("error-text"), errorDetails: $("error-details"),
  firstOutput: $("first-output"), endingOffset: $("ending-offset"), announcer: $("announcer"),
  // What acts only on speech played here: a room's speaker hears nothing back, so a room hides them.
  playedHere: [document.querySelector(".output"), $("headphones").closest("label")],
};
const announce = (text) => (ui.announcer.textContent = text);
const sourceView = new TranscriptView($("source-transcript"));
const targetView = new TranscriptView($("target-transcript"), announce);
const store = new TranscriptStore({ onChange: transcriptChanged, onSaveFailed: () => panel.saveFailed() });
const timeline = new LagTimeline($("timeline"), store);
const panel = new TranscriptPanel({
  downloads: document.querySelectorAll("#downloads button"), copy: $("copy-transcript"), clear: $("clear-transcript"),
  note: $("transcript-note"),
}, store, clearTranscript);
const share = new RoomShare({
  languages: $("room-languages"), open: $("open-room"), panel: $("room-share"), link: $("listener-link"),
  copy: $("copy-link"), note: $("room-note"), qr: $("listener-qr"), counts: $("listener-counts"),
  total: $("listener-total"), revoke: $("revoke-link"), end: $("end-room"),
}, { onOpen: openRoom, onRevoke: revokeLink, onEnd: endRoom });
const hint = new LanguageHintBanner({
  banner: $("language-hint"), text: $("language-hint-text"), accept: $("switch-language"), dismiss: $("dismiss-language-hint"),
}, switchSource);
const output = new OutputControls({ volume: $("volume"), mute: $("mute"), speaking: $("speaking") },
  (gain) => state.playback?.setGain(gain));

// Test and troubleshooting hook (docs/web-client.md): counters; with `record = true` set before
// Start, also the PCM sent (Int16 ArrayBuffers), received (same) and played (Float32Arrays).
const debug = (window.s2stDebug = {
  record: false, sentFrames: 0, sentSamples: 0, receivedChunks: 0, sequenceErrors: 0, gatedFrames: 0, heldChunks: 0,
  playedSamples: 0, audibleSamples: 0, echoCancellation: null, sent: [], received: [], played: [],
  spokenSegments: [], // "session:segment" of every segment whose translated speech arrived
  ...window.s2stDebug, // what a test set before this module loaded (main.js)
});

// A speaker link (`?room=ID&speak=KEY`) comes back to its room: its socket, and `speak` at Open.
const spoken = roomAddress();
const connection = new Connection(spoken.speak ? roomSocketUrl(spoken.room) : socketUrl("/ws"), { onState, onEvent, onAudio });

// The session this page runs, in one place: every field documented in session-state.js.
const state = speakerState(spoken);
const uplink = new Uplink(state, connection, {
  headphones: ui.headphones, debug,
  onSlowNetwork: () => showError({ text: "The network is too slow for live audio; some of your speech was dropped." }),
});

// ---- page state ---------------------------------------------------------------------------

function showError(words, from = "") {
  showErrorIn(ui, words, from);
}

function setStatus(text) {
  ui.status.textContent = text;
}

function setPhase(next) {
  enterPhase(state, next, [ui.stop, ui.start, ui.reset], () => {
    const room = state.mode === "room";
    ui.start.disabled = next !== "idle" || !state.languagesLoaded || state.room !== null;
    const roomRuns = room && (next === "live" || next === "paused");
    ui.stop.disabled = room ? !roomRuns : next !== "starting" && next !== "live";
    ui.stop.textContent = !room ? "Stop" : next === "paused" ? "Resume" : "Pause"; // a room's Stop pauses its microphone
    share.enable(next === "idle" && state.languagesLoaded, roomRuns);
    for (const element of ui.playedHere) element.hidden = room && next !== "idle";
    ui.source.disabled = next !== "idle" || ui.source.dataset.fixed === "true";
    ui.target.disabled = ui.headphones.disabled = next !== "idle";
  });
}

function onState(socket, detail) {
  showConnectionIn(ui.connection, socket, detail);
  if (socket === "connected") {
    if (ui.error.dataset.from === "connection") showError(null);
    if (!state.languagesLoaded) loadLanguages();
    if (["starting", "live", "paused"].includes(state.phase)) sendOpening(); // resume after a reconnect
  }
  if (socket === "reconnecting") {
    // Words that say more stay: a session's fatal error, a language list refused for want of a token, a drained
    // session that goes on.
    if (!["session", "languages", "resuming"].includes(ui.error.dataset.from)) showCloseWordsIn(ui, detail.code);
    sessionLost();
    if (state.phase === "stopping" && state.mode === "room") roomEnded("ended"); // it ends without us
    else if (state.phase === "stopping") finishSession("Stopped");
    else if (state.phase === "live") setPhase("starting");
  }
}

// The session on the socket is gone (a drop, a drain): what the microphone captured waits for the next one.
function sessionLost() {
  state.ready = null;
  state.startSent = false;
  state.switching = false;
  state.roomLive = false; // the room waits for its speaker (S2ST_ROOM_GRACE_SECONDS)
  uplink.keepUnsent();
}

// A drain ended a live session (resume.js): a new one goes on with the microphone and the transcript.
function resumeSession(event) {
  showError(resumingWords(event), "resuming"); // gone at the next `ready`
  sessionLost();
  setPhase("starting");
  setStatus("Reconnecting: the session goes on in a moment…");
  if (!startsOnNextSocket(event)) sendStart();
}

// ---- events from the server -----------------------------------------------------------------

function onEvent(event) {
  switch (event.type) {
    case "ready":
      state.ready = event;
      state.startSent = false;
      if (state.phase === "stopping") {
        connection.send({ type: "stop" }); // Stop was pressed before the session opened
        return;
      }
      setPhase("live");
      setStatus(LISTENING);
      showError(null);
      state.playback?.prepare(event.output_sample_rate).catch(() => {}); // a new rate: a new graph
      uplink.start(event.input_step_ms);
      break;
    case "transcript":
      if (!state.discarding) (event.side === "source" ? sourceView : targetView).update(store.transcript(event).key, event);
      break;
    case "speech":
      if (state.discarding) break;
      store.speech(event);
      state.inFlight.add(event.segment_id);
      if (state.phase === "live") setStatus(event.state === "started" ? "Hearing speech…" : "Translating…");
      break;
    case "stats":
      if (state.discarding) break;
      store.stats(event);
      showLatency(event);
      state.inFlight.delete(event.segment_id);
      settleStatus();
      break;
    case "language_hint":
      if (!state.discarding && state.ready !== null) hint.show(event.language, languageName(event.language));
      break;
    case "reset_done":
      state.discarding = false;
      break;
    case "ended":
      state.ready = null;
      if (state.phase === "stopping") finishSession("Stopped");
      else if (state.switching) {
        state.switching = false;
        sendStart(); // the microphone kept capturing: what it heard meanwhile goes first
      }
      break;
    case "room": // the room opened, this page is its speaker again, or its listener link was revoked
      roomOpened(event);
      break;
    case "listeners":
      if (state.room !== null) share.showCounts(event);
      break;
    case "room_ended":
      roomEnded(event.reason);
      break;
    case "error":
      if (state.mode === "room") {
        roomError(event);
        break;
      }
      if (resumable(event, state.phase)) {
        resumeSession(event);
        break;
      }
      // A fatal error of a running session is kept through the reconnection that may follow it.
      showError(serverErrorWords(event), event.fatal && state.phase !== "idle" ? "session" : "");
      if (!event.fatal) break;
      state.ready = null;
      state.startSent = false;
      // Refused (busy, ...) before `ready`: it never started. An idle page (a gateway restarting) keeps its words.
      if (state.phase !== "idle") finishSession(state.phase === "starting" ? "Not started." : "Stopped");
      break;
    default:
      break; // events of later protocol versions
  }
}

function onAudio(header, pcm) {
  if (state.discarding || state.ready === null) return;
  if (header.sequence !== state.expectedSequence) debug.sequenceErrors++;
  state.expectedSequence = header.sequence + 1;
  debug.receivedChunks++;
  const spoken = `${state.ready.session_id}:${header.segmentId}`;
  if (!debug.spokenSegments.includes(spoken)) debug.spokenSegments.push(spoken);
  if (debug.record) debug.received.push(pcm);
  const durationMs = (1000 * pcm.byteLength) / 2 / state.ready.output_sample_rate;
  store.audio(header, durationMs);
  state.playsUntil = Math.max(state.playsUntil, performance.now() + JITTER_MS) + durationMs;
  if (state.playback.enqueue(pcm)) debug.heldChunks++;
}

// Back to "Listening" once every segment heard is finished and its translated speech has played.
function settleStatus() {
  clearTimeout(state.settleTimer);
  if (state.phase !== "live" || state.inFlight.size > 0) return;
  const waitMs = state.playsUntil - performance.now();
  if (waitMs > 0) state.settleTimer = setTimeout(settleStatus, waitMs);
  else if (!state.playback?.busy) setStatus(speakNow()); // speech held back or playing: its end calls again
}

function speakNow() {
  return state.mode === "room" ? ROOM_OPEN : LISTENING;
}

function onSpeaking(playing) {
  output.showSpeaking(playing);
  if (!playing) settleStatus();
}

function showLatency({ first_output_latency_ms: firstOutput, ending_offset_ms: ending }) {
  ui.firstOutput.textContent = formatMs(firstOutput);
  ui.endingOffset.textContent = formatMs(ending);
}

function onTap({ samples, audible, blocks }) {
  debug.playedSamples = samples;
  debug.audibleSamples = audible;
  if (debug.record) debug.played.push(...blocks);
}

function formatMs(value) {
  return value === null || value === undefined ? "–" : `${(value / 1000).toFixed(2)} s`;
}

// ---- the microphone (its audio goes to the server through uplink.js) -------------------------

function onLevel(rms) {
  // -60 dBFS .. 0 dBFS onto the meter, as people hear loudness.
  ui.level.value = rms > 0 ? Math.max(0, Math.min(1, 1 + Math.log10(rms) / 3)) : 0;
}

// ---- buttons --------------------------------------------------------------------------------

function sendStart() {
  if (state.startSent || state.ready !== null || !connection.ready) return;
  store.newSession();
  hint.hide();
  state.expectedSequence = 0;
  state.discarding = false;
  state.inFlight.clear();
  const target = ui.target.value;
  state.startSent = connection.send({
    type: "start", target_language: target, source_language: ui.source.value || null,
    sample_rate: CAPTURE_RATE, speech_output: state.speechTargets.size === 0 || state.speechTargets.has(target),
    client_label: "web",
  });
  setStatus("Starting…");
}

function start() {
  return begin("session");
}

// mode: "session" (Start) or "room" (Open a room: the speaker hears nothing back, so no playback).
async function begin(mode) {
  if (state.phase !== "idle") return;
  showError(null);
  if (!navigator.mediaDevices?.getUserMedia) {
    showError(microphoneWords(null));
    return;
  }
  state.mode = mode;
  setPhase("starting");
  setStatus("Opening the microphone…");
  const opening = [];
  if (mode === "session") {
    state.playback ??= new Playback(onTap, { record: debug.record, gain: output.gain, onSpeaking });
    opening.push(state.playback.prepare(state.ready?.output_sample_rate ?? state.playback.rate ?? DEFAULT_OUTPUT_RATE));
  }
  state.capture = new Capture((pcm, level) => uplink.frame(pcm, level), onLevel);
  try {
    // The AudioContexts are made synchronously here, inside the click.
    opening.push(state.capture.start({ headphones: ui.headphones.checked }));
    await Promise.all(opening);
  } catch (error) {
    state.capture.stop();
    state.capture = null;
    setPhase("idle");
    setStatus("Idle");
    showError(microphoneWords(error));
    return;
  }
  if (state.phase !== "starting") return; // stopped while the microphone opened
  debug.echoCancellation = state.capture.stream.getAudioTracks()[0].getSettings().echoCancellation;
  if (connection.ready) sendOpening();
  else setStatus("Waiting for the connection…");
}

function sendOpening() {
  if (state.mode === "room") sendRoomRequest();
  else sendStart();
}

function stopCapture() {
  state.capture?.stop();
  state.capture = null;
  state.playback?.hold(false); // no one talks into a closed microphone
  state.pending = []; // what waited for a session goes with the microphone
}

function stop() {
  if (state.mode === "room") return pauseOrResume();
  if (state.phase !== "starting" && state.phase !== "live") return;
  if (state.ready !== null) uplink.flush();
  stopCapture();
  if (state.ready !== null) {
    connection.send({ type: "stop" });
    setPhase("stopping");
    setStatus("Finishing the translation…");
  } else if (state.startSent) {
    setPhase("stopping"); // `stop` follows the `ready`
    setStatus("Finishing…");
  } else {
    finishSession("Idle");
  }
}

function finishSession(status) {
  state.switching = false;
  stopCapture();
  setPhase("idle");
  setStatus(status);
}

// ---- a room this page speaks in ----------------------------------------------------------------

function openRoom() {
  return begin("room");
}

// `create_room`, or `speak` to come back to the room (after a dropped connection, or from a speaker link).
function sendRoomRequest() {
  if (state.startSent || state.roomLive || !connection.ready) return;
  if (state.room === null) {
    store.newSession();
    state.startSent = connection.send({
      type: "create_room", languages: share.languages, source_language: ui.source.value || null, sample_rate: CAPTURE_RATE,
    });
    setStatus("Opening the room…");
  } else {
    state.startSent = connection.send({ type: "speak", key: state.room.speaker_key });
    setStatus("Coming back to the room…");
  }
}

// Pause: the microphone closes and the room's streams finish what was said (`stop`); the room stays open and
// its listeners stay. Resume: the microphone opens again (inside the click, as browsers want).
async function pauseOrResume() {
  if (state.phase === "live") {
    uplink.flush();
    stopCapture();
    connection.send({ type: "stop" });
    setPhase("paused");
    setStatus("Microphone paused. The room stays open and your listeners stay; press Resume to speak again.");
    return;
  }
  if (state.phase !== "paused") return;
  state.capture = new Capture((pcm, level) => uplink.frame(pcm, level), onLevel);
  setPhase("live");
  setStatus(ROOM_OPEN);
  try {
    await state.capture.start({ headphones: ui.headphones.checked });
  } catch (error) {
    stopCapture();
    setPhase("paused");
    showError(microphoneWords(error));
  }
}

function roomOpened(room) {
  state.room = room;
  state.startSent = false;
  share.show(room);
  // A dropped connection comes back on the room's own socket (the gateway process that holds it); a
  // reload comes back as the speaker through the address.
  connection.moveTo(roomSocketUrl(room.room_id));
  history.replaceState(history.state, "", addressFor(room));
  if (state.phase === "paused") state.roomLive = true; // back after a drop, the microphone still paused
  if (state.phase !== "starting") return; // a revoked link's new key
  state.roomLive = true;
  setPhase("live");
  setStatus(ROOM_OPEN);
  showError(null);
  uplink.start(0); // the engines' step is not known here: the capture's frames
}

function revokeLink() {
  if (state.roomLive) connection.send({ type: "revoke_listener_link" });
}

function endRoom() {
  if (state.mode !== "room" || (state.phase !== "live" && state.phase !== "paused")) return;
  uplink.flush();
  stopCapture();
  connection.send({ type: "end_room" });
  setPhase("stopping");
  setStatus("Ending the room: the last words are being translated…");
}

// The room is over for this page; the socket goes back to `/ws`, ready for a session or another room.
function roomEnded(reason) {
  const words = reason === "ended" ? { text: "The room has ended." } : roomEndedWords(reason); // ended by this page
  state.room = null;
  state.roomLive = state.startSent = false;
  uplink.clear();
  share.ended(words);
  history.replaceState(history.state, "", addressFor(null));
  connection.moveTo(socketUrl("/ws"), { now: true });
  state.mode = "session";
  finishSession(words.text);
}

// An error while this page opens or speaks in a room. A refused `create_room` or `speak` leaves the page
// idle (a room that is gone, forgotten); in a live room the error is only shown: the room goes on.
function roomError(event) {
  const refused = state.phase === "starting" && (event.fatal || event.code === "forbidden");
  if (refused) {
    state.startSent = false;
    if (state.room !== null && ["unknown_room", "speaker_gone"].includes(event.code)) {
      roomEnded(event.code);
    } else {
      state.mode = "session";
      finishSession("Idle");
    }
  }
  showError(serverErrorWords(event), refused ? "session" : "");
}

// A language hint taken: the spoken language becomes `code`, and a live session starts again with it (the
// microphone stays open; a new session because the source is part of a session's settings).
function switchSource(code) {
  ui.source.value = code;
  ui.source.dispatchEvent(new Event("change")); // remembered, targets offered for it
  if (state.mode !== "session" || state.phase !== "live" || state.ready === null) return;
  uplink.flush();
  connection.send({ type: "stop" }); // the old session's last events are dropped with its `ready`
  state.ready = null;
  state.switching = true;
  setPhase("starting");
  setStatus(`Switching to ${languageName(code)}…`);
}

function languageName(code) {
  return [...ui.source.options].find((option) => option.value === code)?.text ?? code;
}

function reset() {
  state.inFlight.clear();
  clearTranscript();
  showError(null);
  state.playback?.clear();
  uplink.clear();
  if (state.ready !== null && connection.send({ type: "reset" })) state.discarding = true;
}

// ---- the transcript ---------------------------------------------------------------------------

function transcriptChanged() {
  timeline.show();
  panel.refresh();
}

// The transcripts, their saved copy, the timeline and the latency readout start afresh.
function clearTranscript() {
  sourceView.clear();
  targetView.clear();
  store.clear();
  ui.firstOutput.textContent = ui.endingOffset.textContent = "–";
}

// Lines an earlier visit kept.
function restoreTranscript() {
  if (!store.load()) return;
  for (const entry of store.segments) {
    if (entry.source) sourceView.update(entry.key, entry.source, { quiet: true });
    if (entry.target) targetView.update(entry.key, entry.target, { quiet: true });
  }
  const measured = store.lastMeasured; // the readout agrees with the timeline's last points
  if (measured) showLatency({ first_output_latency_ms: measured.firstOutputLatencyMs, ending_offset_ms: measured.endingOffsetMs });
  transcriptChanged();
}

// ---- languages ------------------------------------------------------------------------------

async function loadLanguages() {
  if (state.languagesLoaded || state.languagesLoading) return;
  state.languagesLoading = true;
  try {
    const body = await fetchApi("languages");
    state.speechTargets = fillPickers(ui.source, ui.target, body);
    share.fillLanguages(body.target_languages, ui.target.value);
    state.languagesLoaded = true;
    if (ui.error.dataset.from === "languages") showError(null);
    setPhase(state.phase);
  } catch (error) {
    showError(languagesWords(error), "languages");
    setTimeout(loadLanguages, LANGUAGES_RETRY_S * 1000);
  } finally {
    state.languagesLoading = false;
  }
}

ui.start.addEventListener("click", start);
ui.stop.addEventListener("click", stop);
ui.reset.addEventListener("click", reset);
ui.headphones.checked = wanted("headphones")[0] === "1";
const rememberHeadphones = () => remember("headphones", ui.headphones.checked ? "1" : "0");
rememberHeadphones();
ui.headphones.addEventListener("change", rememberHeadphones);
window.addEventListener("online", () => connection.retryNow());
restoreTranscript();
if (state.room !== null) share.comingBack();
setPhase("idle");
loadLanguages();
connection.open();
