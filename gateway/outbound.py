"""Frames on their way to one client: a bounded queue, and the task that sends it.

A client that does not read is never waited for: once S2ST_OUTBOUND_QUEUE_FRAMES
frames or S2ST_OUTBOUND_QUEUE_BYTES bytes wait for it, the next frame does not fit
and its socket is closed with CLOSE_SLOW_CLIENT. Counting bytes as well as frames
bounds what one socket may pin in memory whatever its frames hold (64 KiB of
echoed audio, or a room's `joined` history).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

CLOSE_SLOW_CLIENT = 1008
SLOW_CLIENT_REASON = "client does not read fast enough"
FLUSH_SECONDS = 2.0  # how long the last frames may take to leave before the socket closes

Frame = dict[str, Any] | str | bytes  # str: an event already serialized (a room's, once for all its listeners)


class OutboundQueue(asyncio.Queue):  # type: ignore[type-arg]  # of str | bytes
    """Frames waiting for a client, at most max_frames of them and max_bytes in all; events are serialized as they
    are queued, so that their size is known. put_nowait raises QueueFull for a frame that does not fit."""

    def __init__(self, max_frames: int, max_bytes: int) -> None:
        super().__init__(maxsize=max_frames)
        self._max_bytes = max_bytes
        self.queued_bytes = 0

    def full(self) -> bool:
        return super().full() or self.queued_bytes >= self._max_bytes

    def _put(self, item: Frame) -> None:
        if isinstance(item, dict):
            item = json.dumps(item)
        self.queued_bytes += len(item)
        super()._put(item)

    def _get(self) -> str | bytes:
        item = super()._get()
        self.queued_bytes -= len(item)
        return item


async def send_frames(websocket: WebSocket, outbound: OutboundQueue) -> None:
    """Send the queued frames, in order, until the client goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            frame = await outbound.get()
            if isinstance(frame, bytes):
                await websocket.send_bytes(frame)
            else:
                await websocket.send_text(frame)
            outbound.task_done()


async def flush(outbound: OutboundQueue) -> None:
    """Let the frames queued so far (the error that explains a close, say) reach the client: sent, not just taken."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(FLUSH_SECONDS):
            await outbound.join()
