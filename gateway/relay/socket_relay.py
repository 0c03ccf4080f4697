"""One browser WebSocket: client frames to a worker's gRPC stream, worker events back to the client.

Data path: socket -> receiver.py (the receive loop: frames parsed, rate limited, dispatched) -> session.py
(the worker session: its state, its gRPC stream) -> sender.py (a bounded outbound queue) -> socket. Instead of
a session, a socket may be a room's speaker or listener: room messages and a speaker's audio go to its
``RoomSeat`` (gateway/rooms/seat.py), and the room delivers its events here as it does for every member.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from starlette.websockets import WebSocket

from gateway.config import GatewayConfig
from gateway.identity.grant import Grant
from gateway.metrics import GatewayMetrics
from gateway.outbound import Frame
from gateway.relay.receiver import FrameReceiver
from gateway.relay.sender import FrameSender, shutting_down
from gateway.relay.session import SessionState, WorkerSession
from gateway.rooms.registry import RoomRegistry
from gateway.rooms.seat import RoomSeat
from gateway.sockets import OpenSockets
from gateway.worker.client import WorkerClient

log = logging.getLogger("gateway.relay")  # one logger for all the relay's parts

CLOSE_GOING_AWAY = 1001


class SocketRelay:
    """Relays the sessions of one WebSocket: runs its receive loop and send path, and answers its room and the
    shutdown."""

    def __init__(self, websocket: WebSocket, workers: WorkerClient, config: GatewayConfig,
                 metrics: GatewayMetrics, sockets: OpenSockets,
                 session_slot: Callable[[], AbstractAsyncContextManager[bool]], grant: Grant,
                 rooms: RoomRegistry, room_id: str | None) -> None:
        self._sender = FrameSender(websocket, config, metrics)
        self._session = WorkerSession(self._sender, workers, config, metrics, session_slot, grant)
        self._seat = RoomSeat(self, rooms, grant, room_id, session_slot)
        self._receiver = FrameReceiver(websocket, self._sender, self._session, self._seat, config, sockets, grant)

    async def run(self) -> None:
        """Serve the socket until the client leaves, stops reading, or the gateway fails it."""
        tasks = [
            asyncio.create_task(self._receiver.receive_frames(), name="ws-receive"),
            asyncio.create_task(self._sender.send_frames(), name="ws-send"),
        ]
        try:
            await asyncio.wait([*tasks, self._sender.closing], return_when=asyncio.FIRST_COMPLETED)
            await self._sender.flush()
        finally:
            for task in tasks:
                task.cancel()
            for task, result in zip(tasks, await asyncio.gather(*tasks, return_exceptions=True)):
                if isinstance(result, Exception):
                    log.error("socket task failed", exc_info=result, extra={"task": task.get_name()})
            await self._session.end()
            self._seat.socket_closed()
        await self._sender.close_socket()

    @property
    def has_session(self) -> bool:
        return self._session.state is not SessionState.IDLE or self._seat.active

    # A room's member (gateway/rooms/member.py)

    def deliver(self, frame: Frame) -> None:
        self._sender.send(frame)

    def room_ended(self, room_id: str, reason: str) -> None:
        self._seat.clear()
        self._sender.send({"type": "room_ended", "room_id": room_id, "reason": reason})

    def shut_down(self) -> None:
        """The gateway is going away: say so, end a live session (`ended`, as after any fatal error), close 1001."""
        self._sender.send(shutting_down())
        if self._session.state is not SessionState.IDLE:
            self._session.abandon()
        self._sender.close(CLOSE_GOING_AWAY, "server shutting down")
