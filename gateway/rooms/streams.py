"""A room's worker streams: one ``LanguageStream`` per language someone listens to, and the speaker's audio to each.

The first offered language's stream opens with the room (so no first words are lost) and is held open, listened to
or not; the others are opened by the first listener of a language and closed when the last one leaves. Every stream
holds a session slot of the room creator's address while it is open (stream_slot).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import grpc

from gateway.config import GatewayConfig
from gateway.identity.grant import Grant
from gateway.metrics import GatewayMetrics
from gateway.protocol import CreateRoom, audio_request
from gateway.rooms.language_stream import Audience, LanguageStream
from gateway.worker.client import WorkerClient
from s2st.v1 import translation_pb2 as pb


class RoomStreams:
    """The worker streams of one room, by language, and the session slots they hold."""

    def __init__(self, room_id: str, settings: CreateRoom, grant: Grant, workers: WorkerClient,
                 config: GatewayConfig, metrics: GatewayMetrics, audience: Audience,
                 session_slot: Callable[[], AbstractAsyncContextManager[bool]]) -> None:
        self.room_id = room_id
        self.config = config
        self._settings = settings
        self._grant = grant  # the speaker's: engines, session length, client label of every stream
        self._workers = workers
        self._client_label = grant.subject or "room"
        self._metrics = metrics
        self._audience = audience
        self._session_slot = session_slot  # the creator's address's: every worker stream of the room counts there
        self._covered: LanguageStream | None = None  # the stream the room's own slot pays for
        self._first: LanguageStream | None = None  # the first offered language's: open from the start, listened to or not
        self._streams: dict[str, LanguageStream] = {}

    def open_first(self) -> None:
        """Translate the first offered language from the room's start, listeners or not: what is said before anyone
        joins is heard, remembered and replayed (S2ST_ROOM_REPLAY_BYTES) to the first listener, first words included.
        The room's own session slot pays for it (stream_slot)."""
        language = self._settings.languages[0]
        stream = self._first = self._streams[language] = LanguageStream(self, self._audience, language)
        self._metrics.room_streams.inc()
        stream.ensure_running()

    def of_language(self, language: str) -> LanguageStream:
        """The stream of `language`, made now if nobody listens to it yet."""
        stream = self._streams.get(language)
        if stream is None:
            stream = self._streams[language] = LanguageStream(self, self._audience, language)
            self._metrics.room_streams.inc()
        return stream

    def release(self, stream: LanguageStream) -> None:
        """A listener left `stream`: the last listener of a language ends its worker stream (not the first's)."""
        if not stream.listeners and stream is not self._first:
            self._drop(stream)

    def lost(self, stream: LanguageStream) -> bool:
        """`stream` could not be (re)opened; True when it was the first, which the speaker hears from. The first is
        no longer held open: it goes with its last listener, as any other language's."""
        if stream is not self._first:
            return False
        self._first = None
        if not stream.listeners:
            self._drop(stream)
        return True

    def open_engines(self) -> list[str]:
        """The engines of the streams open now (a speaker's token must allow each)."""
        return [stream.accepted.engine for stream in self._streams.values() if stream.accepted is not None]

    def listener_counts(self) -> dict[str, int]:
        return {language: len(stream.listeners) for language, stream in self._streams.items()}

    async def feed(self, frame: bytes) -> None:
        """The speaker's audio, to every language someone listens to."""
        request = audio_request(frame)
        for stream in list(self._streams.values()):
            await stream.write(request)

    async def finish(self) -> None:
        """The speaker paused: every stream finishes what was said (finals and speech follow)."""
        await asyncio.gather(*(stream.finish() for stream in list(self._streams.values())))

    async def wait_ended(self) -> None:
        await asyncio.gather(*(stream.wait_ended() for stream in list(self._streams.values())))

    def close(self) -> None:
        """The room ended: every stream ends now."""
        for stream in list(self._streams.values()):
            self._drop(stream)

    # What a LanguageStream asks of its owner

    def is_source_feed(self, stream: LanguageStream) -> bool:
        """The stream whose events the speaker sees (SPEAKER_SEES), and whose source transcripts late joiners of a
        language nobody heard yet get: the first offered language's, open from the room's start."""
        return next(iter(self._streams.values()), None) is stream

    @contextlib.asynccontextmanager
    async def stream_slot(self, stream: LanguageStream) -> AsyncIterator[bool]:
        """A session slot of the creator's address for one language's worker stream while it is open: yields False
        when the address holds its S2ST_MAX_SESSIONS_PER_IP already. The room's own slot pays for one stream, so a
        room of one language costs what a session does, and one address's rooms cannot fill a worker."""
        if self._covered is None:
            self._covered = stream
            try:
                yield True
            finally:
                self._covered = None
            return
        async with self._session_slot() as admitted:
            yield admitted

    async def open_session(self, language: str) -> tuple[grpc.aio.StreamStreamCall, pb.TranslateResponse]:
        """A worker session translating into `language`, within the speaker's grant."""
        return await self._workers.open_granted_session(
            self._settings.stream_start(language, self._client_label), self._grant)

    def _drop(self, stream: LanguageStream) -> None:
        if self._streams.get(stream.language) is stream:
            del self._streams[stream.language]
            self._metrics.room_streams.dec()
        stream.close()
