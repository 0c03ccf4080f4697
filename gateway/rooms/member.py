"""A socket in a room, as the room sees it: the speaker or a listener."""

from __future__ import annotations

from typing import Protocol

from gateway.outbound import Frame


class Member(Protocol):
    """A socket in a room: the speaker or a listener."""

    def deliver(self, frame: Frame) -> None:
        """Queue a frame for the socket; a socket that does not read is cut off, not waited for."""
        ...

    def room_ended(self, room_id: str, reason: str) -> None:
        """The room is over for this socket (it is idle again)."""
        ...
