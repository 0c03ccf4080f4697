"""The rooms of one gateway process: creating one, finding one by id, ending them all at shutdown."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from gateway.config import GatewayConfig
from gateway.identity.grant import Grant
from gateway.metrics import GatewayMetrics
from gateway.protocol import CreateRoom, ProtocolError
from gateway.rooms.member import Member
from gateway.rooms.room import Room, unknown_room
from gateway.worker.client import WorkerClient

log = logging.getLogger("gateway.rooms.registry")

ROOM_ID_BYTES = 16  # 128 random bits, after the place of the room


class RoomRegistry:
    """The rooms of this gateway process, by id; a room id starts with where it lives (gateway/rooms/routing.py)."""

    def __init__(self, config: GatewayConfig, metrics: GatewayMetrics, workers: Callable[[], WorkerClient],
                 id_prefix: str = "0") -> None:
        self._config = config
        self._metrics = metrics
        self._workers = workers
        self._id_prefix = id_prefix
        self._rooms: dict[str, Room] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, room_id: str) -> Room:
        room = self._rooms.get(room_id)
        if room is None:
            raise unknown_room()
        return room

    async def create(self, settings: CreateRoom, grant: Grant, speaker: Member,
                     session_slot: Callable[[], AbstractAsyncContextManager[bool]]) -> Room:
        """A new room with `speaker` as its speaker, holding one of its address's session slots while it lives."""
        if len(settings.languages) > self._config.room_max_languages:
            raise ProtocolError("invalid_config", f"a room offers at most {self._config.room_max_languages} languages",
                                fatal=True)
        if len(self._rooms) >= self._config.max_rooms:
            raise ProtocolError("too_many_rooms", "this gateway holds as many rooms as it may; try again later",
                                fatal=True)
        created: asyncio.Future[Room] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._hold(settings, grant, speaker, session_slot, created), name="room")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await created

    async def _hold(self, settings: CreateRoom, grant: Grant, speaker: Member,
                    session_slot: Callable[[], AbstractAsyncContextManager[bool]], created: asyncio.Future[Room]) -> None:
        try:
            async with session_slot() as admitted:
                if not admitted:
                    created.set_exception(ProtocolError(
                        "too_many_sessions", f"this address already holds {self._config.max_sessions_per_ip} "
                        "sessions or rooms; end one first", fatal=True))
                    return
                room_id = f"{self._id_prefix}.{secrets.token_urlsafe(ROOM_ID_BYTES)}"
                room = self._rooms[room_id] = Room(room_id, settings, grant, self._workers(), self._config,
                                                   self._metrics, self._forget, session_slot)
                self._metrics.active_rooms.inc()
                log.info("room created", extra={"room": room_id, "languages": list(settings.languages)})
                room.attach_speaker(speaker, grant)
                room.open_first_stream()
                created.set_result(room)
                await room.ended.wait()
        except BaseException as error:
            if not created.done():
                created.set_exception(error)
            raise

    def _forget(self, room: Room) -> None:
        if self._rooms.pop(room.room_id, None) is not None:
            self._metrics.active_rooms.dec()

    async def close(self) -> None:
        """The process is going away: every room ends."""
        for room in list(self._rooms.values()):
            room.end("shutting_down")
        await asyncio.gather(*self._tasks, return_exceptions=True)
