"""Frames an attacker sends to /ws: each gets its documented error and the socket keeps working.

Real gateway (uvicorn) and echo worker on loopback; the frames are sent raw, as
any client could, since a browser's JSON encoder would never produce some of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time

import pytest
from harness.held_replies import HeldReplies
from harness.raw_ws import NonReadingClient
from harness.servers import running, start_gateway
from harness.wsclient import ProtocolClient, connect

FRAME = b"\x03\x00" * 320  # 20 ms at 16 kHz


def start_frame(**fields) -> str:
    return json.dumps({"type": "start", "target_language": "eng", **fields})


async def still_relays_audio(client: ProtocolClient, live: bool = False) -> None:
    """A clean session (the live one, or a new one) round-trips on the same socket."""
    if not live:
        assert (await client.start())["type"] == "ready"
    client.audio.clear()
    await client.send(FRAME)
    await client.send({"type": "stop"})
    await client.until("ended")
    assert client.received_pcm() == FRAME


@pytest.mark.parametrize("frame", [
    start_frame(sample_rate=-1),
    start_frame(sample_rate=2**32),
    start_frame(sample_rate=10**40),
    start_frame(target_language="\ud800"),
    start_frame(source_language="spa\udfff"),
    start_frame(client_label="\udc00label"),
    start_frame(options={"\ud800": "x"}),
    start_frame(options={"beam": "\udbff"}),
], ids=["rate-negative", "rate-2^32", "rate-huge", "surrogate-target", "surrogate-source", "surrogate-label",
        "surrogate-option-name", "surrogate-option-value"])
async def test_values_the_wire_cannot_carry_get_bad_message_and_the_socket_lives(echo_gateway, frame):
    async with connect(echo_gateway.ws_url) as ws:
        client = ProtocolClient(ws)
        await client.send(frame)
        error = await client.until("error")
        assert (error["code"], error["fatal"]) == ("bad_message", False)
        await still_relays_audio(client)
        assert ws.close_code is None


@pytest.mark.parametrize("live", [False, True], ids=["idle", "live-session"])
async def test_deeply_nested_json_gets_bad_json_and_the_socket_lives(echo_gateway, live):
    depth = 2000  # 4001 bytes: under the 4096-byte text limit, twice the parser's recursion limit
    async with connect(echo_gateway.ws_url) as ws:
        client = ProtocolClient(ws)
        if live:
            assert (await client.start())["type"] == "ready"
        await client.send("[" * depth + "0" + "]" * depth)
        error = await client.until("error")
        assert (error["code"], error["fatal"]) == ("bad_json", False)
        await still_relays_audio(client, live)


@pytest.fixture(scope="module")
def limited_gateway(echo_worker, server_logs):
    env = {"S2ST_WS_MAX_FRAMES_PER_SECOND": "50", "S2ST_WS_BURST_SECONDS": "5"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:
        yield gateway


async def test_stop_after_a_flood_is_never_dropped(limited_gateway):
    async with connect(limited_gateway.ws_url) as ws:
        client = ProtocolClient(ws)
        assert (await client.start())["type"] == "ready"
        for _ in range(600):
            await client.send(b"\x00\x00")
        await client.send({"type": "stop"})
        await client.until("ended")
    assert any(e.get("code") == "rate_limited" for e in client.events)


async def test_speech_queued_during_a_network_stall_gets_through_whole(limited_gateway):
    """Five seconds of 20 ms frames arrive at once: within the burst allowance, nothing is dropped."""
    async with connect(limited_gateway.ws_url) as ws:
        client = ProtocolClient(ws)
        assert (await client.start())["type"] == "ready"
        frames = [bytes([index % 251, 0]) * 320 for index in range(240)]
        for frame in frames:
            await client.send(frame)
        await client.send({"type": "stop"})
        await client.until("ended")
    assert not [e for e in client.events if e["type"] == "error"]
    assert client.received_pcm() == b"".join(frames)


@pytest.fixture(scope="module")
def silent_worker_address():
    """A TCP server that accepts connections and never answers: a worker hung in its start."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


@pytest.fixture
def hung_gateway(silent_worker_address, server_logs):
    """A gateway of its own for each test: a start abandoned by one test leaves the channel to the silent worker
    backing off, and the next start would fail at once instead of at the deadline."""
    env = {"S2ST_WORKER_TIMEOUT_SECONDS": "2", "S2ST_START_ATTEMPTS": "3"}
    with running(start_gateway(silent_worker_address, env, log_dir=server_logs)) as gateway:
        yield gateway


async def test_a_start_against_a_hung_worker_fails_at_the_configured_deadline(hung_gateway):
    async with connect(hung_gateway.ws_url) as ws:
        client = ProtocolClient(ws)
        began = time.monotonic()
        error = await client.start()
        waited = time.monotonic() - began
    assert (error["code"], error["fatal"]) == ("worker_unavailable", True)
    assert 1.5 < waited < 3.5, waited


async def test_stop_and_close_still_work_while_a_start_hangs(hung_gateway):
    async with connect(hung_gateway.ws_url) as ws:
        client = ProtocolClient(ws)
        await client.send(start_frame())
        await asyncio.sleep(0.3)
        began = time.monotonic()
        await client.send({"type": "stop"})
        await client.until("ended", timeout=1.0)
        assert time.monotonic() - began < 1.0
        await client.send({"type": "dance"})  # the socket handles frames at once again
        assert (await client.until("error", timeout=1.0))["code"] == "unknown_type"


async def test_audio_held_before_ready_is_bounded_in_bytes(silent_worker_address, server_logs):
    env = {"S2ST_WORKER_TIMEOUT_SECONDS": "30", "S2ST_OUTBOUND_QUEUE_BYTES": "65536"}
    with running(start_gateway(silent_worker_address, env, log_dir=server_logs)) as gateway:
        async with connect(gateway.ws_url) as ws:
            client = ProtocolClient(ws)
            await client.send(start_frame())  # never answered: the session stays STARTING
            for _ in range(3):  # 32 KiB each: the third is over what the gateway holds for it
                await client.send(b"\x01\x00" * 16384)
            error = await client.until("error")
            assert (error["code"], error["fatal"]) == ("rate_limited", False)


async def test_audio_sent_before_ready_reaches_the_worker_first_and_in_order(echo_gateway):
    async with connect(echo_gateway.ws_url) as ws:
        client = ProtocolClient(ws)
        await client.send(start_frame())
        early = [bytes([index, 0]) * 320 for index in range(1, 30)]
        for frame in early:
            await client.send(frame)
        await client.until("ready")
        await client.send(FRAME)
        await client.send({"type": "stop"})
        await client.until("ended")
    assert client.received_pcm() == b"".join(early) + FRAME


async def test_audio_past_the_cap_before_ready_is_dropped_with_rate_limited(echo_worker, server_logs):
    """S2ST_OUTBOUND_QUEUE_FRAMES frames are held while the worker is slow to answer `start`; the rest are dropped."""
    cap = 8
    proxy = HeldReplies(echo_worker.address)
    env = {"S2ST_OUTBOUND_QUEUE_FRAMES": str(cap), "S2ST_WORKER_TIMEOUT_SECONDS": "30"}
    try:
        with running(start_gateway(proxy.address, env, log_dir=server_logs)) as gateway:
            async with connect(gateway.ws_url) as ws:
                client = ProtocolClient(ws)
                early = [bytes([index, 0]) * 320 for index in range(1, 3 * cap + 1)]
                with proxy.held():  # the worker's `accepted` waits in the proxy
                    await client.send(start_frame())
                    for frame in early:
                        await client.send(frame)
                    error = await client.until("error")
                    assert (error["code"], error["fatal"]) == ("rate_limited", False)
                assert (await client.until("ready"))["type"] == "ready"
                await client.send(FRAME)
                await client.send({"type": "stop"})
                await client.until("ended")
    finally:
        proxy.close()
    assert client.received_pcm() == b"".join(early[:cap]) + FRAME  # the held ones first, the rest never


async def test_one_address_cannot_take_every_worker_slot(server_logs):
    from harness.servers import start_worker

    with (running(start_worker("echo", {"S2ST_MAX_SESSIONS": "4"}, log_dir=server_logs)) as worker,
          running(start_gateway(worker.address, {"S2ST_MAX_SESSIONS_PER_IP": "3", "S2ST_TRUSTED_PROXIES": "*"},
                                log_dir=server_logs)) as gateway):
        hog = {"X-Forwarded-For": "203.0.113.7"}
        sockets = [connect(gateway.ws_url, additional_headers=hog) for _ in range(4)]
        opened = [await socket_.__aenter__() for socket_ in sockets]
        try:
            answers = [await ProtocolClient(ws).start() for ws in opened]
            assert [a["type"] for a in answers[:3]] == ["ready"] * 3
            assert (answers[3]["code"], answers[3]["fatal"]) == ("too_many_sessions", True)
            async with connect(gateway.ws_url, additional_headers={"X-Forwarded-For": "198.51.100.9"}) as ws:
                assert (await ProtocolClient(ws).start())["type"] == "ready"  # someone else still gets in
        finally:
            for socket_ in sockets:
                await socket_.__aexit__(None, None, None)


async def test_starts_beyond_the_stream_open_rate_are_dropped_with_rate_limited(echo_worker, server_logs):
    """Each `start` opens a worker stream: a start and stop loop is held to S2ST_WS_STREAM_OPENS_*."""
    env = {"S2ST_WS_STREAM_OPENS_PER_SECOND": "0.001", "S2ST_WS_STREAM_OPENS_BURST": "2"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:
        async with connect(gateway.ws_url) as ws:
            client = ProtocolClient(ws)
            answers = []
            for _ in range(4):
                answers.append(await client.start())
                if answers[-1]["type"] == "ready":
                    await client.send({"type": "stop"})
                    await client.until("ended")
    assert [a["type"] for a in answers[:2]] == ["ready"] * 2
    assert [(a.get("code"), a.get("fatal")) for a in answers[2:]] == [("rate_limited", False)] * 2


async def test_an_idle_session_ends_as_idle_timeout_and_the_socket_stays(server_logs):
    from harness.servers import start_worker

    with (running(start_worker("echo", {"S2ST_IDLE_SESSION_SECONDS": "1"}, log_dir=server_logs)) as worker,
          running(start_gateway(worker.address, log_dir=server_logs)) as gateway):
        async with connect(gateway.ws_url) as ws:
            client = ProtocolClient(ws)
            assert (await client.start())["type"] == "ready"
            error = await client.until("error", timeout=5)
            assert (error["code"], error["fatal"]) == ("idle_timeout", True)
            await client.until("ended")
            await still_relays_audio(client)


async def test_a_client_that_closes_mid_session_gets_1000_back(echo_gateway):
    async with connect(echo_gateway.ws_url) as ws:
        assert (await ProtocolClient(ws).start())["type"] == "ready"
        await ws.close(1000)
    answer = ws.protocol.close_rcvd  # the gateway's close frame, not our own
    assert answer is not None and answer.code == 1000


def test_a_frame_over_the_transport_limit_closes_the_socket_with_1009(echo_gateway):
    client = NonReadingClient(echo_gateway.port)
    client.send(json.dumps({"type": "start", "target_language": "eng"}).encode(), opcode=0x1)
    with contextlib.suppress(OSError):  # the gateway may close before it has read the whole frame
        client.send(b"\x00\x01" * (2**19 + 1), opcode=0x2)  # 1 MiB + 2 bytes
    code = client.close_code()
    client.sock.close()
    assert code == 1009


def test_a_text_frame_that_is_not_utf8_closes_the_socket_with_1007(echo_gateway):
    client = NonReadingClient(echo_gateway.port)
    client.send(b'{"type": "\xff"}', opcode=0x1)
    code = client.close_code()
    client.sock.close()
    assert code == 1007
