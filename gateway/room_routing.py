"""Room sockets that reach the wrong serving process are carried to the process that holds the room.

Several serving processes share one port (gateway/processes.py) and the kernel
picks one for each connection, but a room lives on the process that created it.
A room id starts with that process's index; each process also listens on a Unix
socket of its own in a private directory, and a socket for `/ws/rooms/ID` whose
room is held by another process is relayed there frame by frame, with the
handshake's Host, Origin, Authorization and query (the owner checks them again)
and the client's address in ``CLIENT_ADDRESS_HEADER``, which the owner trusts only
on its Unix socket. Close codes pass through both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

import websockets
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, unix_connect

log = logging.getLogger("gateway.room_routing")

CLIENT_ADDRESS_HEADER = "x-s2st-client-address"
FORWARDED_HEADERS = ("origin", "authorization", "user-agent")
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_FRAME_BYTES = 1 << 20  # as the public side (gateway/serving.py)
CLOSE_NORMAL, CLOSE_NO_STATUS, CLOSE_ABNORMAL, CLOSE_INTERNAL_ERROR = 1000, 1005, 1006, 1011


class HandshakeRefused(Exception):
    """The room's process refused the relayed handshake with an HTTP status (401, 403, 429, ...)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class RoomRouting:
    """Which serving process this is, and where every process's Unix socket lies."""

    process_index: int
    sockets_dir: Path

    def socket_path(self, process_index: int) -> Path:
        return self.sockets_dir / f"process-{process_index}.sock"

    def owner(self, room_id: str) -> int | None:
        """The index of the process that holds room_id, when it is another one."""
        index, dot, _ = room_id.partition(".")
        if not dot or not index.isdigit() or int(index) == self.process_index:
            return None
        return int(index)


def arrived_internally(websocket: WebSocket) -> bool:
    """A socket relayed from another serving process: it came over a Unix socket (no peer address)."""
    return websocket.client is None


async def relay_to_owner(websocket: WebSocket, socket_path: Path, client_address: str) -> bool:
    """Carry this socket to the process listening on socket_path until either side closes.

    False (nothing done) when that process does not answer; HandshakeRefused when it refuses.
    """
    headers = {name: value for name, value in websocket.headers.items() if name in FORWARDED_HEADERS and name != "origin"}
    headers[CLIENT_ADDRESS_HEADER] = client_address
    query = f"?{websocket.url.query}" if websocket.url.query else ""
    uri = f"ws://{websocket.headers.get('host', 'localhost')}{websocket.url.path}{query}"
    try:
        owner = await unix_connect(str(socket_path), uri, additional_headers=headers,
                                   origin=websocket.headers.get("origin"),  # type: ignore[arg-type]
                                   compression=None, max_size=MAX_FRAME_BYTES, open_timeout=CONNECT_TIMEOUT_SECONDS,
                                   ping_interval=None)
    except websockets.InvalidStatus as refusal:  # the owner refused the handshake: the client gets its answer
        raise HandshakeRefused(refusal.response.status_code,
                               refusal.response.body.decode(errors="replace")) from None
    except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
        log.warning("a room's process did not answer", extra={"socket": str(socket_path), "error": repr(error)})
        return False
    async with owner:
        await websocket.accept()
        await _pump(websocket, owner)
    return True


async def _pump(websocket: WebSocket, owner: ClientConnection) -> None:
    to_owner = asyncio.create_task(_client_to_owner(websocket, owner))
    to_client = asyncio.create_task(_owner_to_client(owner, websocket))
    try:
        await asyncio.wait([to_owner, to_client], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (to_owner, to_client):
            task.cancel()
        await asyncio.gather(to_owner, to_client, return_exceptions=True)


async def _client_to_owner(websocket: WebSocket, owner: ClientConnection) -> None:
    with contextlib.suppress(WebSocketDisconnect, websockets.ConnectionClosed):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                await owner.close()
                return
            await owner.send(message["bytes"] if message.get("bytes") is not None else message["text"])


async def _owner_to_client(owner: ClientConnection, websocket: WebSocket) -> None:
    try:
        async for message in owner:
            if isinstance(message, bytes):
                await websocket.send_bytes(message)
            else:
                await websocket.send_text(message)
    except websockets.ConnectionClosed:
        pass
    except (WebSocketDisconnect, RuntimeError):
        return  # the client went away
    code = owner.close_code
    if code is None or code == CLOSE_ABNORMAL:
        code = CLOSE_INTERNAL_ERROR  # the owner process went away: the room is gone for this client
    elif code == CLOSE_NO_STATUS:
        code = CLOSE_NORMAL
    with contextlib.suppress(RuntimeError):
        await websocket.close(code, owner.close_reason or "")
