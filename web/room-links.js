// Addresses of rooms (docs/protocol.md, "Rooms"): what the page's own address says (a listener link
// `?room=ID&listen=KEY`, a speaker link `?room=ID&speak=KEY`), the links a speaker shares, the sockets.
// A `token` in the page's address goes on to the gateway, never into a shared link: a listener who
// needs one gets their own.

const params = () => new URLSearchParams(location.search);

// What the page's address asks for; listen and speak are null when it is no room link.
// languages: the room's, when the link lists them (`langs=eng,fra`), else [].
export function roomAddress() {
  const query = params();
  const room = query.get("room");
  return {
    room,
    listen: room && query.get("listen"),
    speak: room && query.get("speak"),
    languages: (query.get("langs") ?? "").split(",").filter(Boolean),
    token: query.get("token"),
  };
}

const tokenQuery = (token = params().get("token")) => (token ? `token=${encodeURIComponent(token)}` : "");

// The link listeners open: this page's address with the room, its listener key and its languages.
export function listenerLink({ room_id: room, listener_key: key, languages }) {
  return roomLink({ room, listen: key, langs: languages.join(",") });
}

// The link to come back as the speaker (after a reload, or from another device).
export function speakerLink({ room_id: room, speaker_key: key, languages }) {
  return roomLink({ room, speak: key, langs: languages.join(",") });
}

function roomLink(fields) {
  const url = new URL(location.pathname, location.origin);
  for (const [name, value] of Object.entries(fields)) url.searchParams.set(name, value);
  return url.href;
}

// The page's address with the speaker link's fields, or (room null) without any room fields; the
// page's other fields (languages, token) stay.
export function addressFor(room) {
  const url = new URL(location.href);
  for (const name of ["room", "listen", "speak", "langs"]) url.searchParams.delete(name);
  if (room) for (const [name, value] of new URL(speakerLink(room)).searchParams) url.searchParams.set(name, value);
  return url;
}

// The WebSocket address of path (`/ws`, or `/ws/rooms/ID` for a room's socket), with the page's token.
export function socketUrl(path) {
  const query = tokenQuery();
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}${query ? `?${query}` : ""}`;
}

export const roomSocketUrl = (roomId) => socketUrl(`/ws/rooms/${encodeURIComponent(roomId)}`);

// A gateway API address relative to the page, with the page's token: api("languages").
export function apiUrl(name, fields = {}) {
  const query = new URLSearchParams(fields);
  const token = params().get("token");
  if (token) query.set("token", token);
  const text = query.toString();
  return `api/${name}${text ? `?${text}` : ""}`;
}

// A gateway API's JSON answer; an answer that is not OK throws an Error with its `status` and the
// gateway's message (errors.js words it).
export async function fetchApi(name) {
  const reply = await fetch(apiUrl(name));
  const body = await reply.json().catch(() => ({}));
  if (!reply.ok) throw Object.assign(new Error(body.message || reply.statusText), { status: reply.status });
  return body;
}

// The QR code of a link (gateway/rooms/qr.py draws it as SVG).
export const qrCodeUrl = (link) => apiUrl("qr.svg", { text: link });
