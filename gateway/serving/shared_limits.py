"""Per-IP limits that hold across the processes of one gateway (S2ST_GATEWAY_PROCESSES > 1).

The supervisor keeps the counts (``LimitsTable``); each serving process asks it over a
socket pair of its own (``SharedClientLimits``), once per connection and once per
session, never per frame. A process that dies frees everything it held: the
supervisor counts what each link holds and releases it when the link closes.

Wire format: one JSON array per line. ``["hold", kind, ip]`` is answered by ``1`` or
``0``; ``["release", kind, ip]`` gets no answer. Answers come in request order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from gateway.limits import LimitKind, per_ip_limiters

log = logging.getLogger("gateway.serving.shared_limits")


class LimitsTable:
    """The gateway's per-IP counts, in the supervisor."""

    def __init__(self, max_connections_per_ip: int, max_sessions_per_ip: int) -> None:
        self._limiters = per_ip_limiters(max_connections_per_ip, max_sessions_per_ip)

    async def serve(self, link: socket.socket) -> None:
        """Answer one serving process until its link closes; then free what it still holds."""
        reader, writer = await asyncio.open_connection(sock=link)
        held: Counter[tuple[str, str]] = Counter()
        try:
            while line := await _line_or_end(reader):
                operation, kind, ip = json.loads(line)
                limiter = self._limiters[kind]
                if operation == "hold":
                    admitted = limiter.try_hold(ip)
                    held[kind, ip] += int(admitted)
                    writer.write(b"1\n" if admitted else b"0\n")
                elif held[kind, ip]:
                    held[kind, ip] -= 1
                    limiter.release(ip)
        finally:
            for (kind, ip), count in held.items():
                if count:
                    self._limiters[kind].release(ip, count)
            writer.close()


async def _line_or_end(reader: asyncio.StreamReader) -> bytes:
    """The next line; b"" at the end, a connection reset included (the other process died)."""
    try:
        return await reader.readline()
    except ConnectionError:
        return b""


def _stop_this_process() -> None:
    """Nothing can be admitted any more, and a serving process should not serve alone: drain and exit."""
    os.kill(os.getpid(), signal.SIGTERM)


class SharedClientLimits:
    """A serving process's side: ClientLimits answered by the supervisor's LimitsTable."""

    def __init__(self, link: socket.socket, on_lost: Callable[[], None] = _stop_this_process) -> None:
        self._link = link
        self._on_lost = on_lost  # the supervisor went away
        self._opened: asyncio.Task[asyncio.StreamWriter] | None = None
        self._reading: asyncio.Task[None] | None = None
        self._waiting: list[tuple[asyncio.Future[bool], LimitKind, str]] = []  # holds asked, in request order

    @asynccontextmanager
    async def hold(self, kind: LimitKind, ip: str) -> AsyncIterator[bool]:
        if self._opened is None:  # on first use: the link needs the serving process's event loop
            self._opened = asyncio.create_task(self._open())
        writer = await asyncio.shield(self._opened)
        answer = asyncio.get_running_loop().create_future()
        self._waiting.append((answer, kind, ip))
        self._send(writer, "hold", kind, ip)
        try:
            admitted = await answer
        except asyncio.CancelledError:  # the client left meanwhile: a slot granted is given back
            if not answer.cancelled() and answer.result():  # granted, then cancelled before this resumed
                self._send(writer, "release", kind, ip)
            raise  # (cancelled before the answer came: _read_answers gives the slot back when it comes)
        try:
            yield admitted
        finally:
            if admitted:
                self._send(writer, "release", kind, ip)

    @staticmethod
    def _send(writer: asyncio.StreamWriter, operation: str, kind: LimitKind, ip: str) -> None:
        if not writer.is_closing():
            writer.write(json.dumps([operation, kind, ip]).encode() + b"\n")

    async def _open(self) -> asyncio.StreamWriter:
        reader, writer = await asyncio.open_connection(sock=self._link)
        self._reading = asyncio.create_task(self._read_answers(reader), name="limits-answers")
        return writer

    async def _read_answers(self, reader: asyncio.StreamReader) -> None:
        writer = await asyncio.shield(self._opened)
        while line := await _line_or_end(reader):
            answer, kind, ip = self._waiting.pop(0)
            admitted = line == b"1\n"
            if not answer.cancelled():
                answer.set_result(admitted)
            elif admitted:
                self._send(writer, "release", kind, ip)
        log.error("the gateway supervisor went away")
        for answer, _, _ in self._waiting:
            if not answer.cancelled():
                answer.set_result(False)
        self._waiting.clear()
        self._on_lost()
