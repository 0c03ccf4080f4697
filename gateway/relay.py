"""One browser WebSocket: client frames to a worker's gRPC stream, worker events back to the client.

Data path: socket -> ``_receive_frames`` -> protocol.py (frame -> message -> request)
-> worker_writes.py (in order, queued audio joined) -> gRPC call -> ``_relay_responses``
-> protocol.py (response -> ServerFrame) -> bounded outbound queue -> ``_send_frames`` -> socket. At most one session is
active per socket (``SessionState``); a new ``start`` may follow ``ended``. Instead of a
session, a socket may be a room's speaker or listener: room messages and a speaker's
audio go to its ``RoomSeat`` (gateway/rooms/seat.py), and the room delivers its events
here as it does for every member.

Whatever a client frame holds, handling it ends in a documented error event or,
for a fault of the gateway's own, a logged and counted 1011 close: never a
silently dropped socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc
from opentelemetry import trace
from starlette.websockets import WebSocket

from gateway.identity.grant import Grant
from gateway.config import GatewayConfig
from gateway.limits import TokenBucket
from gateway.metrics import GatewayMetrics
from gateway.outbound import CLOSE_SLOW_CLIENT, SLOW_CLIENT_REASON, Frame, OutboundQueue, flush, send_frames
from gateway.protocol import (
    CreateRoom,
    Join,
    ProtocolError,
    RoomMessage,
    Speak,
    Start,
    Stop,
    audio_request,
    check_audio,
    error_event,
    parse_text,
    server_frame,
    status_error_event,
)
from gateway.rooms.seat import RoomSeat
from gateway.rooms.registry import RoomRegistry
from gateway.sockets import OpenSockets
from gateway.worker.client import SessionRefused, WorkerClient, session_frames
from gateway.worker.writes import CoalescingWriter
from s2st.runtime.tracing import TRANSLATE_SPAN
from s2st.v1 import translation_pb2 as pb

log = logging.getLogger("gateway.relay")
tracer = trace.get_tracer("gateway")

CLOSE_GOING_AWAY = 1001
CLOSE_INTERNAL_ERROR = 1011
_ROOM_SEATS = (CreateRoom, Speak, Join)  # the room messages that give an idle socket a role


class SessionState(enum.Enum):
    """The session on a socket. IDLE -> STARTING -> LIVE -> STOPPING -> IDLE; any state may fall back to IDLE."""

    IDLE = "idle"  # no session: only `start` opens one
    STARTING = "starting"  # no `ready` yet: the worker has not answered, or frames sent meanwhile are flushed
    LIVE = "live"  # requests go to the worker stream
    STOPPING = "stopping"  # end of input sent: the worker finishes, then `ended`


class SocketRelay:
    """Relays the sessions of one WebSocket."""

    def __init__(self, websocket: WebSocket, workers: WorkerClient, config: GatewayConfig,
                 metrics: GatewayMetrics, sockets: OpenSockets,
                 session_slot: Callable[[], AbstractAsyncContextManager[bool]], grant: Grant,
                 rooms: RoomRegistry, room_id: str | None) -> None:
        self._ws = websocket
        self._workers = workers
        self._config = config
        self._metrics = metrics
        self._sockets = sockets
        self._session_slot = session_slot  # one of the client IP's S2ST_MAX_SESSIONS_PER_IP, for a session's life
        self._grant = grant  # what the socket's token allows
        self._outbound = OutboundQueue(config.outbound_queue_frames, config.outbound_queue_bytes)
        self._closing: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self._state = SessionState.IDLE
        self._call: grpc.aio.StreamStreamCall | None = None
        self._writer: CoalescingWriter | None = None  # the call's requests, while it is open
        self._pending: list[pb.TranslateRequest] = []  # sent by the client while STARTING
        self._session_task: asyncio.Task[None] | None = None  # opens, then relays, the current session
        self._audio_rate = TokenBucket(config.ws_max_frames_per_second,
                                       config.ws_max_frames_per_second * config.ws_burst_seconds)
        self._stream_opens = TokenBucket(config.ws_stream_opens_per_second, config.ws_stream_opens_burst)
        self._rate_error_at = float("-inf")
        self._seat = RoomSeat(self, rooms, grant, room_id,
                              session_slot)

    async def run(self) -> None:
        """Serve the socket until the client leaves, stops reading, or the gateway fails it."""
        tasks = [
            asyncio.create_task(self._receive_frames(), name="ws-receive"),
            asyncio.create_task(send_frames(self._ws, self._outbound), name="ws-send"),
        ]
        try:
            await asyncio.wait([*tasks, self._closing], return_when=asyncio.FIRST_COMPLETED)
            if self._closing.done() and self._closing.result()[0] != CLOSE_SLOW_CLIENT:
                await flush(self._outbound)
        finally:
            for task in tasks:
                task.cancel()
            for task, result in zip(tasks, await asyncio.gather(*tasks, return_exceptions=True)):
                if isinstance(result, Exception):
                    log.error("socket task failed", exc_info=result, extra={"task": task.get_name()})
            await self._end_session()
            self._seat.socket_closed()
        if self._closing.done():
            code, reason = self._closing.result()
            with contextlib.suppress(Exception):
                await self._ws.close(code, reason)

    def _close(self, code: int, reason: str) -> None:
        if not self._closing.done():
            self._closing.set_result((code, reason))

    @property
    def has_session(self) -> bool:
        return self._state is not SessionState.IDLE or self._seat.active

    # A room's member (gateway/rooms/room.py)

    def deliver(self, frame: Frame) -> None:
        self._send(frame)

    def room_ended(self, room_id: str, reason: str) -> None:
        self._seat.clear()
        self._send({"type": "room_ended", "room_id": room_id, "reason": reason})

    def shut_down(self) -> None:
        """The gateway is going away: say so, end a live session (`ended`, as after any fatal error), close 1001."""
        self._send(_shutting_down())
        if self._state is not SessionState.IDLE:
            self._abandon_session()
        self._close(CLOSE_GOING_AWAY, "server shutting down")

    # Client -> worker

    async def _receive_frames(self) -> None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            try:
                if message.get("bytes") is not None:
                    await self._on_audio(message["bytes"])
                elif message.get("text") is not None:
                    await self._on_text(message["text"])
            except ProtocolError as error:
                self._send(error_event(error.code, str(error), fatal=error.fatal))
            except Exception:
                log.exception("failed to handle a client frame; closing the socket")
                self._send(error_event("internal", "the gateway failed on that frame; reconnect", fatal=True))
                self._close(CLOSE_INTERNAL_ERROR, "gateway fault")
                return
            # Frames already buffered come without a pause: let the session's own task (its start,
            # its responses) and the other sockets run between them.
            await asyncio.sleep(0)

    async def _on_text(self, text: str) -> None:
        message = parse_text(text)  # other control frames are never rate limited: a `stop` always gets through
        if isinstance(message, (Start, *_ROOM_SEATS)) and not self._stream_opens.allow():
            raise ProtocolError("rate_limited", f"more than {self._config.ws_stream_opens_per_second:g} frames a second "
                                "that open worker streams (start, create_room, speak, join) beyond the burst allowance; "
                                "this one was dropped")
        if isinstance(message, (Start, *_ROOM_SEATS)) and self._state is not SessionState.IDLE:
            raise ProtocolError("already_started", "a session is already active: send stop first")
        if isinstance(message, (Start, CreateRoom)) and self._sockets.draining:
            self._send(_shutting_down())
            return
        if isinstance(message, RoomMessage) or (isinstance(message, Stop) and self._seat.role == "speaker"):
            await self._seat.handle(message)
            return
        if isinstance(message, Start):
            if self._seat.active:
                raise ProtocolError("already_started", f"this socket is a room's {self._seat.role}: leave the room first")
            start = self._grant.admit(message)
            self._state = SessionState.STARTING
            self._session_task = asyncio.create_task(self._run_session(start), name="session")
            return
        if self._state in (SessionState.IDLE, SessionState.STOPPING):
            raise ProtocolError("not_started", "no active session: send start first")
        if isinstance(message, Stop) and self._state is SessionState.STARTING:
            self._abandon_session()  # nothing was translated yet
            return
        if isinstance(message, Stop):
            self._state = SessionState.STOPPING
            writer = self._writer  # the session may end while the writes wait
            await writer.write(message.to_request())
            await writer.done_writing()
            return
        await self._forward(message.to_request())

    async def _on_audio(self, frame: bytes) -> None:
        if not self._audio_rate.allow():
            self._report_rate_limit()
            return
        check_audio(frame, self._config.ws_max_frame_bytes)
        if self._seat.active:
            await self._seat.feed(frame)
            return
        if self._state not in (SessionState.STARTING, SessionState.LIVE):
            raise ProtocolError("not_started", "no active session: send start before audio")
        await self._forward(audio_request(frame))

    async def _forward(self, request: pb.TranslateRequest) -> None:
        """To the worker stream, or held until it opens; if the call already ended, its reader reports why."""
        if self._state is SessionState.STARTING:
            held = sum(len(pending.audio.pcm) for pending in self._pending)  # what this socket pins meanwhile
            if len(self._pending) >= self._config.outbound_queue_frames or held >= self._config.outbound_queue_bytes:
                self._report_rate_limit()  # the frame is dropped
            else:
                self._pending.append(request)
            return
        assert self._writer is not None
        await self._writer.write(request)

    def _abandon_session(self) -> None:
        """End the session now, with nothing more from its worker stream (a `stop` before `ready`, a shutdown):
        IDLE again at once, then `ended`."""
        task, self._session_task = self._session_task, None
        if task is not None:
            task.cancel()
        self._become_idle()
        self._send({"type": "ended"})

    def _become_idle(self) -> None:
        """The session is over (or never began): the socket may start again."""
        if self._call is not None:
            self._metrics.active_sessions.dec()
        if self._writer is not None:
            self._writer.cancel()
        self._call, self._writer, self._state, self._pending = None, None, SessionState.IDLE, []

    # Worker -> client

    async def _run_session(self, start: Start) -> None:
        """Hold one of the client's session slots, open a worker stream, relay until it ends."""
        try:
            async with self._session_slot() as admitted:
                with tracer.start_as_current_span(TRANSLATE_SPAN, kind=trace.SpanKind.CLIENT,
                                                  attributes={"s2st.target_language": start.target_language}):
                    if admitted:
                        await self._open_and_relay(start)
                    else:
                        self._send(error_event("too_many_sessions", "this address already holds "
                                               f"{self._config.max_sessions_per_ip} sessions; stop one first", True))
        finally:
            if self._session_task is asyncio.current_task():  # not abandoned for a newer session meanwhile
                self._session_task = None
                self._become_idle()

    async def _open_and_relay(self, start: Start) -> None:
        try:
            call, accepted = await self._workers.open_granted_session(start, self._grant)
        except SessionRefused as refused:
            self._send(refused.event)
            return
        self._call, self._writer = call, CoalescingWriter(call, self._config.outbound_queue_frames)
        self._metrics.active_sessions.inc()
        trace.get_current_span().set_attributes({"s2st.session_id": accepted.accepted.session_id,
                                                 "s2st.engine": accepted.accepted.engine})
        try:
            # What the client sent meanwhile goes first, in order. Only then `ready` and LIVE: from
            # there the receive loop queues its requests behind these.
            while self._pending:
                pending, self._pending = self._pending, []
                for request in pending:
                    await self._writer.write(request)
            self._state = SessionState.LIVE
            self._send(server_frame(accepted).frame)
            await self._relay_responses(call)
        finally:
            call.cancel()  # frees the worker's slot at once when the socket went away; no-op once ended

    async def _relay_responses(self, call: grpc.aio.StreamStreamCall) -> None:
        try:
            async for _, frame in session_frames(call):
                self._send(frame)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                self._send(status_error_event(error.code(), error.details()))
        # Back to IDLE before `ended` reaches the client, which may start again at once.
        self._become_idle()
        self._send({"type": "ended"})

    async def _end_session(self) -> None:
        """The socket is going away: cancel the worker stream so its state is freed at once."""
        if self._call is not None:
            self._call.cancel()
        if self._session_task is not None:
            self._session_task.cancel()
            await asyncio.gather(self._session_task, return_exceptions=True)

    def _send(self, frame: Frame | None) -> None:
        if frame is None or (self._closing.done() and self._closing.result()[0] == CLOSE_SLOW_CLIENT):
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
            self._close(CLOSE_SLOW_CLIENT, SLOW_CLIENT_REASON)

    def _report_rate_limit(self) -> None:
        """One `rate_limited` error a second at most, so a flood cannot flood the replies too."""
        now = asyncio.get_running_loop().time()
        if now - self._rate_error_at >= 1.0:
            self._rate_error_at = now
            self._send(error_event("rate_limited", f"more than {self._config.ws_max_frames_per_second:g} audio "
                                   "frames a second beyond the burst allowance; frames are being dropped", False))


def _shutting_down() -> dict[str, Any]:
    return error_event("shutting_down", "the server is restarting; reconnect and start again", fatal=True)
