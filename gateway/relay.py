"""One browser WebSocket: client frames to a worker's gRPC stream, worker events back to the client.

Data path: socket -> ``SocketRelay._on_text/_on_audio`` -> gRPC call -> ``_relay_responses``
-> bounded outbound queue -> ``_send_frames`` -> socket. At most one session is
active per socket; a new ``start`` may follow ``ended``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import grpc
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.config import GatewayConfig
from gateway.limits import FrameRateLimiter
from gateway.metrics import GatewayMetrics
from gateway.protocol import (
    ProtocolError,
    Reset,
    Start,
    Stop,
    check_audio,
    error_event,
    parse_text,
    response_to_frame,
    status_error_event,
)
from gateway.worker_client import WorkerClient
from s2st.v1 import translation_pb2 as pb

log = logging.getLogger("gateway.relay")

CLOSE_SLOW_CLIENT = 1008
Frame = dict[str, Any] | bytes


class SocketRelay:
    """Relays the sessions of one WebSocket."""

    def __init__(self, websocket: WebSocket, workers: WorkerClient, config: GatewayConfig,
                 metrics: GatewayMetrics) -> None:
        self._ws = websocket
        self._workers = workers
        self._config = config
        self._metrics = metrics
        self._outbound: asyncio.Queue[Frame] = asyncio.Queue(maxsize=config.outbound_queue_frames)
        self._overflowed = asyncio.Event()
        self._call: grpc.aio.StreamStreamCall | None = None
        self._stopping = False
        self._responses: asyncio.Task[None] | None = None
        self._frame_rate = FrameRateLimiter(config.ws_max_frames_per_second)
        self._rate_error_at = 0.0

    async def run(self) -> None:
        """Serve the socket until the client leaves or stops reading."""
        tasks = [
            asyncio.create_task(self._receive_frames(), name="ws-receive"),
            asyncio.create_task(self._send_frames(), name="ws-send"),
            asyncio.create_task(self._overflowed.wait(), name="ws-overflow"),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._end_session()
        if self._overflowed.is_set():
            log.warning("closing a client that does not read its events")
            with contextlib.suppress(Exception):
                await self._ws.close(CLOSE_SLOW_CLIENT, "client does not read fast enough")

    async def _receive_frames(self) -> None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if not self._frame_rate.allow():
                self._report_rate_limit()
                continue
            try:
                if message.get("bytes") is not None:
                    await self._on_audio(message["bytes"])
                elif message.get("text") is not None:
                    await self._on_text(message["text"])
            except ProtocolError as error:
                self._send_error(error.code, str(error), fatal=False)

    async def _on_text(self, text: str) -> None:
        message = parse_text(text)
        if isinstance(message, Start):
            await self._start(message)
            return
        if self._call is None or self._stopping:
            raise ProtocolError("not_started", "no active session: send start first")
        if isinstance(message, Reset):
            await self._write(pb.TranslateRequest(control=pb.Control(action=pb.Control.RESET)))
        elif isinstance(message, Stop):
            self._stopping = True
            await self._write(pb.TranslateRequest(control=pb.Control(action=pb.Control.END_OF_INPUT)))
            with contextlib.suppress(Exception):
                await self._call.done_writing()

    async def _on_audio(self, frame: bytes) -> None:
        check_audio(frame, self._config.ws_max_frame_bytes)
        if self._call is None or self._stopping:
            raise ProtocolError("not_started", "no active session: send start before audio")
        await self._write(pb.TranslateRequest(audio=pb.AudioChunk(pcm=frame)))

    async def _start(self, start: Start) -> None:
        if self._call is not None:
            raise ProtocolError("already_started", "a session is already active: send stop first")
        try:
            call, accepted = await self._workers.open_session(start)
        except grpc.aio.AioRpcError as error:
            self._send(status_error_event(error.code(), error.details()))
            return
        except TimeoutError:
            self._send(error_event("worker_unavailable", "the translation worker did not answer in time", True))
            return
        self._call, self._stopping = call, False
        self._metrics.active_sessions.inc()
        self._send(response_to_frame(accepted))
        self._responses = asyncio.create_task(self._relay_responses(call), name="grpc-responses")

    async def _relay_responses(self, call: grpc.aio.StreamStreamCall) -> None:
        ended = False
        try:
            while (response := await call.read()) is not grpc.aio.EOF:
                frame = response_to_frame(response)
                if isinstance(frame, dict) and frame["type"] == "stats":
                    self._metrics.observe_stats(frame)
                if response.WhichOneof("event") == "end":
                    ended = True
                    self._finish(call)  # before `ended` reaches the client, which may start again at once
                if frame is not None:
                    self._send(frame)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                self._send(status_error_event(error.code(), error.details()))
        finally:
            if not ended:
                self._send({"type": "ended"})
            self._finish(call)

    async def _write(self, request: pb.TranslateRequest) -> None:
        """Send a request on the active call; if the call already ended, its reader reports why."""
        assert self._call is not None
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
            await self._call.write(request)

    def _finish(self, call: grpc.aio.StreamStreamCall) -> None:
        if self._call is call:
            self._call = None
            self._metrics.active_sessions.dec()

    async def _end_session(self) -> None:
        """The socket is going away: cancel the worker stream so its state is freed at once."""
        call, task = self._call, self._responses
        if call is not None:
            call.cancel()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def _send_frames(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                frame = await self._outbound.get()
                if isinstance(frame, bytes):
                    await self._ws.send_bytes(frame)
                else:
                    await self._ws.send_text(json.dumps(frame))

    def _send(self, frame: Frame | None) -> None:
        if frame is None or self._overflowed.is_set():
            return
        if isinstance(frame, dict) and frame["type"] == "error":
            self._metrics.errors_total.labels(frame["code"]).inc()
        try:
            self._outbound.put_nowait(frame)
        except asyncio.QueueFull:
            self._overflowed.set()

    def _report_rate_limit(self) -> None:
        """One `rate_limited` error a second at most, so a flood cannot flood the replies too."""
        now = asyncio.get_running_loop().time()
        if now - self._rate_error_at >= 1.0:
            self._rate_error_at = now
            self._send_error("rate_limited", f"more than {self._config.ws_max_frames_per_second:g} frames a "
                             "second; frames are being dropped", fatal=False)

    def _send_error(self, code: str, message: str, fatal: bool) -> None:
        self._send(error_event(code, message, fatal))
