"""The two clients of a room fan-out bench (docs/protocol.md, "Rooms"): one speaker, many listeners.

Listeners measure, per stamped transcript of bench/stamping_worker.py, the time from
the worker's emission to their socket. Many listeners in one Python process would
make the client the bottleneck, so `listen` is the entry point of one client
process holding a share of them; the bench runs several such processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import websockets

from bench.relay import FrameTimer, paced
from harness.wsclient import ProtocolClient, connect

ROOM_LANGUAGE = "eng"
CLOSE_SLOW_CLIENT = 1008  # the gateway cuts off a listener that does not read (docs/protocol.md)
JOIN_TIMEOUT_S = 120.0  # a thousand handshakes and joins on a shared 2-core machine take a while
END_TIMEOUT_S = 60.0  # end_room to room_ended: the streams' last events first


@dataclass
class ListenerTally:
    """What one client process's listeners received."""

    stamps_ns: np.ndarray  # every stamped transcript of every listener: the worker's emission time
    latencies_ms: np.ndarray  # and its time from the worker to the listener's socket
    received: list[int]  # transcripts and audio frames, per listener that stayed to the end
    cut_off: int  # listeners the gateway closed with 1008
    failed: int  # listeners that could not join, or ended otherwise
    cpu_seconds: float  # this process's CPU time from its first stamp until its listeners are done
    wall_seconds: float


@dataclass
class _Listener:
    stamps_ns: list[int] = field(default_factory=list)
    latencies_ns: list[int] = field(default_factory=list)
    received: int = 0
    outcome: Literal["stayed", "cut_off", "failed"] = "failed"  # stayed: to room_ended


async def _listen_one(url: str, key: str, first_stamp: asyncio.Event) -> _Listener:
    listener = _Listener()
    try:
        async with connect(url, open_timeout=JOIN_TIMEOUT_S) as ws:
            client = ProtocolClient(ws)
            await client.send({"type": "join", "key": key, "target_language": ROOM_LANGUAGE})
            if (await client.until("joined", "error", timeout=JOIN_TIMEOUT_S))["type"] != "joined":
                return listener
            try:
                async for message in ws:
                    now = time.time_ns()
                    if isinstance(message, bytes):
                        listener.received += 1
                        continue
                    event = json.loads(message)
                    if event["type"] == "transcript":
                        stamp = int(event["text"])
                        listener.stamps_ns.append(stamp)
                        listener.latencies_ns.append(now - stamp)
                        listener.received += 1
                        first_stamp.set()
                    elif event["type"] == "room_ended":
                        listener.outcome = "stayed"
                        break
            except websockets.ConnectionClosed:
                pass
            if ws.close_code == CLOSE_SLOW_CLIENT:
                listener.outcome = "cut_off"
    except (OSError, TimeoutError, websockets.WebSocketException):
        pass
    return listener


async def _listen(url: str, key: str, count: int) -> ListenerTally:
    first_stamp = asyncio.Event()
    everyone = asyncio.gather(*(_listen_one(url, key, first_stamp) for _ in range(count)))
    stamped = asyncio.ensure_future(first_stamp.wait())
    await asyncio.wait([stamped, everyone], return_when=asyncio.FIRST_COMPLETED)  # all may fail to join
    stamped.cancel()
    cpu, wall = time.process_time(), time.perf_counter()
    listeners = await everyone
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    stayed = [one for one in listeners if one.outcome == "stayed"]
    return ListenerTally(
        stamps_ns=np.array([ns for one in listeners for ns in one.stamps_ns], dtype=np.int64),
        latencies_ms=np.array([ns for one in listeners for ns in one.latencies_ns], dtype=np.float64) / 1e6,
        received=[one.received for one in stayed],
        cut_off=sum(one.outcome == "cut_off" for one in listeners),
        failed=sum(one.outcome == "failed" for one in listeners),
        cpu_seconds=cpu, wall_seconds=wall)


def listen(url: str, key: str, count: int) -> ListenerTally:
    """One client process: `count` listeners join the room at url and listen until the room ends."""
    return asyncio.run(_listen(url, key, count))


class Speaker:
    """The room's speaker: creates it on /ws, waits for its listeners, talks in real time, ends it."""

    def __init__(self, client: ProtocolClient) -> None:
        self.client = client

    async def create_room(self) -> dict:
        await self.client.send({"type": "create_room", "languages": [ROOM_LANGUAGE]})
        room = await self.client.until("room", "error")
        if room["type"] != "room":
            raise RuntimeError(f"the gateway refused the room: {room['code']}: {room['message']}")
        return room

    async def wait_for_listeners(self, total: int) -> int:
        """Wait until `total` listeners are in, at most JOIN_TIMEOUT_S; how many are."""
        joined = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(JOIN_TIMEOUT_S):
                while joined < total:
                    joined = (await self.client.until("listeners", timeout=JOIN_TIMEOUT_S))["total"]
        return joined

    async def talk(self, seconds: float) -> None:
        """Real-time audio in 20 ms frames, as the web client sends it."""
        await paced(FrameTimer(), self.client.send, seconds)

    async def end_room(self) -> None:
        await self.client.send({"type": "end_room"})
        await self.client.until("room_ended", timeout=END_TIMEOUT_S)
