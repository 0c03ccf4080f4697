// The quiet banner of a `language_hint` event (docs/protocol.md): "This sounds like Spanish. Switch?",
// with a one-click switch to that spoken language, and a way to keep the one chosen.

export class LanguageHintBanner {
  // elements: {banner, text, accept, dismiss}; onSwitch(code): the person took the suggestion.
  constructor({ banner, text, accept, dismiss }, onSwitch) {
    Object.assign(this, { banner, text, accept });
    this.code = null;
    accept.addEventListener("click", () => {
      const code = this.code;
      this.hide();
      if (code !== null) onSwitch(code);
    });
    dismiss.addEventListener("click", () => this.hide());
  }

  // name: the suggested language's display name.
  show(code, name) {
    this.code = code;
    this.text.textContent = `This sounds like ${name}. Switch?`;
    this.accept.textContent = `Switch to ${name}`;
    this.banner.hidden = false;
  }

  hide() {
    this.code = null;
    this.banner.hidden = true;
  }
}
