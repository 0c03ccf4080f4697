// The page: language pickers, Start / Stop / Reset, level meter, transcripts, latency, errors.
// Data path: mic -> Capture -> Connection.send ; Connection events -> transcripts, Playback, stats.

import { Capture } from "./capture.js";
import { Connection } from "./connection.js";
import { Playback } from "./playback.js";
import { TranscriptView } from "./transcripts.js";

const $ = (id) => document.getElementById(id);
const ui = {
  state: $("connection-state"), source: $("source-language"), target: $("target-language"),
  start: $("start"), stop: $("stop"), reset: $("reset"), level: $("level"), error: $("error"),
  voiceProcessing: $("voice-processing"), firstOutput: $("first-output"), endingOffset: $("ending-offset"), status: $("session-status"),
};
const sourceView = new TranscriptView($("source-transcript"));
const targetView = new TranscriptView($("target-transcript"));

// Words for every error code of docs/protocol.md, shown to people.
const ERROR_WORDS = {
  invalid_config: "That language pair or setting is not supported.",
  busy: "All translators are busy right now. Please try again in a moment.",
  worker_unavailable: "The translation service is not reachable right now. Retrying helps once it is back.",
  session_too_long: "The session reached its maximum length. Press Start to go on.",
  internal: "The translator failed. Please start again.",
  rate_limited: "Audio is arriving too fast; some was dropped.",
};

// A small hook for automated tests and troubleshooting: counts, not audio content, except `received`.
const debug = (window.s2stDebug = { sentFrames: 0, receivedChunks: 0, received: [], playedAudibleSamples: 0 });

let context = null;
let capture = null;
let playback = null;
let running = false; // the user pressed Start and not Stop
let session = null; // the ready event of the active session

const token = new URLSearchParams(location.search).get("token");
const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ""}`;
const connection = new Connection(wsUrl, { onState, onEvent, onAudio });

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = !message;
}

function setRunning(value) {
  running = value;
  ui.start.disabled = value;
  ui.stop.disabled = !value;
  ui.source.disabled = ui.target.disabled = ui.voiceProcessing.disabled = value;
}

function onState(state, detail) {
  const words = {
    connecting: "Connecting…", connected: "Connected", disconnected: "Disconnected",
    reconnecting: `Connection lost, reconnecting in ${detail?.delay ?? 1} s…`,
  };
  ui.state.textContent = words[state];
  ui.state.dataset.state = state;
  if (state === "reconnecting") session = null;
  if (state === "connected" && running) startSession(); // resume after a reconnect; transcripts stay
}

function onEvent(event) {
  switch (event.type) {
    case "ready":
      session = event;
      playback.setSampleRate(event.output_sample_rate);
      ui.status.textContent = `Listening (${event.engine})`;
      showError("");
      break;
    case "transcript":
      (event.side === "source" ? sourceView : targetView).update(event);
      break;
    case "speech":
      ui.status.textContent = event.state === "started" ? "Hearing speech…" : "Translating…";
      break;
    case "stats":
      ui.firstOutput.textContent = formatMs(event.first_output_latency_ms);
      ui.endingOffset.textContent = formatMs(event.ending_offset_ms);
      break;
    case "ended":
      session = null;
      ui.status.textContent = running ? "Stopped" : "Idle";
      if (running) stopCapture();
      break;
    case "error":
      showError(ERROR_WORDS[event.code] ?? event.message);
      if (event.fatal) {
        session = null;
        stopCapture();
      }
      break;
    default:
      break; // reset_done and future events need no action
  }
}

function onAudio(header, pcm) {
  debug.receivedChunks++;
  debug.received.push(pcm);
  playback.enqueue(pcm);
}

function formatMs(value) {
  return value === null || value === undefined ? "–" : `${(value / 1000).toFixed(2)} s`;
}

async function ensureAudio() {
  if (context) return;
  context = new AudioContext({ latencyHint: "interactive" });
  await context.audioWorklet.addModule("audio-worklets.js");
  const tap = new AudioWorkletNode(context, "playback-tap", { outputChannelCount: [1] });
  tap.port.onmessage = ({ data }) => (debug.playedAudibleSamples = data.audibleSamples);
  tap.connect(context.destination);
  playback = new Playback(context, tap);
}

function startSession() {
  sourceView.newSession();
  targetView.newSession();
  connection.send({
    type: "start", target_language: ui.target.value, source_language: ui.source.value || null,
    sample_rate: 16000, client_label: "web",
  });
}

async function start() {
  showError("");
  try {
    await ensureAudio();
    await context.resume();
    capture = new Capture(context, (pcm) => {
      if (session && connection.send(pcm)) debug.sentFrames++;
    }, (level) => (ui.level.value = Math.min(1, level * 4)));
    await capture.start(ui.voiceProcessing.checked);
  } catch (error) {
    showError(`The microphone could not be opened: ${error.message}`);
    return;
  }
  setRunning(true);
  if (connection.ready) startSession();
}

function stopCapture() {
  if (capture) capture.stop();
  capture = null;
  setRunning(false);
}

function stop() {
  stopCapture();
  if (session) connection.send({ type: "stop" });
}

function reset() {
  sourceView.clear();
  targetView.clear();
  if (playback) playback.clear();
  ui.firstOutput.textContent = ui.endingOffset.textContent = "–";
  showError("");
  if (session) connection.send({ type: "reset" });
}

function fillPicker(select, languages, selected) {
  for (const { code, name } of languages) select.add(new Option(`${name} (${code})`, code, false, code === selected));
}

async function loadLanguages() {
  const reply = await fetch(`api/languages${token ? `?token=${encodeURIComponent(token)}` : ""}`);
  if (!reply.ok) throw new Error((await reply.json()).message ?? reply.statusText);
  const languages = await reply.json();
  if (languages.source_language_selectable) fillPicker(ui.source, languages.source_languages, null);
  fillPicker(ui.target, languages.target_languages, "eng");
}

ui.start.addEventListener("click", start);
ui.stop.addEventListener("click", stop);
ui.reset.addEventListener("click", reset);
loadLanguages().catch((error) => showError(`Languages could not be loaded: ${error.message}`));
connection.open();
