"""The page offers only the target languages the chosen source reaches (lite worker: English into Spanish
through Apertium, any language into English through Whisper)."""

from __future__ import annotations

from page_helpers import wait_until_ready_to_start
from playwright.sync_api import Page


def offered_targets(page: Page) -> list[str]:
    return page.eval_on_selector_all("#target-language option:not([disabled])", "options => options.map(o => o.value)")


def test_the_page_offers_spanish_to_an_english_speaker_and_only_targets_each_source_reaches(open_page, lite_gateway):
    page = open_page(f"{lite_gateway.base_url}/?from=eng&to=spa")
    wait_until_ready_to_start(page)
    assert page.input_value("#target-language") == "spa"
    assert {"eng", "spa", "cat"} <= set(offered_targets(page))
    page.select_option("#source-language", "deu")  # German reaches English only
    assert offered_targets(page) == ["eng"] and page.input_value("#target-language") == "eng"
    page.select_option("#source-language", "spa")
    spanish_reaches = set(offered_targets(page))
    assert {"eng", "spa"} <= spanish_reaches and "cat" not in spanish_reaches
    page.select_option("#source-language", "")  # detected: whatever some language reaches
    every_target = page.eval_on_selector_all("#target-language option", "options => options.map(o => o.value)")
    assert offered_targets(page) == every_target and "cat" in every_target
