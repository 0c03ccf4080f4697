// The page: language pickers, Start / Stop / Reset, level meter, transcripts, latency, errors; or, instead
// of a one-to-one session, a room this page speaks in (Share with listeners: room-share.js).
// Data path: microphone -> Capture -> Connection.send -> gateway;
//            gateway -> Connection -> onEvent (transcripts, status, stats, room, listeners) / onAudio -> Playback;
//            events -> TranscriptStore -> transcript views, lag timeline, downloads.

import { Capture, CAPTURE_RATE, FRAME_MS } from "./capture.js";
import { Connection, showConnectionIn } from "./connection.js";
import { showErrorIn } from "./error-banner.js";
import { closeWords, languagesWords, microphoneWords, resumingWords, roomEndedWords, serverErrorWords } from "./errors.js";
import { FrameBatcher, concat } from "./frames.js";
import { offerOnly, reachableTargets } from "./language-routes.js";
import { OutputControls } from "./output-controls.js";
import { enterPhase } from "./page-phase.js";
import { Playback } from "./playback.js";
import { remember, wanted } from "./preferences.js";
import { resumable, startsOnNextSocket } from "./resume.js";
import { addressFor, fetchApi, roomAddress, roomSocketUrl, socketUrl } from "./room-links.js";
import { RoomShare } from "./room-share.js";
import { TalkDetector } from "./talk-detector.js";
import { LagTimeline } from "./timeline.js";
import { TranscriptPanel } from "./transcript-panel.js";
import { TranscriptStore } from "./transcript-store.js";
import { TranscriptView } from "./transcripts.js";

const PENDING_MAX_MS = 3000; // speech kept while no session is ready (opening, reconnecting)
const LANGUAGES_RETRY_S = 3;
const DEFAULT_OUTPUT_RATE = 16000; // until a `ready` event says otherwise

const $ = (id) => document.getElementById(id);
const ui = {
  connection: $("connection-state"), source: $("source-language"), target: $("target-language"),
  start: $("start"), stop: $("stop"), reset: $("reset"), headphones: $("headphones"), level: $("level"),
  status: $("session-status"), error: $("error"), errorText: $("error-text"), errorDetails: $("error-details"),
  firstOutput: $("first-output"), endingOffset: $("ending-offset"), announcer: $("announcer"),
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
const output = new OutputControls({ volume: $("volume"), mute: $("mute"), speaking: $("speaking") },
  (gain) => playback?.setGain(gain));

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

// The session this page runs, in one place (the relay's SessionState on the server side).
const current = {
  phase: "idle", // idle | starting (no `ready` yet) | live | stopping (`stop` sent, until `ended`)
  ready: null, // the `ready` event of the session on the socket; null while there is none
  startSent: false, // a `start` awaits its `ready`
  discarding: false, // `reset` sent: drop the old utterance's events until `reset_done`
  pending: [], // microphone frames captured while no session was ready
  expectedSequence: 0, // of the next translated audio chunk
  mode: "session", // what Start or Open a room began: a one-to-one "session" or a "room" this page speaks in
  // The room this page speaks in: its latest `room` event, or what a speaker link gives (kept through
  // reconnections); null: none.
  room: spoken.speak ? { room_id: spoken.room, speaker_key: spoken.speak, languages: spoken.languages } : null,
  roomLive: false, // the gateway knows this socket as the room's speaker: audio may flow
};
let languagesLoaded = false;
let speechTargets = new Set();
let capture = null;
const batcher = new FrameBatcher(sendAudio); // microphone frames -> frames of the engine's step
let playback = null;
const talk = new TalkDetector();
let slowNetworkShown = false;

// ---- page state ---------------------------------------------------------------------------

function showError(words, from = "") {
  showErrorIn(ui, words, from);
}

function setStatus(text) {
  ui.status.textContent = text;
}

function setPhase(next) {
  enterPhase(current, next, [ui.stop, ui.start, ui.reset], () => {
    const room = current.mode === "room";
    ui.start.disabled = next !== "idle" || !languagesLoaded || current.room !== null;
    ui.stop.disabled = room || (next !== "starting" && next !== "live");
    share.enable(next === "idle" && languagesLoaded, room && next === "live");
    ui.source.disabled = next !== "idle" || ui.source.dataset.fixed === "true";
    ui.target.disabled = ui.headphones.disabled = next !== "idle";
  });
}

function onState(state, detail) {
  showConnectionIn(ui.connection, state, detail);
  if (state === "connected") {
    if (ui.error.dataset.from === "connection") showError(null);
    if (!languagesLoaded) loadLanguages();
    if (current.phase === "starting" || current.phase === "live") sendOpening(); // resume after a reconnect
  }
  if (state === "reconnecting") {
    // Words that say more stay: a session's fatal error, a language list refused for want of a token, a drained
    // session that goes on.
    if (!["session", "languages", "resuming"].includes(ui.error.dataset.from)) showError(closeWords(detail.code), "connection");
    sessionLost();
    if (current.phase === "stopping" && current.mode === "room") roomEnded("ended"); // it ends without us
    else if (current.phase === "stopping") finishSession("Stopped");
    else if (current.phase === "live") setPhase("starting");
  }
}

// The session on the socket is gone (a drop, a drain): what the microphone captured waits for the next one.
function sessionLost() {
  current.ready = null;
  current.startSent = false;
  current.roomLive = false; // the room waits for its speaker (S2ST_ROOM_GRACE_SECONDS)
  const held = batcher.takeHeld(); // captured, never sent: the next session gets it first
  if (held !== null) current.pending.unshift(held);
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
      current.ready = event;
      current.startSent = false;
      if (current.phase === "stopping") {
        connection.send({ type: "stop" }); // Stop was pressed before the session opened
        return;
      }
      setPhase("live");
      setStatus(`Listening (${event.engine}). Speak now.`);
      showError(null);
      playback?.prepare(event.output_sample_rate).catch(() => {}); // a new rate: a new graph
      batcher.start(event.input_step_ms);
      flushPending();
      break;
    case "transcript":
      if (!current.discarding) (event.side === "source" ? sourceView : targetView).update(store.transcript(event).key, event);
      break;
    case "speech":
      if (!current.discarding) store.speech(event);
      if (current.phase === "live") setStatus(event.state === "started" ? "Hearing speech…" : "Translating…");
      break;
    case "stats":
      if (current.discarding) break;
      store.stats(event);
      ui.firstOutput.textContent = formatMs(event.first_output_latency_ms);
      ui.endingOffset.textContent = formatMs(event.ending_offset_ms);
      break;
    case "reset_done":
      current.discarding = false;
      break;
    case "ended":
      current.ready = null;
      if (current.phase === "stopping") finishSession("Stopped");
      break;
    case "room": // the room opened, this page is its speaker again, or its listener link was revoked
      roomOpened(event);
      break;
    case "listeners":
      if (current.room !== null) share.showCounts(event);
      break;
    case "room_ended":
      roomEnded(event.reason);
      break;
    case "error":
      if (current.mode === "room") {
        roomError(event);
        break;
      }
      if (resumable(event, current.phase)) {
        resumeSession(event);
        break;
      }
      // A fatal error of a running session is kept through the reconnection that may follow it.
      showError(serverErrorWords(event), event.fatal && current.phase !== "idle" ? "session" : "");
      if (!event.fatal) break;
      current.ready = null;
      current.startSent = false;
      finishSession("Stopped");
      break;
    default:
      break; // events of later protocol versions
  }
}

function onAudio(header, pcm) {
  if (current.discarding || current.ready === null) return;
  if (header.sequence !== current.expectedSequence) debug.sequenceErrors++;
  current.expectedSequence = header.sequence + 1;
  debug.receivedChunks++;
  const spoken = `${current.ready.session_id}:${header.segmentId}`;
  if (!debug.spokenSegments.includes(spoken)) debug.spokenSegments.push(spoken);
  if (debug.record) debug.received.push(pcm);
  store.audio(header, (1000 * pcm.byteLength) / 2 / current.ready.output_sample_rate);
  if (playback.enqueue(pcm)) debug.heldChunks++;
}

function onTap({ samples, audible, blocks }) {
  debug.playedSamples = samples;
  debug.audibleSamples = audible;
  if (debug.record) debug.played.push(...blocks);
}

function formatMs(value) {
  return value === null || value === undefined ? "–" : `${(value / 1000).toFixed(2)} s`;
}

// ---- microphone audio to the server ---------------------------------------------------------

// Without an echo canceller, translated speech from loudspeakers would come back through the
// microphone and be translated again: while it plays, send silence instead (keeps the clock). And
// while the person talks, their translation waits (talker priority), so that gating never mutes them.
function halfDuplex() {
  return current.mode === "session" && !ui.headphones.checked && capture !== null && !capture.echoCancelled;
}

function onFrame(pcm, level) {
  if (current.phase !== "starting" && current.phase !== "live") return; // posted just before the capture stopped
  if (halfDuplex()) {
    const now = performance.now();
    if (playback.audible) {
      pcm = new ArrayBuffer(pcm.byteLength);
      debug.gatedFrames++;
    } else {
      talk.hear(level, now); // only the person: while the translation plays, the microphone hears it too
    }
    playback.hold(talk.talking(now));
  }
  if (!audioFlows()) {
    current.pending.push(pcm);
    if (current.pending.length > PENDING_MAX_MS / FRAME_MS) current.pending.shift();
    return;
  }
  batcher.push(pcm);
}

// A session is ready, or the gateway knows this page as its room's speaker.
function audioFlows() {
  return current.ready !== null || current.roomLive;
}

// What was captured while no session was ready, in order, ahead of what follows.
function flushPending() {
  if (current.pending.length > 0) batcher.push(concat(...current.pending.map((frame) => new Int16Array(frame))).buffer);
  current.pending = [];
}

function sendAudio(pcm) {
  if (connection.send(pcm)) {
    debug.sentFrames++;
    debug.sentSamples += pcm.byteLength / 2;
    if (debug.record) debug.sent.push(pcm);
  } else if (connection.ready && !slowNetworkShown) {
    slowNetworkShown = true;
    showError({ text: "The network is too slow for live audio; some of your speech was dropped." });
  }
}

function onLevel(rms) {
  // -60 dBFS .. 0 dBFS onto the meter, as people hear loudness.
  ui.level.value = rms > 0 ? Math.max(0, Math.min(1, 1 + Math.log10(rms) / 3)) : 0;
}

// ---- buttons --------------------------------------------------------------------------------

function sendStart() {
  if (current.startSent || current.ready !== null || !connection.ready) return;
  store.newSession();
  current.expectedSequence = 0;
  current.discarding = false;
  const target = ui.target.value;
  current.startSent = connection.send({
    type: "start", target_language: target, source_language: ui.source.value || null,
    sample_rate: CAPTURE_RATE, speech_output: speechTargets.size === 0 || speechTargets.has(target),
    client_label: "web",
  });
  setStatus("Starting…");
}

function start() {
  return begin("session");
}

// mode: "session" (Start) or "room" (Open a room: the speaker hears nothing back, so no playback).
async function begin(mode) {
  if (current.phase !== "idle") return;
  showError(null);
  if (!navigator.mediaDevices?.getUserMedia) {
    showError(microphoneWords(null));
    return;
  }
  current.mode = mode;
  setPhase("starting");
  setStatus("Opening the microphone…");
  const opening = [];
  if (mode === "session") {
    playback ??= new Playback(onTap, { record: debug.record, gain: output.gain, onSpeaking: (on) => output.showSpeaking(on) });
    opening.push(playback.prepare(current.ready?.output_sample_rate ?? playback.rate ?? DEFAULT_OUTPUT_RATE));
  }
  capture = new Capture(onFrame, onLevel);
  try {
    // The AudioContexts are made synchronously here, inside the click.
    opening.push(capture.start({ headphones: ui.headphones.checked }));
    await Promise.all(opening);
  } catch (error) {
    capture.stop();
    capture = null;
    setPhase("idle");
    setStatus("Idle");
    showError(microphoneWords(error));
    return;
  }
  if (current.phase !== "starting") return; // stopped while the microphone opened
  debug.echoCancellation = capture.stream.getAudioTracks()[0].getSettings().echoCancellation;
  if (connection.ready) sendOpening();
  else setStatus("Waiting for the connection…");
}

function sendOpening() {
  if (current.mode === "room") sendRoomRequest();
  else sendStart();
}

function stopCapture() {
  capture?.stop();
  capture = null;
  playback?.hold(false); // no one talks into a closed microphone
  current.pending = [];
}

function stop() {
  if (current.phase !== "starting" && current.phase !== "live") return;
  if (current.ready !== null) {
    flushPending();
    batcher.flush();
  }
  stopCapture();
  if (current.ready !== null) {
    connection.send({ type: "stop" });
    setPhase("stopping");
    setStatus("Finishing the translation…");
  } else if (current.startSent) {
    setPhase("stopping"); // `stop` follows the `ready`
    setStatus("Finishing…");
  } else {
    finishSession("Idle");
  }
}

function finishSession(status) {
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
  if (current.startSent || current.roomLive || !connection.ready) return;
  if (current.room === null) {
    store.newSession();
    current.startSent = connection.send({
      type: "create_room", languages: share.languages, source_language: ui.source.value || null, sample_rate: CAPTURE_RATE,
    });
    setStatus("Opening the room…");
  } else {
    current.startSent = connection.send({ type: "speak", key: current.room.speaker_key });
    setStatus("Coming back to the room…");
  }
}

function roomOpened(room) {
  current.room = room;
  current.startSent = false;
  share.show(room);
  // A dropped connection comes back on the room's own socket (the gateway process that holds it); a
  // reload comes back as the speaker through the address.
  connection.moveTo(roomSocketUrl(room.room_id));
  history.replaceState(history.state, "", addressFor(room));
  if (current.phase !== "starting") return; // a revoked link's new key
  current.roomLive = true;
  setPhase("live");
  setStatus("The room is open. Speak now.");
  showError(null);
  batcher.start(0); // the engines' step is not known here: the capture's frames
  flushPending();
}

function revokeLink() {
  if (current.roomLive) connection.send({ type: "revoke_listener_link" });
}

function endRoom() {
  if (current.mode !== "room" || current.phase !== "live") return;
  flushPending();
  batcher.flush();
  stopCapture();
  connection.send({ type: "end_room" });
  setPhase("stopping");
  setStatus("Ending the room: the last words are being translated…");
}

// The room is over for this page; the socket goes back to `/ws`, ready for a session or another room.
function roomEnded(reason) {
  const words = reason === "ended" ? { text: "The room has ended." } : roomEndedWords(reason); // ended by this page
  current.room = null;
  current.roomLive = current.startSent = false;
  current.pending = [];
  batcher.clear();
  share.ended(words);
  history.replaceState(history.state, "", addressFor(null));
  connection.moveTo(socketUrl("/ws"), { now: true });
  current.mode = "session";
  finishSession(words.text);
}

// An error while this page opens or speaks in a room. A refused `create_room` or `speak` leaves the page
// idle (a room that is gone, forgotten); in a live room the error is only shown: the room goes on.
function roomError(event) {
  const refused = current.phase === "starting" && (event.fatal || event.code === "forbidden");
  if (refused) {
    current.startSent = false;
    if (current.room !== null && ["unknown_room", "speaker_gone"].includes(event.code)) {
      roomEnded(event.code);
    } else {
      current.mode = "session";
      finishSession("Idle");
    }
  }
  showError(serverErrorWords(event), refused ? "session" : "");
}

function reset() {
  clearTranscript();
  showError(null);
  playback?.clear();
  current.pending = [];
  batcher.clear();
  if (current.ready !== null && connection.send({ type: "reset" })) current.discarding = true;
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
  transcriptChanged();
}

// ---- languages ------------------------------------------------------------------------------

// choice: the preferences.js name of what the picker chooses; fallback: when nothing offered is wanted.
function fillPicker(select, choice, languages, fallback, label = ({ name }) => name) {
  for (const language of languages) select.add(new Option(label(language), language.code));
  const offered = [...select.options].map((option) => option.value);
  select.value = [...wanted(choice), fallback, offered[0]].find((code) => offered.includes(code));
  remember(choice, select.value);
  select.addEventListener("change", () => remember(choice, select.value));
}

async function loadLanguages() {
  if (languagesLoaded || loadLanguages.busy) return;
  loadLanguages.busy = true;
  try {
    const body = await fetchApi("languages");
    speechTargets = new Set(body.speech_output_languages.map(({ code }) => code));
    if (body.source_language_selectable) fillPicker(ui.source, "source", body.source_languages, "");
    else ui.source.dataset.fixed = "true";
    fillPicker(ui.target, "target", body.target_languages, "eng",
      ({ code, name }) => (speechTargets.has(code) ? name : `${name} (text only)`));
    const offerTargets = () => offerOnly(ui.target, reachableTargets(body, ui.source.value));
    offerTargets();
    ui.source.addEventListener("change", offerTargets);
    share.fillLanguages(body.target_languages, ui.target.value);
    languagesLoaded = true;
    if (ui.error.dataset.from === "languages") showError(null);
    setPhase(current.phase);
  } catch (error) {
    showError(languagesWords(error), "languages");
    setTimeout(loadLanguages, LANGUAGES_RETRY_S * 1000);
  } finally {
    loadLanguages.busy = false;
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
if (current.room !== null) share.comingBack();
setPhase("idle");
loadLanguages();
connection.open();
