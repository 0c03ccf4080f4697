// The page's error banner: what went wrong in plain words (errors.js), and what it is about.

import { closeWords } from "./errors.js";

// ui: {error, errorText, errorDetails}. words: {text, details}, or null to clear. from: what the
// message is about, so that only its own success clears it.
export function showErrorIn(ui, words, from = "") {
  ui.errorText.textContent = words?.text ?? "";
  ui.errorDetails.textContent = words?.details ? `Details: ${words.details}` : "";
  ui.error.hidden = !words;
  ui.error.dataset.from = from;
}

// The socket closed with `code` and the page reconnects: say why, unless the words on show are a restart's
// (close 1001) and this is one of the reconnections it refuses (1006), which would only say less.
export function showCloseWordsIn(ui, code) {
  const shown = ui.error.dataset.from === "connection" ? ui.error.dataset.closeCode : "";
  if (shown === "1001" && code === 1006) return;
  showErrorIn(ui, closeWords(code), "connection");
  ui.error.dataset.closeCode = String(code);
}
