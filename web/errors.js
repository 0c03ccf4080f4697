// Plain words for what can go wrong: every error code and close code of docs/protocol.md and
// the browser's microphone refusals. Each description is {text, details}: `text` says what
// happened and what to do, in words a person understands; `details` is the one place a raw
// code or server message appears (a small line under the text, for whoever helps them).

const LOST_STEP = "The page and the server lost step. Press Stop, then Start.";
const UNREADABLE = "The server could not read a message from this page. Reload the page if this keeps happening.";
const AUDIO_SKIPPED = "A piece of your audio could not be sent and was skipped. The session goes on.";

// Error codes of the `error` event (docs/protocol.md).
const ERROR_WORDS = {
  bad_json: UNREADABLE,
  unknown_type: UNREADABLE,
  bad_message: UNREADABLE,
  text_too_large: UNREADABLE,
  not_started: LOST_STEP,
  already_started: LOST_STEP,
  odd_length: AUDIO_SKIPPED,
  frame_too_large: AUDIO_SKIPPED,
  rate_limited: "Audio arrived faster than the server allows, so some of it was dropped.",
  invalid_config: "That language pair or setting is not supported here. Pick another, then press Start.",
  busy: "All translators are in use right now. Please try again in a minute.",
  worker_unavailable: "The translation service is not reachable right now. Please press Start again shortly.",
  session_too_long: "The session reached its maximum length. Press Start to go on.",
  idle_timeout: "No sound reached the server for a while, so the session ended. Press Start to go on.",
  forbidden: "Your access does not cover this choice. Pick another language, or ask whoever gave you the link.",
  too_many_sessions: "This network already has the most sessions allowed. Stop one, then press Start.",
  shutting_down: "The server is restarting. Press Start again in a moment.",
  internal: "The translator failed. Press Start to try again.",
  translation_failed: "One passage could not be translated, so it is shown as said. The session goes on.",
  synthesis_failed: "One passage could not be spoken aloud, so it is shown as text only. The session goes on.",
  no_route: "What you said sounds like a language that cannot be translated into the one you picked. " +
    "Pick the language you speak, or another translation language.",
  // Rooms (docs/protocol.md, "Room errors").
  unknown_room: "This room link does not work any more: the room has ended or the speaker replaced the link. " +
    "Ask the speaker for the current link.",
  room_full: "This room is full. Ask the speaker, or try again later.",
  language_not_offered: "This room does not offer that language. Pick one of the languages in the list.",
  too_many_rooms: "The server holds as many rooms as it can right now. Please try again in a few minutes.",
  speaker_gone: "The speaker left and did not come back, so the room is ending.",
  not_in_room: "The page and the server lost step about the room. Reload the page.",
};

// Why a room ended (docs/protocol.md, `room_ended`), for whoever was in it.
const ROOM_ENDED_WORDS = {
  ended: "The speaker ended it.",
  speaker_gone: "The speaker left and did not come back.",
  link_revoked: "The speaker replaced the link you joined with. Ask them for the new link.",
  replaced: "You opened this room as the speaker in another window or device, which speaks now.",
  worker_unavailable: "The translation into this language failed and could not be restarted.",
  session_too_long: "It reached the longest time the speaker's access allows.",
  shutting_down: "The server is restarting.",
};

// Close codes of the socket (docs/protocol.md), and 1006, the browser's own code for a connection
// that ended without a close frame (a network drop, or a handshake the gateway refused).
const CLOSE_WORDS = {
  1000: "The server ended the connection.",
  1001: "The server is restarting.",
  1006: "The connection to the server dropped or could not be made. Check your network.",
  1007: UNREADABLE,
  1008: "The connection was too slow to keep up with the translation, so the server closed it.",
  1009: "The page sent the server a message larger than it accepts.",
  1011: "The server ran into a fault.",
};
const RECONNECTING = "The page reconnects by itself.";

const LANGUAGES_WORDS = {
  401: "This page needs an access token. Open the link you were given.",
  503: "The translation service is not reachable right now. The page tries again.",
};

const MICROPHONE_WORDS = {
  NotAllowedError: "Microphone access is blocked for this page. To allow it, click the icon at the left of the " +
    "address bar, set Microphone to Allow, then press Start.",
  SecurityError: "This page needs a secure address (https:// or localhost) to use the microphone.",
  NotFoundError: "No microphone was found. Connect one, then press Start.",
  NotReadableError: "The microphone is in use by another application, or the system blocks it. Close that " +
    "application, then press Start.",
  OverconstrainedError: "The microphone cannot record the way this page asks. Try another microphone.",
};

// An `error` event from the server (a code of a later protocol version gets general words).
export function serverErrorWords({ code, message, fatal }) {
  const text = ERROR_WORDS[code] ?? (fatal ? "The translation stopped because of a problem. Press Start to try again."
    : "The server refused a message from this page. The session goes on.");
  return { text, details: `${code}: ${message}` };
}

// Why a live session ended when the page goes on with a new one by itself (web/resume.js).
const RESUMING_WORDS = {
  shutting_down: "The server is restarting. Your session goes on in a moment.",
  worker_unavailable: "The translator in use went away. Your session goes on with another in a moment.",
};

// A drain ended the session (`error` event) and the page starts a new one.
export function resumingWords({ code, message }) {
  return { text: RESUMING_WORDS[code], details: `${code}: ${message}` };
}

// The socket closed with `code`; the page is reconnecting.
export function closeWords(code) {
  const text = CLOSE_WORDS[code] ?? "The connection to the server ended.";
  return { text: `${text} ${RECONNECTING}`, details: `close code ${code}` };
}

// The language list (`/api/languages`) could not be loaded: `error.status` is the HTTP status,
// absent when no answer came. The page tries again.
export function languagesWords(error) {
  const text = LANGUAGES_WORDS[error.status] ?? "The list of languages could not be loaded. The page tries again.";
  return { text, details: error.status ? `HTTP ${error.status}: ${error.message}` : error.message };
}

// getUserMedia failed with `error` (a DOMException); null: the browser offers no microphone API,
// which it does only on secure pages.
export function microphoneWords(error) {
  const name = error?.name ?? "SecurityError";
  const text = MICROPHONE_WORDS[name] ?? "The microphone could not be opened. Check it, then press Start.";
  return { text, details: error ? `${error.name}: ${error.message}` : "navigator.mediaDevices is unavailable" };
}

// A `room_ended` event: "The room has ended." and why, in words.
export function roomEndedWords(reason) {
  const why = ROOM_ENDED_WORDS[reason] ?? "";
  return { text: `The room has ended. ${why}`.trim(), details: `room_ended: ${reason}` };
}
