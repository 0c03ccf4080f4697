"""Rooms: one speaker's audio, one worker stream per target language someone listens to, fanned out.

A ``Room`` lives on the gateway process that created it (``RoomRegistry``, gateway/rooms/registry.py). Its first
offered language's ``LanguageStream`` opens with the room (so no first words are lost);
the others are opened by the first listener of a language and closed when the last one
leaves; the speaker's audio goes to each of them, and each stream's
events are converted and serialized once and handed to every listener of its
language. Members are sockets (``Member``, gateway/rooms/member.py): a member that cannot keep up is cut
off by its own bounded queue, never the room. Protocol: docs/protocol.md, "Rooms".
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import grpc

from gateway.identity.grant import Grant
from gateway.config import GatewayConfig
from gateway.metrics import GatewayMetrics
from gateway.outbound import Frame
from gateway.protocol import AUDIO_HEADER, CreateRoom, ProtocolError, audio_request, error_event
from gateway.rooms.member import Member
from gateway.worker.client import SessionRefused, WorkerClient, session_frames
from gateway.worker.writes import CoalescingWriter
from s2st.v1 import translation_pb2 as pb

log = logging.getLogger("gateway.rooms.room")

HISTORY_SEGMENTS = 1000  # finals kept per room and per language for listeners who join late
COUNTS_INTERVAL_SECONDS = 0.5  # listener counts reach the speaker at most this often
END_FLUSH_SECONDS = 10.0  # `end_room`: how long the streams may take to finish what was said
# What the speaker gets of the room's first stream: what listeners read of each sentence and its lag, not its audio.
SPEAKER_SEES = frozenset({"transcript", "speech", "stats"})
KEY_BYTES = 24  # speaker and listener keys: 192 random bits


@dataclass
class HistoryEntry:
    source: str
    target: str | None = None


class LanguageStream:
    """The worker stream of one target language and the listeners who hear it."""

    def __init__(self, room: Room, language: str) -> None:
        self.language = language
        self.listeners: dict[Member, int] = {}  # listener -> generation of the listener key it joined with
        self.history: deque[HistoryEntry] = deque(maxlen=HISTORY_SEGMENTS)
        self._room = room
        self._waiting: set[Member] = set()  # joined while the stream was opening: `joined` when it is open
        self._segments: dict[int, HistoryEntry] = {}  # this worker stream's finals, by its segment id
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
            self._room.welcome(member, self)
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
        if len(self._pending) < self._room.config.outbound_queue_frames:
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
        try:
            async with self._room.stream_slot(self) as admitted:
                if admitted:
                    await self._open_and_relay()
                else:
                    self._room.stream_failed(self, error_event(
                        "too_many_sessions", "the room's speaker's address holds as many sessions and room streams "
                        f"as it may ({self._room.config.max_sessions_per_ip}); try again later", True))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a room stream failed", extra={"room": self._room.room_id, "language": self.language})
            self._room.stream_failed(self, error_event("internal", "the gateway failed relaying this room", True))
        finally:
            if self._call is not None:
                self._call.cancel()
            if self._writer is not None:
                self._writer.cancel()
            self._call, self._writer, self._task = None, None, None
        if self.listeners and (self._waiting or self._pending):  # joined or spoken while the last one finished
            self.ensure_running()

    async def _open_and_relay(self) -> None:
        room = self._room
        try:
            call, first = await room.workers.open_granted_session(
                room.settings.stream_start(self.language, room.client_label), room.grant)
        except SessionRefused as refused:
            room.stream_failed(self, refused.event)
            return
        self._call = call
        self.accepted, self._segments, self._segment_base = first.accepted, {}, self._next_segment
        self._writer = CoalescingWriter(call, room.config.outbound_queue_frames)
        pending, self._pending = self._pending, []
        for request in pending:
            await self._writer.write(request)
        room.check_speaker_engine(first.accepted.engine)
        waiting, self._waiting = list(self._waiting), set()
        for member in waiting:
            room.welcome(member, self)
        try:
            async for response, frame in session_frames(call):
                if frame is not None:
                    self._fan_out(response, frame)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                # A worker that ended the stream (idle, too long, restarting): the next audio reopens it.
                log.info("a room stream ended", extra={"room": room.room_id, "language": self.language,
                                                       "code": error.code().name})

    def _fan_out(self, response: pb.TranslateResponse, frame: dict[str, Any] | bytes) -> None:
        if response.WhichOneof("event") == "transcript":
            self._remember(response.transcript)
        frame, segment_id = _shift_segment(frame, self._segment_base)
        if segment_id is not None:
            self._next_segment = max(self._next_segment, segment_id + 1)
        shared: Frame = frame if isinstance(frame, bytes) else json.dumps(frame)
        for member in list(self.listeners):
            if member not in self._waiting:
                member.deliver(shared)
        if self._room.is_source_feed(self) and isinstance(frame, dict) and frame.get("type") in SPEAKER_SEES:
            self._room.to_speaker(shared)

    def _remember(self, transcript: pb.Transcript) -> None:
        if not transcript.is_final:
            return
        entry = self._segments.get(transcript.segment_id)
        if transcript.side == pb.SOURCE:
            if entry is None:
                entry = self._segments[transcript.segment_id] = HistoryEntry(transcript.text)
                self.history.append(entry)
                self._room.remember_source(transcript.text, self)
            else:
                entry.source = transcript.text
        elif entry is not None:
            entry.target = transcript.text
        if len(self._segments) > HISTORY_SEGMENTS:
            self._segments.pop(next(iter(self._segments)))


def latest_within(history: list[dict[str, str | None]], max_bytes: int) -> list[dict[str, str | None]]:
    """The latest entries whose texts add up to at most max_bytes (UTF-8), oldest first: what one `joined` replays,
    so that a listener who joins again and again cannot make the gateway queue the whole history each time."""
    kept: list[dict[str, str | None]] = []
    size = 0
    for entry in reversed(history):
        size += sum(len(text.encode()) for text in entry.values() if text)
        if size > max_bytes:
            break
        kept.append(entry)
    return kept[::-1]


def unknown_room() -> ProtocolError:
    """The refusal of a room that does not exist here, or of a wrong key: the two are not told apart."""
    return ProtocolError("unknown_room", "no such room, or the link is no longer valid", fatal=True)


def _check_key(given: str, expected: str) -> None:
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise unknown_room()


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


class Room:
    """One speaker, its listeners by language, and the worker streams between them."""

    def __init__(self, room_id: str, settings: CreateRoom, grant: Grant, workers: WorkerClient,
                 config: GatewayConfig, metrics: GatewayMetrics, on_ended: Callable[[Room], None],
                 session_slot: Callable[[], AbstractAsyncContextManager[bool]]) -> None:
        self.room_id = room_id
        self.settings = settings
        self.grant = grant  # the speaker's: engines, session length, client label of every stream
        self.workers = workers
        self.config = config
        self.speaker_key = secrets.token_urlsafe(KEY_BYTES)
        self.listener_key = secrets.token_urlsafe(KEY_BYTES)
        self.client_label = grant.subject or "room"
        self._metrics = metrics
        self._on_ended = on_ended
        self._session_slot = session_slot  # the creator's address's: every worker stream of the room counts there
        self._covered: LanguageStream | None = None  # the stream the room's own slot pays for
        self._first: LanguageStream | None = None  # the first offered language's: open from the start, listened to or not
        self._key_generation = 0  # bumped when the speaker revokes the listener link
        self._speaker: Member | None = None
        self._speaker_grant = grant  # of the socket speaking now: a `speak` may bring another token
        self._listener_grants: dict[Member, Grant] = {}  # each listener's token: its engines hold too
        self._streams: dict[str, LanguageStream] = {}
        self._listeners: dict[Member, LanguageStream] = {}
        self._source_history: deque[str] = deque(maxlen=HISTORY_SEGMENTS)  # for a language nobody heard yet
        self._grace: asyncio.TimerHandle | None = None  # while the speaker is away: when the room ends
        self._counts_sent_at = float("-inf")
        self._counts_timer: asyncio.TimerHandle | None = None
        self._ending = False
        self.ended = asyncio.Event()
        # A token's max_session_seconds bounds the room as it bounds a session (each stream alone would reopen).
        self._deadline = None if grant.max_session_seconds is None else asyncio.get_running_loop().call_later(
            grant.max_session_seconds, self.end, "session_too_long")

    # The speaker

    def open_first_stream(self) -> None:
        """Translate the first offered language from the room's start, listeners or not: what is said before anyone
        joins is heard, remembered and replayed (S2ST_ROOM_REPLAY_BYTES) to the first listener, first words included.
        The room's own session slot pays for it (stream_slot)."""
        language = self.settings.languages[0]
        stream = self._first = self._streams[language] = LanguageStream(self, language)
        self._metrics.room_streams.inc()
        stream.ensure_running()

    def attach_speaker(self, member: Member, grant: Grant) -> None:
        """`member` is the speaker now: a previous speaker socket is replaced, a pending grace cancelled.
        ProtocolError(`forbidden`) when its token does not allow the engine of a stream already open."""
        self._check_live()
        for stream in self._streams.values():
            if stream.accepted is not None:
                grant.check_engine(stream.accepted.engine)
        self._speaker_grant = grant
        previous, self._speaker = self._speaker, member
        if previous is not None and previous is not member:
            previous.room_ended(self.room_id, "replaced")
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
            self._to_listeners(self._speaker_event())
        member.deliver(self.room_event())
        self._send_counts()

    def detach_speaker(self, member: Member) -> None:
        """The speaker's socket went away: wait S2ST_ROOM_GRACE_SECONDS for a speaker, then end."""
        if member is not self._speaker or self.ended.is_set():
            return
        self._speaker = None
        if self._ending:
            return
        self._grace = asyncio.get_running_loop().call_later(self.config.room_grace_seconds, self._speaker_gone)
        self._to_listeners(self._speaker_event())

    async def feed(self, frame: bytes) -> None:
        """The speaker's audio, to every language someone listens to."""
        if self._ending:
            return
        request = audio_request(frame)
        for stream in list(self._streams.values()):
            await stream.write(request)

    async def pause(self) -> None:
        """The speaker paused: every stream finishes what was said (finals and speech follow)."""
        await asyncio.gather(*(stream.finish() for stream in list(self._streams.values())))

    def revoke_listener_link(self) -> None:
        """A new listener key; listeners who came with the old one are removed."""
        self.listener_key = secrets.token_urlsafe(KEY_BYTES)
        self._key_generation += 1
        for member, stream in list(self._listeners.items()):
            if stream.listeners.get(member, self._key_generation) < self._key_generation:
                self.leave(member)
                member.room_ended(self.room_id, "link_revoked")
        if self._speaker is not None:
            self._speaker.deliver(self.room_event())

    async def end_by_speaker(self) -> None:
        """Let the streams finish what was said (at most END_FLUSH_SECONDS), then end the room for everyone."""
        if self._ending:
            return
        self._ending = True
        await self.pause()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(END_FLUSH_SECONDS):
                await asyncio.gather(*(stream.wait_ended() for stream in list(self._streams.values())))
        self.end("ended")

    def room_event(self) -> dict[str, Any]:
        return {"type": "room", "room_id": self.room_id, "speaker_key": self.speaker_key,
                "listener_key": self.listener_key, "languages": list(self.settings.languages),
                "source_language": self.settings.source_language, "sample_rate": self.settings.sample_rate,
                "max_listeners": self.config.room_max_listeners}

    def check_speaker_key(self, key: str) -> None:
        _check_key(key, self.speaker_key)

    def check_listener_key(self, key: str) -> None:
        """ProtocolError unless `key` is the listener key of this room, which is not ending."""
        _check_key(key, self.listener_key)
        self._check_live()

    def link_valid_event(self) -> dict[str, Any]:
        """What a listener link's holder may know before joining: the room is open, in these languages."""
        return {"type": "link_valid", "room_id": self.room_id, "languages": list(self.settings.languages),
                **self._speaker_fields()}

    def to_speaker(self, frame: Frame) -> None:
        if self._speaker is not None:
            self._speaker.deliver(frame)

    # Listeners

    def join(self, member: Member, key: str, language: str, grant: Grant) -> None:
        """Add a listener of `language`; ProtocolError when the key, language or room size says no."""
        self.check_listener_key(key)
        if language not in self.settings.languages:
            raise ProtocolError("language_not_offered", f"this room offers {', '.join(self.settings.languages)}; "
                                f"not {language!r}", fatal=True)
        if len(self._listeners) >= self.config.room_max_listeners:
            raise ProtocolError("room_full", f"this room already has {self.config.room_max_listeners} listeners",
                                fatal=True)
        stream = self._streams.get(language)
        if stream is None:
            stream = self._streams[language] = LanguageStream(self, language)
            self._metrics.room_streams.inc()
        self._listeners[member] = stream
        self._listener_grants[member] = grant
        self._metrics.room_listeners.inc()
        stream.add(member, self._key_generation)
        self._send_counts()

    def leave(self, member: Member) -> None:
        """Remove a listener; the last listener of a language ends its worker stream."""
        stream = self._listeners.pop(member, None)
        self._listener_grants.pop(member, None)
        if stream is None:
            return
        self._metrics.room_listeners.dec()
        stream.remove(member)
        if not stream.listeners and stream is not self._first:
            self._drop_stream(stream)
        self._send_counts()

    def welcome(self, member: Member, stream: LanguageStream) -> None:
        """`joined` for a listener of a stream now open, unless the listener's token does not allow its engine."""
        accepted = stream.accepted
        assert accepted is not None
        try:
            self._listener_grants.get(member, self.grant).check_engine(accepted.engine)
        except ProtocolError as refusal:
            self.leave(member)
            member.deliver(error_event(refusal.code, str(refusal), True))
            member.room_ended(self.room_id, "forbidden")
            return
        member.deliver(self.joined_event(stream))

    def check_speaker_engine(self, engine: str) -> None:
        """A stream opened on `engine`: a speaker whose token does not allow it is out (the room waits for another)."""
        speaker = self._speaker
        if speaker is None:
            return
        try:
            self._speaker_grant.check_engine(engine)
        except ProtocolError as refusal:
            self.detach_speaker(speaker)
            speaker.deliver(error_event(refusal.code, str(refusal), True))
            speaker.room_ended(self.room_id, "forbidden")

    def joined_event(self, stream: LanguageStream) -> dict[str, Any]:
        history = [{"source": entry.source, "target": entry.target} for entry in stream.history]
        if not history:
            history = [{"source": text, "target": None} for text in self._source_history]
        history = latest_within(history, self.config.room_replay_bytes)
        accepted = stream.accepted
        assert accepted is not None
        return {"type": "joined", "room_id": self.room_id, "target_language": stream.language,
                "engine": accepted.engine, "model": accepted.model,
                "output_sample_rate": accepted.output_sample_rate_hz,
                **self._speaker_fields(), "transcript": history}

    # The streams

    def is_source_feed(self, stream: LanguageStream) -> bool:
        """The stream whose events the speaker sees (SPEAKER_SEES), and whose source transcripts late joiners of a
        language nobody heard yet get: the first offered language's, open from the room's start."""
        return next(iter(self._streams.values()), None) is stream

    def remember_source(self, text: str, stream: LanguageStream) -> None:
        if self.is_source_feed(stream):
            self._source_history.append(text)

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

    def stream_failed(self, stream: LanguageStream, error: dict[str, Any]) -> None:
        """A language's worker stream could not be (re)opened: its listeners are told, and removed."""
        log.warning("a room's language stream failed", extra={"room": self.room_id, "language": stream.language,
                                                              "code": error["code"]})
        if stream is self._first:  # no longer held open: it goes with its last listener, as any other language's
            self._first = None
            self.to_speaker(error)
            if not stream.listeners:
                self._drop_stream(stream)
        for member in list(stream.listeners):
            self.leave(member)
            member.deliver(error)
            member.room_ended(self.room_id, "worker_unavailable")

    def _drop_stream(self, stream: LanguageStream) -> None:
        if self._streams.get(stream.language) is stream:
            del self._streams[stream.language]
            self._metrics.room_streams.dec()
        stream.close()

    # The room's end

    def end(self, reason: str) -> None:
        """End the room for everyone (reason: docs/protocol.md's `room_ended` reasons)."""
        if self.ended.is_set():
            return
        self._ending = True
        self.ended.set()
        for timer in (self._grace, self._counts_timer, self._deadline):
            if timer is not None:
                timer.cancel()
        for stream in list(self._streams.values()):
            self._drop_stream(stream)
        members = list(self._listeners)
        self._metrics.room_listeners.dec(len(members))
        self._listeners.clear()
        self._listener_grants.clear()
        if self._speaker is not None:
            members.append(self._speaker)
            self._speaker = None
        for member in members:
            member.room_ended(self.room_id, reason)
        log.info("room ended", extra={"room": self.room_id, "reason": reason})
        self._on_ended(self)

    def _speaker_gone(self) -> None:
        self._grace = None
        self._to_listeners(error_event("speaker_gone", "the speaker left and did not come back", True))
        self.end("speaker_gone")

    def _grace_left(self) -> dict[str, Any]:
        """While the room waits for its speaker: in how many seconds it ends without them (a page counts down)."""
        if self._grace is None:
            return {}
        return {"ends_in_seconds": round(max(0.0, self._grace.when() - asyncio.get_running_loop().time()), 1)}

    def _speaker_fields(self) -> dict[str, Any]:
        return {"speaker_connected": self._speaker is not None, **self._grace_left()}

    def _speaker_event(self) -> dict[str, Any]:
        return {"type": "speaker", "connected": self._speaker is not None, **self._grace_left()}

    def _check_live(self) -> None:
        if self._ending:
            raise ProtocolError("speaker_gone", "this room is ending", fatal=True)

    def _to_listeners(self, event: dict[str, Any]) -> None:
        text = json.dumps(event)
        for member in list(self._listeners):
            member.deliver(text)

    def _send_counts(self) -> None:
        """The listener counts to the speaker: now, or COUNTS_INTERVAL_SECONDS after the last time."""
        if self._counts_timer is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self._counts_sent_at + COUNTS_INTERVAL_SECONDS - loop.time()
        if wait > 0:
            self._counts_timer = loop.call_later(wait, self._send_counts_now)
        else:
            self._send_counts_now()

    def _send_counts_now(self) -> None:
        self._counts_timer = None
        self._counts_sent_at = asyncio.get_running_loop().time()
        counts = {language: len(stream.listeners) for language, stream in self._streams.items()}
        self.to_speaker({"type": "listeners", "counts": counts, "total": sum(counts.values())})
