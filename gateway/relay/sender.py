"""The send path of one socket: frames queued for the browser, the task that sends them, and the close.

Whoever sends (the receive loop's errors, the worker session's events, a room) only queues: a client that does
not read is cut off with CLOSE_SLOW_CLIENT (gateway/outbound.py), never waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from opentelemetry import trace
from starlette.websockets import WebSocket

from gateway.config import GatewayConfig
from gateway.metrics import GatewayMetrics
from gateway.outbound import CLOSE_SLOW_CLIENT, SLOW_CLIENT_REASON, Frame, OutboundQueue, flush, send_frames
from gateway.protocol import error_event

log = logging.getLogger("gateway.relay")  # one logger for all the relay's parts


class FrameSender:
    """Queues frames for one browser, sends them in order, and closes the socket with the code a close asked for."""

    def __init__(self, websocket: WebSocket, config: GatewayConfig, metrics: GatewayMetrics) -> None:
        self._ws = websocket
        self._metrics = metrics
        self._outbound = OutboundQueue(config.outbound_queue_frames, config.outbound_queue_bytes)
        # Set by the first close asked for: its code and reason.
        self.closing: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()

    def send(self, frame: Frame | None) -> None:
        """Queue a frame (None: nothing to send); an error event is counted and marked on the current span."""
        if frame is None or self._cut_off():
            return
        if isinstance(frame, dict) and frame["type"] == "error":
            self._metrics.errors_total.labels(frame["code"]).inc()
            span = trace.get_current_span()  # the session's, or the socket's outside a session
            span.add_event("error", {"code": frame["code"], "fatal": frame["fatal"]})
            if frame["fatal"]:
                span.set_status(trace.StatusCode.ERROR, frame["code"])
        try:
            self._outbound.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("closing a client that does not read its events")
            self.close(CLOSE_SLOW_CLIENT, SLOW_CLIENT_REASON)

    def close(self, code: int, reason: str) -> None:
        """Ask for the socket to close; the first close asked for wins."""
        if not self.closing.done():
            self.closing.set_result((code, reason))

    async def send_frames(self) -> None:
        """Send the queued frames until the client goes away."""
        await send_frames(self._ws, self._outbound)

    async def flush(self) -> None:
        """Let what is queued (the error that explains a close, say) reach the client, unless it stopped reading."""
        if self.closing.done() and not self._cut_off():
            await flush(self._outbound)

    async def close_socket(self) -> None:
        """Close the socket with the code asked for, if one was; the client may already be gone."""
        if self.closing.done():
            code, reason = self.closing.result()
            with contextlib.suppress(Exception):
                await self._ws.close(code, reason)

    def _cut_off(self) -> bool:
        return self.closing.done() and self.closing.result()[0] == CLOSE_SLOW_CLIENT


def shutting_down() -> dict[str, Any]:
    """The error event a client gets when the gateway is going away."""
    return error_event("shutting_down", "the server is restarting; reconnect and start again", fatal=True)
