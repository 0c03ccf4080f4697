"""The page as assistive technology reads it: Chromium's accessibility tree (Playwright's ARIA snapshot), the polite
live region for transcripts, and the contrast of every visible piece of text (WCAG AA). The keyboard order is
test_web_client.py::test_every_control_is_reachable_and_usable_from_the_keyboard."""

from __future__ import annotations

import re

from page_helpers import spanish_wav, wait_until_ready_to_start
from playwright.sync_api import Page, expect

# The page's structure: landmarks, headings, and every control with its accessible name. Partial: the
# template's nodes must appear, in this order; nodes it leaves out may sit between them.
PAGE_TREE = """
- banner:
  - heading "Speech translation" [level=1]
  - status: Connected
- main:
  - region "Session":
    - combobox "I speak"
    - combobox "Translate into"
    - button "Start"
    - button "Stop" [disabled]
    - button "Reset"
    - meter "Microphone"
    - checkbox "I use headphones"
    - group "Translated speech":
      - slider "Volume": "100"
      - button "Mute"
      - text: Silent
  - status: Idle
  - heading "What was said" [level=2]
  - list "What was said"
  - heading "Translation" [level=2]
  - list "Translation"
  - region "Keep the transcript":
    - group "Download":
      - button "Text" [disabled]
      - button "Subtitles (SRT)" [disabled]
      - button "JSON" [disabled]
    - button "Copy" [disabled]
    - button "Clear" [disabled]
    - status: Kept in this browser until you press Clear.
  - region "How far behind the translation is":
    - heading "How far behind the translation is" [level=2]
    - 'img "Lag timeline: no sentence finished yet."'
"""

# Text whose contrast against what lies behind it is below WCAG AA: 4.5:1, or 3:1 for large text. Disabled
# controls are exempt (WCAG 1.4.3), as is text hidden from sight.
LOW_CONTRAST_JS = """() => {
  const rgba = (css) => css.match(/[\\d.]+/g).map(Number).concat([1]).slice(0, 4);
  const over = ([r, g, b, a], [R, G, B]) => [r * a + R * (1 - a), g * a + G * (1 - a), b * a + B * (1 - a)];
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const behind = (element) => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) layers.push(rgba(getComputedStyle(e).backgroundColor));
    return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255]);
  };
  const opacity = (element) => {
    let product = 1;
    for (let e = element; e; e = e.parentElement) product *= Number(getComputedStyle(e).opacity);
    return product;
  };
  const low = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || !element.checkVisibility({ visibilityProperty: true })) continue;
    if (element.closest(":disabled, .visually-hidden, option")) continue;
    const style = getComputedStyle(element);
    const [r, g, b, a] = rgba(element instanceof SVGElement ? style.fill : style.color);
    const background = behind(element);
    const ink = over([r, g, b, a * opacity(element)], background);
    const [light, dark] = [luminance(ink), luminance(background)].sort((x, y) => y - x);
    const ratio = (light + 0.05) / (dark + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) low.push(`${walker.currentNode.textContent.trim().slice(0, 40)}: ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def low_contrast(page: Page) -> list[str]:
    return page.evaluate(LOW_CONTRAST_JS)


def test_the_page_reads_well_to_assistive_technology_and_every_text_has_contrast(open_page, echo_gateway, tmp_path):
    page = open_page(echo_gateway.base_url, spanish_wav(tmp_path, 48000, 0.5))
    wait_until_ready_to_start(page)
    expect(page.locator("body")).to_match_aria_snapshot(PAGE_TREE)
    # Transcripts are announced through a polite live region, outside the lists that partials keep changing.
    assert page.get_attribute("#announcer", "aria-live") == "polite"
    assert page.get_attribute("#error", "role") == "alert"
    assert low_contrast(page) == []

    page.click("#start")  # live: the speaking indicator lit, the timeline drawn
    expect(page.locator("#speaking")).to_have_attribute("data-active", "true", timeout=10_000)
    expect(page.locator("#timeline rect.translation")).to_have_count(1)
    assert low_contrast(page) == []
    page.click("#stop")
    expect(page.locator("#session-status")).to_have_text("Stopped", timeout=10_000)
    expect(page.locator("#timeline path.ending-offset")).to_have_count(1)
    expect(page.locator("#timeline")).to_have_attribute("aria-label", re.compile(
        r"Lag timeline of 1 finished sentence\. Last: the translation began \d+\.\d s after the speech did and ended "
        r"\d+\.\d s after it\."))


def test_an_error_is_announced_as_an_alert_with_readable_contrast(open_page, echo_gateway):
    # Known defect of web/capture.js (see test_errors_in_words.py): a blocked microphone leaves a rejection unobserved.
    page = open_page(echo_gateway.base_url, microphone_allowed=False)
    wait_until_ready_to_start(page)
    page.click("#start")
    expect(page.get_by_role("alert")).to_contain_text("Microphone access is blocked")
    assert low_contrast(page) == []
