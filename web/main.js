// Which page this address opens: the translation page, where a speaker may also open a room, or a
// room's listener view (`?room=ID&listen=KEY`, docs/web-client.md). Elements marked data-for show
// in their view only.

import { roomAddress } from "./room-links.js";

// The test hook (docs/web-client.md) exists from the first script on: the view's module loads after the
// page's load event, and a test may set `record` before that; the module keeps what was set.
window.s2stDebug = { record: false };

const view = roomAddress().listen ? "listener" : "speaker";
document.body.dataset.view = view;
for (const element of document.querySelectorAll("[data-for]")) element.hidden = element.dataset.for !== view;
await import(view === "listener" ? "./listener-page.js" : "./app.js");
