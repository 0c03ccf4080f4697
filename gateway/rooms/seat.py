"""The room side of one socket: idle, a room's speaker, or one of its listeners (docs/protocol.md, "Rooms")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Literal

from gateway.identity.grant import Grant
from gateway.protocol import (
    CheckLink,
    CreateRoom,
    EndRoom,
    Join,
    Leave,
    ProtocolError,
    RevokeListenerLink,
    RoomMessage,
    Speak,
    Stop,
)
from gateway.rooms.member import Member
from gateway.rooms.registry import RoomRegistry
from gateway.rooms.room import Room

Role = Literal["", "speaker", "listener"]


class RoomSeat:
    """What one socket does in a room; room messages from the socket's relay come here."""

    def __init__(self, member: Member, rooms: RoomRegistry, grant: Grant,
                 room_id: str | None, session_slot: Callable[[], AbstractAsyncContextManager[bool]]) -> None:
        self._member = member
        self._rooms = rooms
        self._grant = grant
        self._room_id = room_id  # from /ws/rooms/ID: the room `speak` and `join` mean
        self._session_slot = session_slot
        self._ending: asyncio.Task[None] | None = None
        self._time_limit: asyncio.TimerHandle | None = None  # the token's max_session_seconds, for a seat it took
        self.role: Role = ""
        self.room: Room | None = None

    @property
    def active(self) -> bool:
        return self.room is not None

    async def handle(self, message: RoomMessage | Stop) -> None:
        """Carry out a room message; ProtocolError when this socket or its token may not."""
        if isinstance(message, (CreateRoom, Speak, Join)):
            if self.active:
                raise ProtocolError("already_started", f"this socket is already the room's {self.role}; "
                                    "leave or end it first")
            await self._take_seat(message)
            return
        if isinstance(message, CheckLink):
            self._member.deliver(self._checked_link(message.key))
            return
        room = self.room
        if isinstance(message, Leave) and self.role == "listener" and room is not None:
            room.leave(self._member)
            self.clear()
            self._member.deliver({"type": "left"})
            return
        if self.role != "speaker" or room is None:
            raise ProtocolError("not_in_room", "only a room's speaker may send that" if not isinstance(message, Leave)
                                else "this socket is not listening to a room")
        if isinstance(message, Stop):
            await room.pause()
        elif isinstance(message, RevokeListenerLink):
            room.revoke_listener_link()
        elif isinstance(message, EndRoom) and self._ending is None:
            self._ending = asyncio.create_task(room.end_by_speaker(), name="room-end")

    async def feed(self, frame: bytes) -> None:
        """Audio from this socket: the speaker's goes to the room, a listener's is refused."""
        if self.role != "speaker" or self.room is None:
            raise ProtocolError("forbidden", "listeners do not send audio")
        await self.room.feed(frame)

    def clear(self) -> None:
        """The socket is out of its room (it left, or the room ended for it)."""
        if self._time_limit is not None:
            self._time_limit.cancel()
        self.role, self.room, self._ending, self._time_limit = "", None, None, None

    def socket_closed(self) -> None:
        """The socket went away: a listener leaves; a speaker's room waits for a speaker to come back."""
        room, role = self.room, self.role
        self.clear()
        if room is None:
            return
        if role == "listener":
            room.leave(self._member)
        else:
            room.detach_speaker(self._member)

    def _hold_to_session_length(self) -> None:
        """A seat taken with `speak` or `join` lasts the token's max_session_seconds at most, as a session does
        (a room's creator is bounded by the room's own deadline: gateway/rooms/room.py)."""
        if self._grant.max_session_seconds is not None:
            self._time_limit = asyncio.get_running_loop().call_later(self._grant.max_session_seconds, self._time_up)

    def _time_up(self) -> None:
        room = self.room
        self._time_limit = None
        if room is not None:
            self.socket_closed()
            self._member.room_ended(room.room_id, "session_too_long")

    def _checked_link(self, key: str) -> dict[str, object]:
        """`link_valid` when this socket's room is open to listener `key` and this token; else the refusal a `join`
        would get (unknown_room for an ended room, a revoked key or an invented one: the link proves nothing more)."""
        if self._room_id is None:
            raise ProtocolError("unknown_room", "open /ws/rooms/ROOM_ID to check a room link", fatal=True)
        room = self._rooms.get(self._room_id)
        room.check_listener_key(key)
        self._grant.check_room(room.room_id)
        return room.link_valid_event()

    async def _take_seat(self, message: CreateRoom | Speak | Join) -> None:
        if isinstance(message, CreateRoom):
            self._grant.check_speaking()
            self._grant.check_unscoped_to_a_room()
            for language in message.languages:
                self._grant.check_target_language(language)
            room = await self._rooms.create(message, self._grant, self._member, self._session_slot)
            if not room.ended.is_set():
                self.role, self.room = "speaker", room
            return
        if self._room_id is None:
            raise ProtocolError("unknown_room", "open /ws/rooms/ROOM_ID to speak in or join a room", fatal=True)
        room = self._rooms.get(self._room_id)
        if isinstance(message, Speak):
            room.check_speaker_key(message.key)
            self._grant.check_speaking(room.room_id)
            for language in room.settings.languages:  # the speaker's audio is translated into each of them
                self._grant.check_target_language(language)
            room.attach_speaker(self._member, self._grant)
            self.role, self.room = "speaker", room
            self._hold_to_session_length()
            return
        self._grant.check_room(room.room_id)
        self._grant.check_target_language(message.target_language)
        self.role, self.room = "listener", room  # before joining: the room may turn the listener away at once
        try:
            room.join(self._member, message.key, message.target_language, self._grant)
        except ProtocolError:
            self.clear()
            raise
        if self.room is room:
            self._hold_to_session_length()
