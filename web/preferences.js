// Choices a person makes once and expects back: the language pair and the headphones setting.
// They are kept in localStorage across visits; the page address can carry them
// (`?from=spa&to=eng&headphones=1`) and then wins, so a shared link opens ready. The address
// follows every choice, so it can be copied as such a link at any time.

const CHOICES = {
  source: { param: "from", storageKey: "s2st.source-language" }, // "" (absent): detect the language
  target: { param: "to", storageKey: "s2st.target-language" },
  headphones: { param: "headphones", storageKey: "s2st.headphones" }, // "1" or "0"
};

// The values asked for, best first: the address's, then the one stored on an earlier visit.
export function wanted(name) {
  const { param, storageKey } = CHOICES[name];
  return [new URLSearchParams(location.search).get(param), localStorage.getItem(storageKey)]
    .filter((value) => value !== null);
}

// Keeps `value` for the next visit and puts it in the address (defaults are left out of it).
export function remember(name, value) {
  const { param, storageKey } = CHOICES[name];
  localStorage.setItem(storageKey, value);
  const url = new URL(location.href);
  if (value === "" || (name === "headphones" && value === "0")) url.searchParams.delete(param);
  else url.searchParams.set(param, value);
  history.replaceState(history.state, "", url);
}
