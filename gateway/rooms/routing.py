"""Room sockets that reach the wrong serving process or gateway are carried to the one that holds the room.

A room lives on the serving process that created it, and its id says where:
``<process>.<random>`` on a gateway of its own, ``<gateway>.<process>.<random>``
when gateways know their peers. Connections reach any process of any gateway
(the kernel and the load balancer pick), so a socket for `/ws/rooms/ID` held
elsewhere is relayed there frame by frame, after this gateway's own checks,
with the handshake's Host, Origin, Authorization and query (the owner checks
them again) and the client's address in ``CLIENT_ADDRESS_HEADER``.

Where a relayed socket arrives says it was relayed, and only there is that header
believed: a sibling process's Unix socket (in the supervisor's private directory),
or this gateway's peer port (S2ST_GATEWAY_PEER_PORT, which only other gateways may
reach: the chart's NetworkPolicy, and which refuses a socket without the peer token,
S2ST_GATEWAY_PEER_TOKEN, with 403). A relayed socket is never relayed again, so
nothing loops. Close codes pass through both ways. No registry, no membership:
a gateway or process that is gone simply does not answer, and the room is unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import websockets
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect

from gateway.config import GATEWAY_NAME, GatewayConfig
from gateway.outbound import CLOSE_SLOW_CLIENT, SLOW_CLIENT_REASON, OutboundQueue, flush, send_frames

log = logging.getLogger("gateway.rooms.routing")

CLIENT_ADDRESS_HEADER = "x-s2st-client-address"
PEER_TOKEN_HEADER = "x-s2st-peer-token"  # S2ST_GATEWAY_PEER_TOKEN, from a gateway handing a socket to a peer
FORWARDED_HEADERS = ("authorization", "user-agent")
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_FRAME_BYTES = 1 << 20  # as the public side (gateway/serving/server.py)
CLOSE_NORMAL, CLOSE_NO_STATUS, CLOSE_ABNORMAL, CLOSE_INTERNAL_ERROR = 1000, 1005, 1006, 1011
PROCESS_INDEX = re.compile(r"[0-9]{1,3}")

Arrival = Literal["client", "sibling", "peer"]  # from a client, or relayed by a sibling process or a peer gateway
Target = Path | tuple[str, int]  # a sibling's Unix socket, or a peer's (host, port)


class HandshakeRefused(Exception):
    """The room's owner refused the relayed handshake with an HTTP status (401, 403, 429, ...)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class RoomRouting:
    """This serving process's place, where its sibling processes listen, and how to reach its peer gateways."""

    process_index: int = 0
    sockets_dir: Path | None = None  # several serving processes: each one's Unix socket is here
    gateway_name: str = ""  # S2ST_GATEWAY_NAME
    peer_address: str = ""  # S2ST_GATEWAY_PEER_ADDRESS, "{name}" standing for a peer's name
    peer_port: int = 0  # S2ST_GATEWAY_PEER_PORT
    peer_token: str = field(default="", repr=False)  # S2ST_GATEWAY_PEER_TOKEN

    @classmethod
    def of(cls, config: GatewayConfig, process_index: int = 0, sockets_dir: Path | None = None) -> RoomRouting | None:
        """The routing of one serving process; None when it is the only place rooms can be."""
        if sockets_dir is None and not config.gateway_name:
            return None
        return cls(process_index, sockets_dir, config.gateway_name, config.peer_address, config.peer_port,
                   config.peer_token)

    @property
    def room_id_prefix(self) -> str:
        return f"{self.gateway_name}.{self.process_index}" if self.gateway_name else str(self.process_index)

    def socket_path(self, process_index: int) -> Path:
        assert self.sockets_dir is not None
        return self.sockets_dir / f"process-{process_index}.sock"

    def arrival(self, websocket: WebSocket) -> Arrival:
        if websocket.client is None:  # a Unix socket: only the siblings' relays come that way
            return "sibling"
        server = websocket.scope.get("server")
        if self.peer_port and server is not None and server[1] == self.peer_port:
            return "peer"
        return "client"

    def peer_admitted(self, websocket: WebSocket) -> bool:
        """Whether a socket on the peer port presents the peer token (the NetworkPolicy alone is not trusted)."""
        presented = websocket.headers.get(PEER_TOKEN_HEADER, "").encode("utf-8", "surrogatepass")
        return bool(self.peer_token) and hmac.compare_digest(presented, self.peer_token.encode())

    def credential_for(self, target: Target) -> str:
        """The peer token for a socket carried to a peer gateway; none for a sibling process."""
        return self.peer_token if isinstance(target, tuple) else ""

    def route(self, room_id: str, arrival: Arrival) -> Target | None:
        """Where to carry a socket for room_id that arrived this way; None: here (the room is here, or nowhere)."""
        parts = room_id.split(".")
        if arrival == "sibling" or len(parts) not in (2, 3):
            return None
        name, index = (parts[0], parts[1]) if len(parts) == 3 else ("", parts[0])
        if not PROCESS_INDEX.fullmatch(index):
            return None
        if name != self.gateway_name:
            if arrival != "client" or not self.peer_address or not GATEWAY_NAME.fullmatch(name):
                return None
            host, _, port = self.peer_address.replace("{name}", name).rpartition(":")
            return (host.strip("[]"), int(port)) if port.isdigit() else None
        if int(index) != self.process_index and self.sockets_dir is not None:
            return self.socket_path(int(index))
        return None


async def relay_to_owner(websocket: WebSocket, target: Target, client_address: str, config: GatewayConfig,
                         peer_token: str = "") -> bool:
    """Carry this socket to the room's owner at target (presenting peer_token, for a peer) until either side
    closes, within config's outbound and close limits.

    False (nothing done) when the owner does not answer; HandshakeRefused when it refuses.
    """
    headers = {name: value for name, value in websocket.headers.items() if name in FORWARDED_HEADERS}
    headers[CLIENT_ADDRESS_HEADER] = client_address
    if peer_token:
        headers[PEER_TOKEN_HEADER] = peer_token
    query = f"?{websocket.url.query}" if websocket.url.query else ""
    # The URI names the client's own Host (checked again by the owner); the socket goes to target.
    uri = f"ws://{websocket.headers.get('host', 'localhost')}{websocket.url.path}{query}"
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            sock = await _connected(target)
            owner = await connect(uri, sock=sock, additional_headers=headers,
                                  origin=websocket.headers.get("origin"),  # type: ignore[arg-type]
                                  compression=None, max_size=MAX_FRAME_BYTES, ping_interval=None,
                                  close_timeout=config.ws_close_timeout_seconds)
    except websockets.InvalidStatus as refusal:  # the owner refused the handshake: the client gets its answer
        raise HandshakeRefused(refusal.response.status_code,
                               refusal.response.body.decode(errors="replace")) from None
    except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
        log.warning("a room's owner did not answer", extra={"target": str(target), "error": repr(error)})
        return False
    async with owner:
        await websocket.accept()
        await _pump(websocket, owner, OutboundQueue(config.outbound_queue_frames, config.outbound_queue_bytes))
    return True


async def _connected(target: Target) -> socket.socket:
    loop = asyncio.get_running_loop()
    if isinstance(target, Path):
        family, address = socket.AF_UNIX, str(target)
    else:
        family, _, _, _, address = (await loop.getaddrinfo(*target, type=socket.SOCK_STREAM))[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return sock


async def _pump(websocket: WebSocket, owner: ClientConnection, outbound: OutboundQueue) -> None:
    to_owner = asyncio.create_task(_client_to_owner(websocket, owner))
    from_owner = asyncio.create_task(_owner_to_queue(owner, outbound))
    sending = asyncio.create_task(send_frames(websocket, outbound))
    try:
        await asyncio.wait([to_owner, from_owner], return_when=asyncio.FIRST_COMPLETED)
        if from_owner.done() and not to_owner.done():  # the client is still there: it gets the close
            code, reason = from_owner.result()
            if code != CLOSE_SLOW_CLIENT:
                await flush(outbound)
            sending.cancel()
            # Both at once: the owner, no longer read, may not answer its close before it gives up on us either.
            await asyncio.gather(_close_client(websocket, code, reason), owner.close())
    finally:
        for task in (to_owner, from_owner, sending):
            task.cancel()
        await asyncio.gather(to_owner, from_owner, sending, return_exceptions=True)


async def _close_client(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # the client went away meanwhile
        await websocket.close(code, reason)


async def _client_to_owner(websocket: WebSocket, owner: ClientConnection) -> None:
    with contextlib.suppress(WebSocketDisconnect, websockets.ConnectionClosed):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                await owner.close()
                return
            await owner.send(message["bytes"] if message.get("bytes") is not None else message["text"])


async def _owner_to_queue(owner: ClientConnection, outbound: OutboundQueue) -> tuple[int, str]:
    """The owner's frames into the client's queue, read at once whatever the client does (so the owner's close
    is seen); then the close the client gets: the owner's, or 1008 once the client lets its queue fill, as the
    owner would do."""
    try:
        async for message in owner:
            try:
                outbound.put_nowait(message)
            except asyncio.QueueFull:
                log.warning("closing a client that does not read its events (relayed)")
                return CLOSE_SLOW_CLIENT, SLOW_CLIENT_REASON
    except websockets.ConnectionClosed:
        pass
    code = owner.close_code
    if code is None or code == CLOSE_ABNORMAL:
        code = CLOSE_INTERNAL_ERROR  # the owner process went away: the room is gone for this client
    elif code == CLOSE_NO_STATUS:
        code = CLOSE_NORMAL
    return code, owner.close_reason or ""
