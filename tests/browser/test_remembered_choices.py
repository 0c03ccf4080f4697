"""The language pair and the headphones setting come back on a later visit, and a link can carry them (lite worker:
it offers many source languages)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from page_helpers import wait_until_ready_to_start
from playwright.sync_api import Page


def choices_in_address(page: Page) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(page.url).query))


def test_the_language_pair_and_headphones_are_remembered_and_a_link_can_carry_them(open_page, lite_gateway):
    page = open_page(f"{lite_gateway.base_url}/?from=fra&to=eng")
    wait_until_ready_to_start(page)
    assert (page.input_value("#source-language"), page.input_value("#target-language")) == ("fra", "eng")
    assert not page.is_checked("#headphones")
    page.select_option("#source-language", "spa")
    page.check("#headphones")
    assert choices_in_address(page) == {"from": "spa", "to": "eng", "headphones": "1"}  # the address is a ready link

    page.goto(lite_gateway.base_url)  # a later visit, the bare address
    wait_until_ready_to_start(page)
    assert page.input_value("#source-language") == "spa" and page.is_checked("#headphones")
    page.goto(f"{lite_gateway.base_url}/?from=deu")  # a link wins over what was stored
    wait_until_ready_to_start(page)
    assert page.input_value("#source-language") == "deu" and page.is_checked("#headphones")
    page.goto(f"{lite_gateway.base_url}/?from=xx-none")  # a language this server does not offer is passed over
    wait_until_ready_to_start(page)
    assert page.input_value("#source-language") == "deu"
    assert choices_in_address(page) == {"from": "deu", "to": "eng", "headphones": "1"}
