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
import { listenerState } from "./session-state.js";
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
  (gain) => state.playback?.setGain(gain));

// Test hook, as on the speaker's page (docs/web-client.md): counters of the speech received and played.
const debug = (window.s2stDebug = {
  record: false, receivedChunks: 0, sequenceErrors: 0, playedSamples: 0, audibleSamples: 0, received: [], played: [],
  ...window.s2stDebug, // what a test set before this module loaded (main.js)
});

const connection = new Connection(roomSocketUrl(address.room), { onState, onEvent, onAudio });

// What this page does in the room, in one place: every field documented in session-state.js.
const state = listenerState();

// ---- page state ---------------------------------------------------------------------------------

function showError(words, from = "") {
  showErrorIn(ui, words, from);
}

function setStatus(text) {
  ui.status.textContent = text;
}

function setPhase(next) {
  enterPhase(state, next, [ui.leave, ui.listen], () => {
    ui.listen.disabled = next !== "idle" || !state.languagesLoaded || !connection.ready;
    ui.leave.disabled = next !== "joining" && next !== "listening";
    ui.language.disabled = next === "ended" || next === "leaving" || !state.languagesLoaded;
  });
}

const languageName = (code) => state.names.get(code) ?? code;

function onState(socket, detail) {
  showConnectionIn(ui.connection, socket, detail);
  if (socket === "connected") {
    if (ui.error.dataset.from === "connection") showError(null);
    // Back after a drop: the new socket is in no room yet. Join again what was wanted (the room gives the
    // transcript so far again); a `leave` that was under way is done.
    if (state.phase === "leaving" && state.language === null) setPhase("idle");
    if (["joining", "listening", "leaving"].includes(state.phase)) sendJoin();
    else setPhase(state.phase);
    // Whether the link still opens a room, before anyone presses Listen (nothing is joined).
    if (state.phase === "idle") connection.send({ type: "check_link", key: address.listen });
  }
  if (socket === "reconnecting") {
    if (state.phase !== "ended") showCloseWordsIn(ui, detail.code);
    state.joined = null;
    if (state.phase === "listening") setPhase("joining");
    else setPhase(state.phase);
  }
}

// ---- events from the server ---------------------------------------------------------------------

function onEvent(event) {
  switch (event.type) {
    case "joined":
      joined(event);
      break;
    case "transcript":
      if (state.phase === "listening") (event.side === "source" ? sourceView : targetView).update(store.transcript(event).key, event);
      break;
    case "speech":
      if (state.phase === "listening") store.speech(event);
      break;
    case "stats":
      if (state.phase === "listening") store.stats(event);
      break;
    case "speaker":
      if (state.phase !== "listening") break;
      if (!event.connected) dropPartials(); // the speaker's unfinished sentence ends with their socket
      showSpeaker(event.connected, event.ends_in_seconds);
      break;
    case "left":
      state.joined = null;
      if (state.phase !== "leaving") break;
      if (state.language !== null) sendJoin(); // switching language
      else {
        setPhase("idle");
        setStatus("Not listening. Pick a language and press Listen.");
      }
      break;
    case "room_ended": {
      const words = roomEndedWords(event.reason);
      dropPartials();
      stopCountdown();
      state.joined = null;
      state.language = null;
      setPhase("ended");
      setStatus(words.text);
      ui.status.dataset.reason = event.reason;
      break;
    }
    case "link_valid":
      break; // the page's words already ask for a language
    case "error":
      // The grace ran out: `room_ended` follows at once and says it, in the past tense, once.
      if (state.phase === "listening" && event.code === "speaker_gone") break;
      if (state.phase === "idle" && GONE_CODES.has(event.code)) {
        roomGone(event);
        break;
      }
      showError(serverErrorWords(event), event.fatal ? "room" : "");
      if (event.fatal && state.phase === "joining") {
        state.language = null;
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
  const language = languageName(state.joined.target_language);
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
    if (state.phase !== "listening") return stopCountdown();
    setStatus(listeningWords(false, Math.max(0, (endsAt - performance.now()) / 1000)));
  };
  tick();
  state.countdown = setInterval(tick, COUNTDOWN_TICK_MS);
}

function stopCountdown() {
  clearInterval(state.countdown);
  state.countdown = null;
}

// A `joined` event: the room's transcript so far, then the language's live events.
function joined(event) {
  if (state.phase !== "joining") return;
  state.joined = event;
  state.expectedSequence = null;
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
  state.playback.prepare(event.output_sample_rate).catch(() => {});
  showError(null);
  setPhase("listening");
  showSpeaker(event.speaker_connected, event.ends_in_seconds);
}

function onAudio(header, pcm) {
  if (state.phase !== "listening" || state.joined === null) return;
  if (state.expectedSequence !== null && header.sequence !== state.expectedSequence) debug.sequenceErrors++;
  state.expectedSequence = header.sequence + 1;
  debug.receivedChunks++;
  if (debug.record) debug.received.push(pcm);
  store.audio(header, (1000 * pcm.byteLength) / 2 / state.joined.output_sample_rate);
  state.playback.enqueue(pcm);
}

function onTap({ samples, audible, blocks }) {
  debug.playedSamples = samples;
  debug.audibleSamples = audible;
  if (debug.record) debug.played.push(...blocks);
}

// ---- buttons ------------------------------------------------------------------------------------

function sendJoin() {
  if (!connection.send({ type: "join", key: address.listen, target_language: state.language })) return;
  setPhase("joining");
  setStatus(`Joining in ${languageName(state.language)}…`);
}

async function listen() {
  if (state.phase !== "idle") return;
  showError(null);
  state.language = ui.language.value;
  // Made inside the click: browsers let audio start only after a gesture.
  state.playback ??= new Playback(onTap, { record: debug.record, gain: output.gain, onSpeaking: (on) => output.showSpeaking(on) });
  const preparing = state.playback.prepare(state.playback.rate ?? DEFAULT_OUTPUT_RATE);
  sendJoin();
  await preparing.catch(() => {});
}

function leave() {
  if (state.phase !== "joining" && state.phase !== "listening") return;
  state.language = null;
  stopListening();
}

// Another language: `leave`, then `join` once `left` came.
function switchLanguage() {
  if (state.phase !== "joining" && state.phase !== "listening") return;
  state.language = ui.language.value;
  stopListening();
}

function stopListening() {
  state.playback?.clear();
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
    state.names = new Map(body.target_languages.map(({ code, name }) => [code, name]));
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
  state.languagesLoaded = true;
  if (ui.error.dataset.from === "languages") showError(null);
  setPhase(state.phase);
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
