"""Errors in plain words: every error code and close code of docs/protocol.md has a sentence a person understands,
and the raw code appears only in the details line. Real failures (a full service, a blocked microphone, a gateway
restart) show those words in a real browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

from page_helpers import spanish_wav, wait_until_ready_to_start
from playwright.sync_api import Page, expect
from harness.servers import running, start_gateway, start_worker
from websockets.sync.client import connect

PROTOCOL_DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
PHONE = {"width": 360, "height": 740}


def documented(section: str, row: str) -> list[str]:
    """The first cells of the rows of a docs/protocol.md table, from `section`'s heading to the next heading."""
    body = PROTOCOL_DOC.split(section, 1)[1].split("\n#", 1)[0]
    return re.findall(row, body, re.M)


ERROR_CODES = documented("### `error`", r"^\| `([a-z_]+)` \|")
CLOSE_CODES = [int(code) for code in documented("## Close codes", r"^\| (\d{4}) \|")]

# Every description the page can give for these codes, and its words for a code it does not know.
WORDS_JS = """async ([errorCodes, closeCodes]) => {
  const { serverErrorWords, closeWords } = await import(new URL("errors.js", location.href));
  const describe = (code, fatal) => serverErrorWords({ code, message: "the server's own message", fatal });
  return {
    errors: errorCodes.flatMap((code) => [true, false].map((fatal) => [code, describe(code, fatal)])),
    unknownError: [describe("no_such_code", true).text, describe("no_such_code", false).text],
    closes: closeCodes.map((code) => [String(code), closeWords(code)]),
    unknownClose: closeWords(4999).text,
  };
}"""


def shown_error(page: Page) -> tuple[str, str]:
    return page.locator("#error-text").inner_text(), page.locator("#error-details").inner_text()


def test_every_documented_error_and_close_code_has_its_own_plain_words(open_page, echo_gateway):
    assert {"busy", "worker_unavailable", "forbidden", "internal"} <= set(ERROR_CODES)  # the table was read
    assert {1001, 1008, 1011} <= set(CLOSE_CODES)
    page = open_page(echo_gateway.base_url)
    words = page.evaluate(WORDS_JS, [ERROR_CODES, CLOSE_CODES])
    for code, description in words["errors"] + words["closes"]:
        text = description["text"]
        assert text not in [*words["unknownError"], words["unknownClose"]], f"no words for {code}"
        assert code not in text and not re.search(r"\b[a-z]+_[a-z_]+\b|\b\d{4}\b", text), f"a raw code on screen: {text}"
        assert re.fullmatch(r"[A-Z].*[.!]", text), f"not a sentence: {text}"
        assert code in description["details"], description


def test_a_full_service_says_to_try_again_in_a_minute(open_page, server_logs, tmp_path, artifacts):
    with running(start_worker("echo", {"S2ST_MAX_SESSIONS": "1"}, log_dir=server_logs)) as worker, \
            running(start_gateway(worker.address, log_dir=server_logs)) as gateway, \
            connect(gateway.ws_url) as someone_else:  # holds the only slot
        someone_else.send(json.dumps({"type": "start", "target_language": "eng"}))
        assert json.loads(someone_else.recv(timeout=10))["type"] == "ready"
        page = open_page(gateway.base_url, spanish_wav(tmp_path, 48000, 0.5))
        wait_until_ready_to_start(page)
        page.click("#start")
        expect(page.locator("#error-text")).to_have_text(
            "All translators are in use right now. Please try again in a minute.", timeout=15_000)
        text, details = shown_error(page)
        assert "busy" not in text and details.startswith("Details: busy:"), details
        expect(page.locator("#start")).to_be_enabled()
        expect(page.locator("#session-status")).to_have_text("Not started.")  # refused: it never ran, so never stopped
        page.screenshot(path=str(artifacts / "web-client-busy.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(artifacts / "web-client-busy-phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the details line overflows"


def test_a_blocked_microphone_says_how_to_allow_it(open_page, echo_gateway):
    # Known defect of web/capture.js, left to its owner: when getUserMedia fails it closes the AudioContext while
    # the worklet module it started loading is still pending, and that rejection goes unobserved.
    page = open_page(echo_gateway.base_url, microphone_allowed=False)
    wait_until_ready_to_start(page)
    page.click("#start")
    expect(page.locator("#error-text")).to_contain_text("Microphone access is blocked")
    text, details = shown_error(page)
    assert "set Microphone to Allow, then press Start" in text
    assert details.startswith("Details: NotAllowedError"), details
    expect(page.locator("body")).to_have_attribute("data-phase", "idle")
    expect(page.locator("#start")).to_be_enabled()


def test_a_page_opened_without_its_access_token_says_to_open_the_link(open_page, echo_worker, server_logs):
    with running(start_gateway(echo_worker.address, {"S2ST_API_TOKENS": "a-token-for-tests"}, log_dir=server_logs)) as gateway:
        page = open_page(gateway.base_url)  # the socket is refused too (1006), again and again
        expect(page.locator("#error-text")).to_have_text("This page needs an access token. Open the link you were given.")
        expect(page.locator("#connection-state")).to_contain_text("Reconnecting")
        page.wait_for_timeout(1500)  # reconnection attempts do not cover the words
        assert shown_error(page) == ("This page needs an access token. Open the link you were given.",
                                     "Details: HTTP 401: a valid token is required")


def test_a_restarting_gateway_is_explained_and_the_words_go_once_it_is_back(open_page, echo_worker, server_logs):
    gateway = start_gateway(echo_worker.address, log_dir=server_logs)
    with running(gateway):
        page = open_page(gateway.base_url)
        wait_until_ready_to_start(page)
    expect(page.locator("#error-text")).to_have_text("The server is restarting. The page reconnects by itself.")
    assert shown_error(page)[1] == "Details: close code 1001"
    expect(page.locator("#connection-state")).to_contain_text("Reconnecting")
    with running(start_gateway(echo_worker.address, log_dir=server_logs, port=gateway.port)):
        expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected", timeout=20_000)
        expect(page.locator("#error")).to_be_hidden()


def test_a_session_a_restart_cut_says_so_until_a_new_session_goes_on(open_page, echo_worker, server_logs, tmp_path):
    """A drained gateway ends a live session with `shutting_down`: the page says why while it reconnects and goes
    on with a new session by itself (web/resume.js), and the words go with the new session's `ready`."""
    no_grace = {"S2ST_SHUTDOWN_GRACE_SECONDS": "0"}
    gateway = start_gateway(echo_worker.address, no_grace, log_dir=server_logs)
    with running(gateway):
        page = open_page(gateway.base_url, spanish_wav(tmp_path, 48000, 0.5))
        wait_until_ready_to_start(page)
        page.click("#start")
        expect(page.locator("body")).to_have_attribute("data-phase", "live", timeout=10_000)
    expect(page.locator("#error-text")).to_contain_text("The server is restarting.")
    assert "Press Start" not in shown_error(page)[0]  # nothing for the person to do
    with running(start_gateway(echo_worker.address, no_grace, log_dir=server_logs, port=gateway.port)):
        expect(page.locator("body")).to_have_attribute("data-phase", "live", timeout=20_000)
        expect(page.locator("#error")).to_be_hidden()
