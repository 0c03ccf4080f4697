"""The one-to-one session of a socket: its state, and its worker's gRPC stream from open to end.

Requests go through worker/writes.py (in order, queued audio joined) to the gRPC call; the call's responses,
converted by protocol.py, go to the socket's sender. At most one session is active per socket; a new one may
start once the last has sent `ended`.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import grpc
from opentelemetry import trace

from gateway.config import GatewayConfig
from gateway.identity.grant import Grant
from gateway.metrics import GatewayMetrics
from gateway.protocol import Start, error_event, server_frame, status_error_event
from gateway.relay.sender import FrameSender
from gateway.worker.client import SessionRefused, WorkerClient, session_frames
from gateway.worker.writes import CoalescingWriter
from s2st.runtime.tracing import TRANSLATE_SPAN
from s2st.v1 import translation_pb2 as pb

tracer = trace.get_tracer("gateway")


class SessionState(enum.Enum):
    """The session on a socket. IDLE -> STARTING -> LIVE -> STOPPING -> IDLE; any state may fall back to IDLE."""

    IDLE = "idle"  # no session: only `start` opens one
    STARTING = "starting"  # no `ready` yet: the worker has not answered, or frames sent meanwhile are flushed
    LIVE = "live"  # requests go to the worker stream
    STOPPING = "stopping"  # end of input sent: the worker finishes, then `ended`


class WorkerSession:
    """A socket's session with a worker: started, fed, stopped or abandoned; its events go to the sender."""

    def __init__(self, sender: FrameSender, workers: WorkerClient, config: GatewayConfig, metrics: GatewayMetrics,
                 session_slot: Callable[[], AbstractAsyncContextManager[bool]], grant: Grant) -> None:
        self._sender = sender
        self._workers = workers
        self._config = config
        self._metrics = metrics
        self._session_slot = session_slot  # one of the client IP's S2ST_MAX_SESSIONS_PER_IP, for a session's life
        self._grant = grant
        self._state = SessionState.IDLE
        self._call: grpc.aio.StreamStreamCall | None = None
        self._writer: CoalescingWriter | None = None  # the call's requests, while it is open
        self._pending: list[pb.TranslateRequest] = []  # sent by the client while STARTING
        self._task: asyncio.Task[None] | None = None  # opens, then relays, the current session

    @property
    def state(self) -> SessionState:
        return self._state

    def start(self, start: Start) -> None:
        """Open a session with the admitted settings: STARTING until the worker answers."""
        self._state = SessionState.STARTING
        self._task = asyncio.create_task(self._run(start), name="session")

    async def forward(self, request: pb.TranslateRequest) -> bool:
        """To the worker stream, or held until it opens; False when too much is held already and the request is
        dropped. If the call already ended, its reader reports why."""
        if self._state is SessionState.STARTING:
            held = sum(len(pending.audio.pcm) for pending in self._pending)  # what this socket pins meanwhile
            if len(self._pending) >= self._config.outbound_queue_frames or held >= self._config.outbound_queue_bytes:
                return False
            self._pending.append(request)
            return True
        assert self._writer is not None
        await self._writer.write(request)
        return True

    async def stop(self, request: pb.TranslateRequest) -> None:
        """End of input: the worker finishes what it holds, then `ended`. Before `ready` nothing was translated
        yet: the session is abandoned."""
        if self._state is SessionState.STARTING:
            self.abandon()
            return
        self._state = SessionState.STOPPING
        writer = self._writer  # the session may end while the writes wait
        await writer.write(request)
        await writer.done_writing()

    def abandon(self) -> None:
        """End the session now, with nothing more from its worker stream (a `stop` before `ready`, a shutdown):
        IDLE again at once, then `ended`."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        self._become_idle()
        self._sender.send({"type": "ended"})

    async def end(self) -> None:
        """The socket is going away: cancel the worker stream so its state is freed at once."""
        if self._call is not None:
            self._call.cancel()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _become_idle(self) -> None:
        """The session is over (or never began): the socket may start again."""
        if self._call is not None:
            self._metrics.active_sessions.dec()
        if self._writer is not None:
            self._writer.cancel()
        self._call, self._writer, self._state, self._pending = None, None, SessionState.IDLE, []

    async def _run(self, start: Start) -> None:
        """Hold one of the client's session slots, open a worker stream, relay until it ends."""
        try:
            async with self._session_slot() as admitted:
                with tracer.start_as_current_span(TRANSLATE_SPAN, kind=trace.SpanKind.CLIENT,
                                                  attributes={"s2st.target_language": start.target_language}):
                    if admitted:
                        await self._open_and_relay(start)
                    else:
                        self._sender.send(error_event("too_many_sessions", "this address already holds "
                                                      f"{self._config.max_sessions_per_ip} sessions; stop one first",
                                                      True))
        finally:
            if self._task is asyncio.current_task():  # not abandoned for a newer session meanwhile
                self._task = None
                self._become_idle()

    async def _open_and_relay(self, start: Start) -> None:
        try:
            call, accepted = await self._workers.open_granted_session(start, self._grant)
        except SessionRefused as refused:
            self._sender.send(refused.event)
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
            self._sender.send(server_frame(accepted).frame)
            await self._relay_responses(call)
        finally:
            call.cancel()  # frees the worker's slot at once when the socket went away; no-op once ended

    async def _relay_responses(self, call: grpc.aio.StreamStreamCall) -> None:
        try:
            async for _, frame in session_frames(call):
                self._sender.send(frame)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                self._sender.send(status_error_event(error.code(), error.details()))
        # Back to IDLE before `ended` reaches the client, which may start again at once.
        self._become_idle()
        self._sender.send({"type": "ended"})
