// A view's phase ("idle", "live", ...): kept in `state.phase` and on <body data-phase> for styling and
// the tests. `update()` enables and disables the view's controls for it; when that disabled the focused
// button, keyboard focus moves to the first usable one of `buttons`.
export function enterPhase(state, next, buttons, update) {
  state.phase = next;
  document.body.dataset.phase = next;
  const focused = document.activeElement;
  update();
  if (focused instanceof HTMLButtonElement && focused.disabled) buttons.find((button) => !button.disabled)?.focus();
}
