// The page's error banner: what went wrong in plain words (errors.js), and what it is about.

// ui: {error, errorText, errorDetails}. words: {text, details}, or null to clear. from: what the
// message is about, so that only its own success clears it.
export function showErrorIn(ui, words, from = "") {
  ui.errorText.textContent = words?.text ?? "";
  ui.errorDetails.textContent = words?.details ? `Details: ${words.details}` : "";
  ui.error.hidden = !words;
  ui.error.dataset.from = from;
}
