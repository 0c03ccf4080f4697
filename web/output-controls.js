// The translated speech's controls: a volume slider, a mute toggle, and an indicator that shows
// while translated speech plays (also when muted: it says the translation is talking), held through
// the short silences between words so that it does not flicker.

export const SPEAKING_HOLD_MS = 400; // longer than the pauses between words, shorter than between sentences

export class OutputControls {
  // elements: {volume: <input type=range 0-100>, mute: <button aria-pressed>, speaking: element};
  // onGain(gain): the volume to apply, 0 to 1.
  constructor({ volume, mute, speaking }, onGain) {
    this.volume = volume;
    this.mute = mute;
    this.speaking = speaking;
    this.holdTimer = null;
    volume.addEventListener("input", () => onGain(this.gain));
    mute.addEventListener("click", () => {
      mute.setAttribute("aria-pressed", String(!this.muted));
      onGain(this.gain);
    });
    this.show(false);
  }

  get muted() {
    return this.mute.getAttribute("aria-pressed") === "true";
  }

  get gain() {
    return this.muted ? 0 : this.volume.valueAsNumber / 100;
  }

  // Speech starts showing at once and stops SPEAKING_HOLD_MS after it stopped, unless it came back.
  showSpeaking(playing) {
    clearTimeout(this.holdTimer);
    if (playing) this.show(true);
    else this.holdTimer = setTimeout(() => this.show(false), SPEAKING_HOLD_MS);
  }

  show(playing) {
    this.speaking.dataset.active = String(playing);
    this.speaking.textContent = playing ? "Speaking" : "Silent";
  }
}
