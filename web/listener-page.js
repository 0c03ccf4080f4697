// A room's listener view (`?room=ID&listen=KEY`, docs/web-client.md): pick a language, Listen; the room's
// transcript so far, then live transcripts and translated speech, with volume and mute. A listener never
// sends audio and never asks for the microphone.
// Data path: gateway -> Connection -> onEvent (joined, transcripts, speaker, room_ended) / onAudio -> Playback;
//            transcripts -> TranscriptStore (not saved: the room gives its transcript on every join) -> lists.

import { Connection, showConnectionIn } from "./connection.js";
import { showCloseWordsIn, showErrorIn } from "./error-banner.js";
import { languagesWords, roomEndedWords, serverErrorWords } from "./errors.js";
import { OutputControls } from "./output-controls.js";
import { enterPhase } from "./page-phase.js";
import { Playback } from "./playback.js";
import { wanted } from "./preferences.js";
import { fetchApi, roomAddress, roomSocketUrl } from "./room-links.js";
import { TranscriptPanel } from "./transcript-panel.js";
import { TranscriptStore } from "./transcript-store.js";
import { TranscriptView } from "./transcripts.js";

const DEFAULT_OUTPUT_RATE = 16000; // until a `joined` event says otherwise
const LANGUAGES_RETRY_S = 3;
const COUNTDOWN_TICK_MS = 250; // the grace countdown's refresh: whole seconds shown, so they change on time
const GONE_CODES = new Set(["unknown_room", "speaker_gone"]); // a room link that opens no room (docs/protocol.md)

const $ = (id) => document.getElementById(id);
const ui = {
  connection: $("connection-state"), language: $("listen-language"), listen: $("listen"), leave: $("leave"),
  status: $("session-status"), error: $("error"), errorText: $("error-text"), errorDetails: $("error-details"),
  announcer: $("announcer"), controls: document.querySelector(".controls"),
};
const address = roomAddress();
const announce = (text) => (ui.announcer.textContent = text);
const sourceView = new TranscriptView($("source-transcript"));
const targetView = new TranscriptView($("target-transcript"), announce);
const store = new TranscriptStore({ storageKey: null, onChange: () => panel.refresh() });
const panel = new TranscriptPanel({
  downloads: document.querySelectorAll("#downloads button"), copy: $("copy-transcript"), clear: $("clear-transcript"),
  note: $("transcript-note"),
}, store, clearTranscript, { kept: false });
const output = new OutputControls({ volume: $("volume"), mute: $("mute"), speaking: $("speaking") },
  (gain) => playback?.setGain(gain));

// Test hook, as on the speaker's page (docs/web-client.md): counters of the speech received and played.
const debug = (window.s2stDebug = {
  record: false, receivedChunks: 0, sequenceErrors: 0, playedSamples: 0, audibleSamples: 0, received: [], played: [],
  ...window.s2stDebug, // what a test set before this module loaded (main.js)
});

const connection = new Connection(roomSocketUrl(address.room), { onState, onEvent, onAudio });

// What this page does in the room, in one place.
const current = {
  phase: "idle", // idle | joining (`join` sent) | listening | leaving (`leave` sent) | ended (the room is over)
  language: null, // the language to listen in once `left` (a switch), or while joining and listening
  joined: null, // the `joined` event of the language listened to
  expectedSequence: null, // of the next translated audio chunk; null: any (joined mid-stream)
};
let playback = null;
let languagesLoaded = false;
let countdown = null; // the interval that counts the speaker's grace down on the status line
let names = new Map(); // language code -> name

// ---- page state ---------------------------------------------------------------------------------

function showError(words, from = "") {
  showErrorIn(ui, words, from);
}

function setStatus(text) {
  ui.status.textContent = text;
}

function setPhase(next) {
  enterPhase(current, next, [ui.leave, ui.listen], () => {
    ui.listen.disabled = next !== "idle" || !languagesLoaded || !connection.ready;
    ui.leave.disabled = next !== "joining" && next !== "listening";
    ui.language.disabled = next === "ended" || next === "leaving" || !languagesLoaded;
  });
}

const languageName = (code) => names.get(code) ?? code;

function onState(state, detail) {
  showConnectionIn(ui.connection, state, detail);
  if (state === "connected") {
    if (ui.error.dataset.from === "connection") showError(null);
    // Back after a drop: the new socket is in no room yet. Join again what was wanted (the room gives the
    // transcript so far again); a `leave` that was under way is done.
    if (current.phase === "leaving" && current.language === null) setPhase("idle");
    if (["joining", "listening", "leaving"].includes(current.phase)) sendJoin();
    else setPhase(current.phase);
    // Whether the link still opens a room, before anyone presses Listen (nothing is joined).
    if (current.phase === "idle") connection.send({ type: "check_link", key: address.listen });
  }
  if (state === "reconnecting") {
    if (current.phase !== "ended") showCloseWordsIn(ui, detail.code);
    current.joined = null;
    if (current.phase === "listening") setPhase("joining");
    else setPhase(current.phase);
  }
}

// ---- events from the server ---------------------------------------------------------------------

function onEvent(event) {
  switch (event.type) {
    case "joined":
      joined(event);
      break;
    case "transcript":
      if (current.phase === "listening") (event.side === "source" ? sourceView : targetView).update(store.transcript(event).key, event);
      break;
    case "speech":
      if (current.phase === "listening") store.speech(event);
      break;
    case "stats":
      if (current.phase === "listening") store.stats(event);
      break;
    case "speaker":
      if (current.phase !== "listening") break;
      if (!event.connected) dropPartials(); // the speaker's unfinished sentence ends with their socket
      showSpeaker(event.connected, event.ends_in_seconds);
      break;
    case "left":
      current.joined = null;
      if (current.phase !== "leaving") break;
      if (current.language !== null) sendJoin(); // switching language
      else {
        setPhase("idle");
        setStatus("Not listening. Pick a language and press Listen.");
      }
      break;
    case "room_ended": {
      const words = roomEndedWords(event.reason);
      dropPartials();
      stopCountdown();
      current.joined = null;
      current.language = null;
      setPhase("ended");
      setStatus(words.text);
      ui.status.dataset.reason = event.reason;
      break;
    }
    case "link_valid":
      break; // the page's words already ask for a language
    case "error":
      // The grace ran out: `room_ended` follows at once and says it, in the past tense, once.
      if (current.phase === "listening" && event.code === "speaker_gone") break;
      if (current.phase === "idle" && GONE_CODES.has(event.code)) {
        roomGone(event);
        break;
      }
      showError(serverErrorWords(event), event.fatal ? "room" : "");
      if (event.fatal && current.phase === "joining") {
        current.language = null;
        setPhase("idle");
        setStatus("Not listening.");
      }
      break;
    default:
      break; // events of later protocol versions, and a session's that a room's socket never gets
  }
}

// The link opens no room (ended, revoked, or never there): say so at once, and Listen stays off.
function roomGone(event) {
  setPhase("ended");
  setStatus(serverErrorWords(event).text);
  ui.status.dataset.reason = event.code;
}

function listeningWords(speakerConnected, endsInSeconds) {
  const language = languageName(current.joined.target_language);
  if (speakerConnected) return `Listening in ${language}.`;
  const when = endsInSeconds === undefined ? "" : ` The room ends in ${Math.ceil(endsInSeconds)} s unless they come back.`;
  return `Listening in ${language}. The speaker disconnected; waiting for them to come back…${when}`;
}

// The status line while listening; while the speaker is away, counted down each second to the room's end
// (`ends_in_seconds`, S2ST_ROOM_GRACE_SECONDS on the gateway).
function showSpeaker(connected, endsInSeconds) {
  stopCountdown();
  if (connected || endsInSeconds === undefined) {
    setStatus(listeningWords(connected));
    return;
  }
  const endsAt = performance.now() + endsInSeconds * 1000;
  const tick = () => {
    if (current.phase !== "listening") return stopCountdown();
    setStatus(listeningWords(false, Math.max(0, (endsAt - performance.now()) / 1000)));
  };
  tick();
  countdown = setInterval(tick, COUNTDOWN_TICK_MS);
}

function stopCountdown() {
  clearInterval(countdown);
  countdown = null;
}

// A `joined` event: the room's transcript so far, then the language's live events.
function joined(event) {
  if (current.phase !== "joining") return;
  current.joined = event;
  current.expectedSequence = null;
  clearTranscript();
  store.newSession();
  event.transcript.forEach(({ source, target }, index) => {
    const said = { segment_id: index + 1, final: true, input_offset_ms: 0 };
    if (source) sourceView.update(store.transcript({ ...said, side: "source", text: source, language: null }).key, { text: source, final: true }, { quiet: true });
    if (target) {
      const line = { ...said, side: "target", text: target, language: event.target_language };
      targetView.update(store.transcript(line).key, line, { quiet: true });
    }
  });
  store.newSession(); // the live events' segment ids are the stream's own
  playback.prepare(event.output_sample_rate).catch(() => {});
  showError(null);
  setPhase("listening");
  showSpeaker(event.speaker_connected, event.ends_in_seconds);
}

function onAudio(header, pcm) {
  if (current.phase !== "listening" || current.joined === null) return;
  if (current.expectedSequence !== null && header.sequence !== current.expectedSequence) debug.sequenceErrors++;
  current.expectedSequence = header.sequence + 1;
  debug.receivedChunks++;
  if (debug.record) debug.received.push(pcm);
  store.audio(header, (1000 * pcm.byteLength) / 2 / current.joined.output_sample_rate);
  playback.enqueue(pcm);
}

function onTap({ samples, audible, blocks }) {
  debug.playedSamples = samples;
  debug.audibleSamples = audible;
  if (debug.record) debug.played.push(...blocks);
}

// ---- buttons ------------------------------------------------------------------------------------

function sendJoin() {
  if (!connection.send({ type: "join", key: address.listen, target_language: current.language })) return;
  setPhase("joining");
  setStatus(`Joining in ${languageName(current.language)}…`);
}

async function listen() {
  if (current.phase !== "idle") return;
  showError(null);
  current.language = ui.language.value;
  // Made inside the click: browsers let audio start only after a gesture.
  playback ??= new Playback(onTap, { record: debug.record, gain: output.gain, onSpeaking: (on) => output.showSpeaking(on) });
  const preparing = playback.prepare(playback.rate ?? DEFAULT_OUTPUT_RATE);
  sendJoin();
  await preparing.catch(() => {});
}

function leave() {
  if (current.phase !== "joining" && current.phase !== "listening") return;
  current.language = null;
  stopListening();
}

// Another language: `leave`, then `join` once `left` came.
function switchLanguage() {
  if (current.phase !== "joining" && current.phase !== "listening") return;
  current.language = ui.language.value;
  stopListening();
}

function stopListening() {
  playback?.clear();
  dropPartials(); // the lines the stream would have settled will not reach this page now
  if (connection.send({ type: "leave" })) {
    setPhase("leaving");
    setStatus("Leaving…");
  } else {
    setPhase("idle"); // no socket: nothing to leave
  }
}

function dropPartials() {
  sourceView.dropPartials();
  targetView.dropPartials();
  store.dropPartials();
}

function clearTranscript() {
  sourceView.clear();
  targetView.clear();
  store.clear();
}

// ---- languages ----------------------------------------------------------------------------------

// The room's languages: those its link lists, named from /api/languages; without a list, every target
// the service offers (a language the room does not offer is refused, in words).
async function loadLanguages() {
  let offered = address.languages.map((code) => ({ code, name: code }));
  try {
    const body = await fetchApi("languages");
    names = new Map(body.target_languages.map(({ code, name }) => [code, name]));
    if (offered.length === 0) offered = body.target_languages;
    else offered = offered.map(({ code }) => ({ code, name: languageName(code) }));
  } catch (error) {
    if (offered.length === 0) {
      showError(languagesWords(error), "languages");
      setTimeout(loadLanguages, LANGUAGES_RETRY_S * 1000);
      return;
    }
  }
  for (const { code, name } of offered) ui.language.add(new Option(name, code));
  const codes = offered.map(({ code }) => code);
  ui.language.value = [...wanted("target"), codes[0]].find((code) => codes.includes(code));
  languagesLoaded = true;
  if (ui.error.dataset.from === "languages") showError(null);
  setPhase(current.phase);
}

ui.controls.setAttribute("aria-label", "Listening");
document.title = "Listening: speech translation";
ui.listen.addEventListener("click", listen);
ui.leave.addEventListener("click", leave);
ui.language.addEventListener("change", switchLanguage);
window.addEventListener("online", () => connection.retryNow());
setStatus("Pick a language and press Listen.");
setPhase("idle");
loadLanguages();
connection.open();
