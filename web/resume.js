// Which errors end a session that the page goes on with by itself. A release or a scale-in drains a
// gateway (`shutting_down`, then close 1001) or a worker (`worker_unavailable` once its grace is over):
// the listener should lose a second, not the session. So a session that was live opens a new one with
// the same settings, on this socket (another worker) or on the next (another gateway); its transcript
// stays. A session that never got `ready` is not resumed: the page does not retry a service that is down.

const RESUMABLE = new Set(["shutting_down", "worker_unavailable"]);

// True when this fatal `error` event ended a session in the page's `live` phase (not one being stopped)
// that a new one can carry on.
export function resumable(event, phase) {
  return event.fatal === true && phase === "live" && RESUMABLE.has(event.code);
}

// Where the new session's `start` goes: a draining gateway closes this socket, so the next one carries it.
export function startsOnNextSocket(event) {
  return event.code === "shutting_down";
}
