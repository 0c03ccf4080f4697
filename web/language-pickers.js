// The page's two language pickers, filled from an /api/languages answer (docs/protocol.md): each starts on
// the choice the address or an earlier visit asked for and remembers the next (preferences.js); the target
// offers only what the source reaches (language-routes.js) and marks what comes back as text only.

import { offerOnly, reachableTargets } from "./language-routes.js";
import { remember, wanted } from "./preferences.js";

// source, target: the <select> elements; body: the /api/languages answer.
// -> Set of the target codes with translated speech
export function fillPickers(source, target, body) {
  const speechTargets = new Set(body.speech_output_languages.map(({ code }) => code));
  if (body.source_language_selectable) fillPicker(source, "source", body.source_languages, "");
  else source.dataset.fixed = "true";
  fillPicker(target, "target", body.target_languages, "eng",
    ({ code, name }) => (speechTargets.has(code) ? name : `${name} (text only)`));
  const offerTargets = () => offerOnly(target, reachableTargets(body, source.value));
  offerTargets();
  source.addEventListener("change", offerTargets);
  return speechTargets;
}

// choice: the preferences.js name of what the picker chooses; fallback: when nothing offered is wanted.
function fillPicker(select, choice, languages, fallback, label = ({ name }) => name) {
  for (const language of languages) select.add(new Option(label(language), language.code));
  const offered = [...select.options].map((option) => option.value);
  select.value = [...wanted(choice), fallback, offered[0]].find((code) => offered.includes(code));
  remember(choice, select.value);
  select.addEventListener("change", () => remember(choice, select.value));
}
