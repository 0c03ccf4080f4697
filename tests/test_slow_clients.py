"""Clients that stop reading: cut off (1008) and really disconnected, whatever they keep doing.

A real gateway (two serving processes) and echo worker on loopback; the clients are
raw sockets with a tiny receive buffer that never read and never close, so the
close frame the gateway sends waits behind everything they did not take.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import websockets
from harness.polling import until
from harness.raw_ws import NonReadingClient
from harness.servers import Gateway, running, start_gateway
from harness.wsclient import ProtocolClient, connect

CLOSE_TIMEOUT_SECONDS = 2  # S2ST_WS_CLOSE_TIMEOUT_SECONDS of these gateways
# Within this a cut socket is gone: its close times out, and the connection is aborted (docs/protocol.md, 1008).
GONE_WITHIN_SECONDS = CLOSE_TIMEOUT_SECONDS + 3
HOG = {"X-Forwarded-For": "203.0.113.40"}  # the gateway believes X-Forwarded-For from loopback
BIG_FRAME = b"\x00\x01" * 32768  # 64 KiB of audio, echoed back whole
SLOW_CLIENT_ENV = {"S2ST_OUTBOUND_QUEUE_FRAMES": "16", "S2ST_WS_MAX_FRAMES_PER_SECOND": "0",
                   "S2ST_WS_CLOSE_TIMEOUT_SECONDS": str(CLOSE_TIMEOUT_SECONDS)}


def server_side_open(gateway_port: int, client: NonReadingClient) -> bool:
    """Whether the kernel still holds the gateway's end of client's connection (and with it, its send queue)."""
    local, remote = f":{gateway_port:04X}", f":{client.sock.getsockname()[1]:04X}"
    return any(fields[1].endswith(local) and fields[2].endswith(remote)
               for fields in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]))


async def admitted(gateway: Gateway, headers: dict[str, str], count: int) -> bool:
    """Whether `count` sockets at once from this address are accepted rather than refused 429 (its slots held)."""
    try:
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(count):
                await stack.enter_async_context(connect(gateway.ws_url, additional_headers=headers))
            return True
    except websockets.InvalidStatus as refusal:
        assert refusal.response.status_code == 429
        return False


async def until_admitted(gateway: Gateway, headers: dict[str, str], within: float, count: int = 1) -> None:
    deadline = time.monotonic() + within
    while not await admitted(gateway, headers, count):
        assert time.monotonic() < deadline, "the address's connection slots did not come back in time"
        await asyncio.sleep(0.2)  # the sockets of the last try give their slots back


async def test_a_client_that_does_not_read_gives_back_its_slot_socket_and_buffers_within_the_close_timeout(
        echo_worker, server_logs):
    env = {**SLOW_CLIENT_ENV, "S2ST_MAX_CONNECTIONS_PER_IP": "1"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:
        client = NonReadingClient(gateway.port, headers=HOG)
        client.send(json.dumps({"type": "start", "target_language": "eng"}).encode(), opcode=0x1)
        for _ in range(3000):  # at most 190 MB: the gateway gives up long before
            try:
                client.send(BIG_FRAME, opcode=0x2)
            except OSError:  # the gateway stopped taking frames
                break
        assert "does not read" in gateway.log()
        await until_admitted(gateway, HOG, GONE_WITHIN_SECONDS)  # the address's one connection slot is back
        await until(lambda: not server_side_open(gateway.port, client), timeout=1,
                    what="the gateway's end of the connection (its descriptor and send queue) is gone")
        client.sock.close()


def test_what_waits_for_a_client_is_bounded_in_bytes_whatever_the_frame_count(echo_worker, server_logs):
    env = {**SLOW_CLIENT_ENV, "S2ST_OUTBOUND_QUEUE_FRAMES": "100000", "S2ST_OUTBOUND_QUEUE_BYTES": str(1 << 20)}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:
        before = gateway.rss_mb()
        client = NonReadingClient(gateway.port)
        client.send(json.dumps({"type": "start", "target_language": "eng"}).encode(), opcode=0x1)
        for _ in range(3000):  # at most 190 MB of echoed audio
            try:
                client.send(BIG_FRAME, opcode=0x2)
            except OSError:
                break
        assert "does not read" in gateway.log()  # cut by the bytes it let pile up, long before the frame count
        assert gateway.rss_mb() - before < 100
        client.sock.close()


async def test_room_listeners_that_do_not_read_give_back_their_slots_and_sockets(echo_worker, server_logs):
    """Some of them reach the room through the other serving process, which relays them (gateway/rooms/routing.py)."""
    env = {**SLOW_CLIENT_ENV, "S2ST_MAX_CONNECTIONS_PER_IP": "4"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:
        async with connect(gateway.ws_url) as ws:
            speaker = ProtocolClient(ws)
            await speaker.send({"type": "create_room", "languages": ["eng"]})
            room = await speaker.until("room")
            listeners = [NonReadingClient(gateway.port, f"/ws/rooms/{room['room_id']}", HOG) for _ in range(4)]
            for listener in listeners:
                listener.send(json.dumps({"type": "join", "key": room["listener_key"],
                                          "target_language": "eng"}).encode(), opcode=0x1)
            while (await speaker.until("listeners"))["total"] < len(listeners):
                pass
            total = len(listeners)
            while total:  # the room's audio fills every listener's buffers until each is cut off
                await speaker.send(BIG_FRAME)
                total = await _listener_total(speaker, total)
            await until_admitted(gateway, HOG, GONE_WITHIN_SECONDS, count=len(listeners))
            await until(lambda: not any(server_side_open(gateway.port, listener) for listener in listeners), timeout=1,
                        what="the gateway's ends of the listeners' connections are gone")
            for listener in listeners:
                listener.sock.close()


async def _listener_total(speaker: ProtocolClient, last: int) -> int:
    """The latest listener total the speaker heard of (last, when none came meanwhile)."""
    with contextlib.suppress(TimeoutError):
        while True:
            event = await speaker.receive(0.05)
            if isinstance(event, dict) and event["type"] == "listeners":
                last = event["total"]
    return last
