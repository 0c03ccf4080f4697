"""The worker stream of one language a room is translated into, and the listeners who hear it.

Each stream's events are converted and serialized once and handed to every listener of its language; the room's
first stream's are the speaker's too (SPEAKER_SEES). A stream ended by a pause or by its worker reopens with the
next audio or the next listener.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import grpc

from gateway.config import GatewayConfig
from gateway.outbound import Frame
from gateway.protocol import AUDIO_HEADER, error_event
from gateway.rooms.history import TranscriptHistory
from gateway.rooms.member import Member
from gateway.worker.client import SessionRefused, session_frames
from gateway.worker.writes import CoalescingWriter
from s2st.v1 import translation_pb2 as pb

log = logging.getLogger("gateway.rooms.language_stream")

# What the speaker gets of the room's first stream: what listeners read of each sentence and its lag, not its audio.
SPEAKER_SEES = frozenset({"transcript", "speech", "stats"})


class StreamOwner(Protocol):
    """The room's streams, as one of them sees them: where it gets its session slot and worker session."""

    room_id: str
    config: GatewayConfig

    def stream_slot(self, stream: LanguageStream) -> AbstractAsyncContextManager[bool]: ...

    async def open_session(self, language: str) -> tuple[grpc.aio.StreamStreamCall, pb.TranslateResponse]: ...

    def is_source_feed(self, stream: LanguageStream) -> bool: ...


class Audience(Protocol):
    """The room's people, as a stream sees them: what it tells them besides its listeners' frames."""

    def welcome(self, member: Member, stream: LanguageStream) -> None: ...

    def check_speaker_engine(self, engine: str) -> None: ...

    def to_speaker(self, frame: Frame) -> None: ...

    def remember_source(self, text: str) -> None: ...

    def stream_failed(self, stream: LanguageStream, error: dict[str, Any]) -> None: ...


class LanguageStream:
    """The worker stream of one target language and the listeners who hear it."""

    def __init__(self, owner: StreamOwner, audience: Audience, language: str) -> None:
        self.language = language
        self.listeners: dict[Member, int] = {}  # listener -> generation of the listener key it joined with
        self.history = TranscriptHistory()
        self._owner = owner
        self._audience = audience
        self._waiting: set[Member] = set()  # joined while the stream was opening: `joined` when it is open
        self._call: grpc.aio.StreamStreamCall | None = None
        self._writer: CoalescingWriter | None = None
        self._pending: list[pb.TranslateRequest] = []  # audio that came while the stream was opening
        # Each worker stream numbers its segments from 1: a reopened stream's are shifted past the last one,
        # so a listener never sees one segment id twice.
        self._segment_base = 0
        self._next_segment = 0
        self._task: asyncio.Task[None] | None = None
        self.accepted: pb.SessionAccepted | None = None

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    def add(self, member: Member, generation: int) -> None:
        self.listeners[member] = generation
        if self.is_open:
            self._audience.welcome(member, self)
        else:
            self._waiting.add(member)
            self.ensure_running()

    def remove(self, member: Member) -> None:
        self.listeners.pop(member, None)
        self._waiting.discard(member)

    def ensure_running(self) -> None:
        """Open the worker stream unless it is open or opening (a stream ended by a pause or a worker reopens here)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"room-stream-{self.language}")

    async def write(self, request: pb.TranslateRequest) -> None:
        if self._writer is not None:
            await self._writer.write(request)
            return
        self.ensure_running()
        if len(self._pending) < self._owner.config.outbound_queue_frames:
            self._pending.append(request)

    async def finish(self) -> None:
        """End of input: the worker finishes what was said; the stream ends and reopens with the next audio."""
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.done_writing()

    async def wait_ended(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._call is not None:
            self._call.cancel()

    async def _run(self) -> None:
        owner = self._owner
        try:
            async with owner.stream_slot(self) as admitted:
                if admitted:
                    await self._open_and_relay()
                else:
                    self._audience.stream_failed(self, error_event(
                        "too_many_sessions", "the room's speaker's address holds as many sessions and room streams "
                        f"as it may ({owner.config.max_sessions_per_ip}); try again later", True))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a room stream failed", extra={"room": owner.room_id, "language": self.language})
            self._audience.stream_failed(self, error_event("internal", "the gateway failed relaying this room", True))
        finally:
            if self._call is not None:
                self._call.cancel()
            if self._writer is not None:
                self._writer.cancel()
            self._call, self._writer, self._task = None, None, None
        if self.listeners and (self._waiting or self._pending):  # joined or spoken while the last one finished
            self.ensure_running()

    async def _open_and_relay(self) -> None:
        try:
            call, first = await self._owner.open_session(self.language)
        except SessionRefused as refused:
            self._audience.stream_failed(self, refused.event)
            return
        self._call = call
        self.accepted, self._segment_base = first.accepted, self._next_segment
        self.history.restart()
        self._writer = CoalescingWriter(call, self._owner.config.outbound_queue_frames)
        pending, self._pending = self._pending, []
        for request in pending:
            await self._writer.write(request)
        self._audience.check_speaker_engine(first.accepted.engine)
        waiting, self._waiting = list(self._waiting), set()
        for member in waiting:
            self._audience.welcome(member, self)
        try:
            async for response, frame in session_frames(call):
                if frame is not None:
                    self._fan_out(response, frame)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                # A worker that ended the stream (idle, too long, restarting): the next audio reopens it.
                log.info("a room stream ended", extra={"room": self._owner.room_id, "language": self.language,
                                                       "code": error.code().name})

    def _fan_out(self, response: pb.TranslateResponse, frame: dict[str, Any] | bytes) -> None:
        source_feed = self._owner.is_source_feed(self)
        if response.WhichOneof("event") == "transcript" and self.history.remember(response.transcript) \
                and source_feed:
            self._audience.remember_source(response.transcript.text)
        frame, segment_id = _shift_segment(frame, self._segment_base)
        if segment_id is not None:
            self._next_segment = max(self._next_segment, segment_id + 1)
        shared: Frame = frame if isinstance(frame, bytes) else json.dumps(frame)
        for member in list(self.listeners):
            if member not in self._waiting:
                member.deliver(shared)
        if source_feed and isinstance(frame, dict) and frame.get("type") in SPEAKER_SEES:
            self._audience.to_speaker(shared)


def _shift_segment(frame: dict[str, Any] | bytes, base: int) -> tuple[dict[str, Any] | bytes, int | None]:
    """The frame with its segment id moved up by `base`, and that id (None: the frame names no segment)."""
    if isinstance(frame, bytes):
        segment_id, sequence, offset = AUDIO_HEADER.unpack_from(frame)
        if base:
            frame = AUDIO_HEADER.pack(segment_id + base, sequence, offset) + frame[AUDIO_HEADER.size:]
        return frame, segment_id + base
    if "segment_id" not in frame:
        return frame, None
    frame["segment_id"] += base
    return frame, frame["segment_id"]
