// Which target languages a source language reaches, from /api/languages `routes` (docs/protocol.md):
// every source of a route reaches every target of that route. A detected source ("") may turn out
// to be any of them, so it is offered every target some source reaches.

// body: the /api/languages answer; source: an ISO 639-3 code, or "" for detection. -> Set of codes
export function reachableTargets(body, source) {
  const routes = body.routes ?? [];
  if (routes.length === 0) return new Set(body.target_languages.map(({ code }) => code)); // an older worker
  const reached = routes.filter((route) => source === "" || route.sources.includes(source));
  return new Set(reached.flatMap((route) => route.targets));
}

// Offer in `select` only the options `reachable` holds; keep the choice when it is still offered,
// else take the first one offered (announced as a change, so it is remembered like a person's pick).
export function offerOnly(select, reachable) {
  for (const option of select.options) option.hidden = option.disabled = !reachable.has(option.value);
  if (select.selectedOptions[0]?.disabled) {
    const first = [...select.options].find((option) => !option.disabled);
    if (first) {
      select.value = first.value;
      select.dispatchEvent(new Event("change"));
    }
  }
}
