"""Requests to a worker stream, in order, without holding up the socket that produced them.

A gRPC call takes one write at a time, and each write costs the gateway about as much
CPU whatever it carries. The socket's reader hands requests over and goes on reading;
one task writes them. Audio that queued behind a write in flight leaves in the next
write as one chunk: under load the gateway does fewer writes instead of falling
behind, and a frame that finds the call idle leaves at once, so nothing waits for a
batch to fill.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

import grpc

from gateway.protocol import audio_request
from s2st.v1 import translation_pb2 as pb
from s2st.v1.limits import MAX_CHUNK_BYTES


class CoalescingWriter:
    """Writes a call's requests in order on a task of its own, joining queued audio."""

    def __init__(self, call: grpc.aio.StreamStreamCall, max_backlog: int) -> None:
        self._call = call
        self._max_backlog = max_backlog  # requests queued before the reader waits: the worker's flow control reaches the client
        self._backlog: deque[pb.TranslateRequest] = deque()
        self._task: asyncio.Task[None] | None = None

    async def write(self, request: pb.TranslateRequest) -> None:
        """Queue a request; waits only while the backlog is full."""
        self._backlog.append(request)
        if self._task is None:
            self._task = asyncio.create_task(self._write_backlog(), name="worker-write")
        if len(self._backlog) >= self._max_backlog:
            await self._written()

    async def done_writing(self) -> None:
        """Everything queued written, then the end of the requests."""
        await self._written()
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
            await self._call.done_writing()

    async def _written(self) -> None:
        """Until the backlog is written or the writes are cancelled (the session ended): never raises the
        writer's cancellation into the caller (the socket's reader), and never cancels the writer."""
        if self._task is not None:
            await asyncio.wait([self._task])

    def cancel(self) -> None:
        self._backlog.clear()
        if self._task is not None:
            self._task.cancel()

    async def _write_backlog(self) -> None:
        try:
            while self._backlog:
                await self._call.write(self._next_request())
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            self._backlog.clear()  # the call ended: its reader reports why
        finally:
            self._task = None

    def _next_request(self) -> pb.TranslateRequest:
        first = self._backlog.popleft()
        if not _is_audio(first) or not self._backlog or not _is_audio(self._backlog[0]):
            return first
        parts, size = [first.audio.pcm], len(first.audio.pcm)
        while self._backlog and _is_audio(self._backlog[0]) and size + len(self._backlog[0].audio.pcm) <= MAX_CHUNK_BYTES:
            parts.append(self._backlog.popleft().audio.pcm)
            size += len(parts[-1])
        return audio_request(b"".join(parts))


def _is_audio(request: pb.TranslateRequest) -> bool:
    return request.WhichOneof("request") == "audio"
