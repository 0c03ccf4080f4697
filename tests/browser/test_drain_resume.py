"""A release drains a gateway or a worker while a person talks: the page goes on with a new session by itself
(web/resume.js), on the next socket or on another worker, and keeps the transcript it had."""

from __future__ import annotations

import pytest
from page_helpers import RECORD_SERVER_EVENTS, server_events, spanish_wav, wait_until_ready_to_start
from playwright.sync_api import Page, expect
from harness.servers import running, start_gateway, start_worker
from harness.speech import two_phrases

SHORT_DRAIN = {"S2ST_SHUTDOWN_GRACE_SECONDS": "1"}  # the live session outlasts it: the drain ends it


def sessions(page: Page) -> list[str]:
    return [event["session_id"] for event in server_events(page, "ready")]


def wait_for_error(page: Page, code: str) -> None:
    page.wait_for_function("(code) => window.serverEvents.some((e) => e.type === 'error' && e.code === code && e.fatal)",
                           arg=code, timeout=15_000)


def source_text(page: Page) -> str:
    return page.locator("#source-transcript").inner_text().lower()


@pytest.mark.timeout(240)
def test_a_gateway_drained_mid_session_costs_a_new_session_not_the_transcript(open_page, lite_worker, server_logs,
                                                                             tmp_path):
    # Phrase one, a pause long enough for the drain and the reconnection, phrase two.
    microphone = two_phrases(tmp_path / "phrases.wav", pause_s=25.0)
    gateway = start_gateway(lite_worker.address, SHORT_DRAIN, log_dir=server_logs)
    with running(gateway):
        page = open_page(gateway.base_url, microphone, init_script=RECORD_SERVER_EVENTS)
        wait_until_ready_to_start(page)
        page.select_option("#source-language", "spa")
        page.click("#start")
        expect(page.locator("#source-transcript li:not(.partial)").first).to_contain_text("días", timeout=90_000)
        before = page.locator("#source-transcript li").all_inner_texts()
        gateway.stop()  # SIGTERM: the drain's grace, then `shutting_down` and close 1001
    wait_for_error(page, "shutting_down")
    with running(start_gateway(lite_worker.address, log_dir=server_logs, port=gateway.port)):
        page.wait_for_function("window.serverEvents.filter((event) => event.type === 'ready').length >= 2",
                               timeout=30_000)
        expect(page.locator("body")).to_have_attribute("data-phase", "live")  # nobody pressed Start
        first, second = sessions(page)
        assert first != second
        assert page.locator("#source-transcript li").all_inner_texts()[:len(before)] == before  # kept
        expect(page.locator("#error")).to_be_hidden()
        # The second phrase, spoken after the drain, is heard by the new session.
        expect(page.locator("#source-transcript")).to_contain_text("museo", ignore_case=True, timeout=90_000)
        assert "días" in source_text(page)


@pytest.mark.timeout(120)
def test_a_worker_drained_mid_session_hands_the_session_to_another_worker(open_page, server_logs, tmp_path):
    with (running(start_worker("echo", SHORT_DRAIN, log_dir=server_logs)) as a,
          running(start_worker("echo", SHORT_DRAIN, log_dir=server_logs)) as b,
          running(start_gateway(f"{a.address},{b.address}", log_dir=server_logs)) as gateway):
        page = open_page(gateway.base_url, spanish_wav(tmp_path, 48000, 1.0), init_script=RECORD_SERVER_EVENTS)
        wait_until_ready_to_start(page)
        page.click("#start")
        expect(page.locator("body")).to_have_attribute("data-phase", "live", timeout=15_000)
        serving, other = (a, b) if a.metric("s2st_worker_active_sessions") == 1 else (b, a)
        assert serving.metric("s2st_worker_active_sessions") == 1
        serving.stop()  # SIGTERM: NOT_SERVING, its grace, then its streams end UNAVAILABLE
        wait_for_error(page, "worker_unavailable")
        page.wait_for_function("window.serverEvents.filter((event) => event.type === 'ready').length >= 2",
                               timeout=15_000)
        expect(page.locator("body")).to_have_attribute("data-phase", "live")
        assert other.metric("s2st_worker_active_sessions") == 1
        first, second = sessions(page)
        assert first != second
        # The microphone goes on into the new session: the echo of its audio comes back under the new id.
        page.wait_for_function("(id) => window.s2stDebug.spokenSegments.some((s) => s.startsWith(id + ':'))",
                               arg=second, timeout=15_000)
