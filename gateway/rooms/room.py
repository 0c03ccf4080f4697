"""Rooms: one speaker's audio, one worker stream per target language someone listens to, fanned out.

A ``Room`` holds who is in it and what it remembers: its speaker and listeners, their keys and links, the counts
the speaker sees, the transcript a late listener is sent, and its life (the speaker's grace period, its end). Its
worker streams are a ``RoomStreams`` (gateway/rooms/streams.py), one ``LanguageStream`` per language
(gateway/rooms/language_stream.py); a room lives on the gateway process that created it (``RoomRegistry``,
gateway/rooms/registry.py). Members are sockets (``Member``): a member that cannot keep up is cut off by its own
bounded queue, never the room. Protocol: docs/protocol.md, "Rooms".
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
from collections import deque
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from gateway.config import GatewayConfig
from gateway.identity.grant import Grant
from gateway.metrics import GatewayMetrics
from gateway.outbound import Frame
from gateway.protocol import CreateRoom, ProtocolError, error_event
from gateway.rooms.history import HISTORY_SEGMENTS, replay
from gateway.rooms.language_stream import LanguageStream
from gateway.rooms.member import Member
from gateway.rooms.streams import RoomStreams
from gateway.worker.client import WorkerClient

log = logging.getLogger("gateway.rooms.room")

COUNTS_INTERVAL_SECONDS = 0.5  # listener counts reach the speaker at most this often
END_FLUSH_SECONDS = 10.0  # `end_room`: how long the streams may take to finish what was said
KEY_BYTES = 24  # speaker and listener keys: 192 random bits


def unknown_room() -> ProtocolError:
    """The refusal of a room that does not exist here, or of a wrong key: the two are not told apart."""
    return ProtocolError("unknown_room", "no such room, or the link is no longer valid", fatal=True)


def _check_key(given: str, expected: str) -> None:
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise unknown_room()


class Room:
    """One speaker and its listeners by language: their keys, the counts, what was said, and the room's end."""

    def __init__(self, room_id: str, settings: CreateRoom, grant: Grant, workers: WorkerClient,
                 config: GatewayConfig, metrics: GatewayMetrics, on_ended: Callable[[Room], None],
                 session_slot: Callable[[], AbstractAsyncContextManager[bool]]) -> None:
        self.room_id = room_id
        self.settings = settings
        self.grant = grant  # the creator's: its session length bounds the room
        self.config = config
        self.speaker_key = secrets.token_urlsafe(KEY_BYTES)
        self.listener_key = secrets.token_urlsafe(KEY_BYTES)
        self._metrics = metrics
        self._on_ended = on_ended
        self._streams = RoomStreams(room_id, settings, grant, workers, config, metrics, self, session_slot)
        self._key_generation = 0  # bumped when the speaker revokes the listener link
        self._speaker: Member | None = None
        self._speaker_grant = grant  # of the socket speaking now: a `speak` may bring another token
        self._listener_grants: dict[Member, Grant] = {}  # each listener's token: its engines hold too
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
        """The first offered language's stream opens with the room (RoomStreams.open_first)."""
        self._streams.open_first()

    def attach_speaker(self, member: Member, grant: Grant) -> None:
        """`member` is the speaker now: a previous speaker socket is replaced, a pending grace cancelled.
        ProtocolError(`forbidden`) when its token does not allow the engine of a stream already open."""
        self._check_live()
        for engine in self._streams.open_engines():
            grant.check_engine(engine)
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
        await self._streams.feed(frame)

    async def pause(self) -> None:
        """The speaker paused: every stream finishes what was said (finals and speech follow)."""
        await self._streams.finish()

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
                await self._streams.wait_ended()
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
        stream = self._streams.of_language(language)
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
        self._streams.release(stream)
        self._send_counts()

    # What a LanguageStream tells the room's people (language_stream.Audience)

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

    def remember_source(self, text: str) -> None:
        """A source final of the room's first stream: replayed to the first listener of a language nobody heard yet."""
        self._source_history.append(text)

    def stream_failed(self, stream: LanguageStream, error: dict[str, Any]) -> None:
        """A language's worker stream could not be (re)opened: its listeners are told, and removed."""
        log.warning("a room's language stream failed", extra={"room": self.room_id, "language": stream.language,
                                                              "code": error["code"]})
        if self._streams.lost(stream):
            self.to_speaker(error)
        for member in list(stream.listeners):
            self.leave(member)
            member.deliver(error)
            member.room_ended(self.room_id, "worker_unavailable")

    def joined_event(self, stream: LanguageStream) -> dict[str, Any]:
        accepted = stream.accepted
        assert accepted is not None
        return {"type": "joined", "room_id": self.room_id, "target_language": stream.language,
                "engine": accepted.engine, "model": accepted.model,
                "output_sample_rate": accepted.output_sample_rate_hz, **self._speaker_fields(),
                "transcript": replay(stream.history, self._source_history, self.config.room_replay_bytes)}

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
        self._streams.close()
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
        counts = self._streams.listener_counts()
        self.to_speaker({"type": "listeners", "counts": counts, "total": sum(counts.values())})


