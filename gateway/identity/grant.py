"""What a session's token lets it do: a Grant of scopes, checked against each request."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gateway.protocol import ProtocolError, Start

ROOM_ROLES = ("speaker", "listener")


@dataclass(frozen=True)
class Grant:
    """What a token lets its bearer do. None / empty: no limit of that kind.

    Scopes come from the token's `s2st` claim: `target_languages` (list of
    codes), `max_session_seconds` (number > 0), `engines` (list of engine
    names), `room` (the only room id the token may join or speak in: no session, no room of its own) and
    `room_role` (`listener`: may only listen, never send speech; `speaker`: anything).
    Every scope holds in every role: a listener's too (gateway/room_seat.py).
    """

    subject: str = ""
    target_languages: frozenset[str] | None = None
    max_session_seconds: float | None = None
    engines: frozenset[str] | None = None
    room: str = ""
    room_role: str = ""

    def admit(self, start: Start) -> Start:
        """The start as this grant runs it (its subject as the client label), or ProtocolError(`forbidden`)."""
        self.check_speaking()
        self.check_unscoped_to_a_room()
        self.check_target_language(start.target_language)
        return dataclasses.replace(start, client_label=self.subject) if self.subject else start

    def check_speaking(self, room_id: str | None = None) -> None:
        """Raise ProtocolError(`forbidden`) unless this grant may send speech (a session, a room, `room_id`'s speaker)."""
        if self.room_role == "listener":
            raise ProtocolError("forbidden", "this token only lets you listen; it cannot send speech")
        if room_id is not None:
            self.check_room(room_id)

    def check_unscoped_to_a_room(self) -> None:
        """Raise ProtocolError(`forbidden`) when the token names a room: it opens no session and no other room."""
        if self.room:
            raise ProtocolError("forbidden", "this token is for one room only: it can join or speak there, "
                                "not start a session or create a room")

    def check_room(self, room_id: str) -> None:
        """Raise ProtocolError(`forbidden`) when the token names another room."""
        if self.room and self.room != room_id:
            raise ProtocolError("forbidden", "this token is for another room")

    def check_target_language(self, language: str) -> None:
        """Raise ProtocolError(`forbidden`) when the token does not allow translating into `language`."""
        if self.target_languages is not None and language not in self.target_languages:
            allowed = ", ".join(sorted(self.target_languages)) or "none"
            raise ProtocolError("forbidden", f"this token does not allow target language {language!r} "
                                f"(allowed: {allowed})")

    def check_engine(self, engine: str) -> None:
        """Raise ProtocolError(`forbidden`) when the engine that accepted the session is not allowed."""
        if self.engines is not None and engine not in self.engines:
            raise ProtocolError("forbidden", f"this token does not allow the {engine!r} engine")


UNRESTRICTED = Grant()
