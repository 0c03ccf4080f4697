// What each view keeps about its session, in one place: every field, what it holds, and what sets it (the
// server side's counterpart is gateway/relay.py `SessionState`). A view makes its state once, when its module
// loads, and the modules that act on the session read and write it there; no session state lives in loose
// module-level variables. `phase` changes only through page-phase.js `enterPhase` (the view's setPhase).

// The page at `/` (app.js): a one-to-one session, or a room this page speaks in.
// spoken: what the address carries (room-links.js `roomAddress()`); a speaker link comes back to its room.
export function speakerState(spoken) {
  return {
    // -- the session --
    // idle | starting (no `ready` yet) | live | paused (a room's microphone) | stopping (`stop` sent, until `ended`)
    phase: "idle",
    mode: "session", // what Start or Open a room began: a one-to-one "session" or a "room" this page speaks in
    //                  (begin(); back to "session" when a room ends or is refused)
    ready: null, // the `ready` event of the session on the socket; null while there is none (set by `ready`;
    //              cleared by `ended`, a fatal error, a lost socket, a language switch)
    startSent: false, // a `start` (or `create_room`, `speak`) awaits its answer (sendStart, sendRoomRequest)
    discarding: false, // `reset` sent: the old utterance's events are dropped until `reset_done` (reset())
    switching: false, // `stop` sent to start again in another spoken language, a language hint taken
    //                   (switchSource; the `ended` that follows starts the new session)
    // -- the microphone --
    capture: null, // the open microphone (capture.js); null while closed (begin, pauseOrResume, stopCapture)
    pending: [], // frames captured while no session was ready, sent first once one is (uplink.js)
    slowNetworkShown: false, // the words for a socket too slow for live audio were shown, once a page (uplink.js)
    // -- the translation coming back --
    playback: null, // translated speech (playback.js), made inside the first Start's click and kept
    expectedSequence: 0, // of the next translated audio chunk (onAudio; 0 again at each `start`)
    // Segments heard and not finished (`speech` in, its `stats` not): "Hearing speech…", "Translating…"
    inFlight: new Set(),
    playsUntil: 0, // performance.now() by which the translated speech received so far will have played (onAudio)
    settleTimer: null, // puts "Listening" back once that speech has played (settleStatus)
    // -- a room this page speaks in --
    // Its latest `room` event, or what a speaker link gives (kept through reconnections); null: none.
    room: spoken.speak ? { room_id: spoken.room, speaker_key: spoken.speak, languages: spoken.languages } : null,
    roomLive: false, // the gateway knows this socket as the room's speaker: audio may flow (roomOpened; a drop ends it)
    // -- the languages offered (/api/languages) --
    languagesLoaded: false, // the pickers are filled (loadLanguages)
    languagesLoading: false, // a request for them is under way (loadLanguages; retried until it succeeds)
    speechTargets: new Set(), // target codes with translated speech; the others are text only (loadLanguages)
  };
}

// A room's listener view (listener-page.js, `?room=ID&listen=KEY`).
export function listenerState() {
  return {
    phase: "idle", // idle | joining (`join` sent) | listening | leaving (`leave` sent) | ended (the room is over)
    language: null, // the language to listen in once `left` (a switch), or while joining and listening
    //                 (listen, switchLanguage; null again on leave, a refused join, the room's end)
    joined: null, // the `joined` event of the language listened to; null once left, ended or the socket dropped
    expectedSequence: null, // of the next translated audio chunk (onAudio); null: any (joined mid-stream)
    playback: null, // translated speech (playback.js), made inside the first Listen's click and kept
    countdown: null, // the interval that counts the speaker's grace down on the status line (showSpeaker)
    languagesLoaded: false, // the language picker is filled (loadLanguages)
    names: new Map(), // language code -> name, from /api/languages (loadLanguages)
  };
}
