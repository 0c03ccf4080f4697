"""How the gateway sits on uvicorn: a bounded request head, quiet refusals, and a drain before shutdown.

- ``head_limited_protocol``: uvicorn's httptools protocol, answering 431 once a
  request's line and headers pass a byte limit, before they are buffered (the
  parser keeps a header whole in memory until it ends), or once one line or the
  number of headers passes what the WebSocket layer parses again on an upgrade
  (it leaves a handshake beyond those unanswered: the client would hang).
- ``websocket_protocol``: uvicorn's WebSocket protocol, counting an HTTP
  refusal (401, 403, 429) as an answered handshake (uvicorn logs every refusal
  as an error, "returned without completing handshake", otherwise), and aborting
  a connection whose close does not complete within S2ST_WS_CLOSE_TIMEOUT_SECONDS
  (a client that does not read would otherwise keep it, its send buffers and its
  per-IP slot forever: the close frame waits behind what it never reads).
- ``DrainingServer``: on SIGTERM, stop accepting, let live sessions finish within
  the grace period, then end the rest with an error event and close 1001; only
  then uvicorn's own shutdown (which would close every socket with 1012 at once).
- ``serve``: one serving process, on its own port or on a listening socket it was given.
"""

from __future__ import annotations

import logging
import socket
import struct
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import MAX_LINE_LENGTH, MAX_NUM_HEADERS

from gateway.app import create_app
from gateway.config import GatewayConfig
from gateway.limits import ClientLimits
from gateway.rooms.routing import RoomRouting
from gateway.sockets import OpenSockets

log = logging.getLogger("gateway.serving.server")

# Frames beyond this are refused by the WebSocket layer itself (close 1009);
# smaller over-limit audio frames get a `frame_too_large` error event instead.
TRANSPORT_MAX_FRAME_BYTES = 1 << 20
LISTEN_BACKLOG = 2048
# What uvicorn's own shutdown may take after the drain (DrainingServer) has ended every session.
UVICORN_SHUTDOWN_SECONDS = 10


def serve(config: GatewayConfig, listener: socket.socket | None = None, limits: ClientLimits | None = None,
          routing: RoomRouting | None = None) -> None:
    """Serve until SIGTERM or SIGINT (then drain): on config.host:port, or on `listener` shared with other processes;
    also where other processes or gateways hand over room sockets (gateway/rooms/routing.py)."""
    routing = routing or RoomRouting.of(config)
    sockets = OpenSockets()
    server = DrainingServer(uvicorn.Config(
        create_app(config, sockets=sockets, limits=limits, routing=routing),
        host=config.host,
        port=config.port,
        http=head_limited_protocol(config.max_request_head_bytes),
        ws=websocket_protocol(config.ws_close_timeout_seconds),
        ws_max_size=TRANSPORT_MAX_FRAME_BYTES,
        # PCM barely compresses and events are small: compression would cost CPU per frame and
        # a zlib state (hundreds of KB) per connection.
        ws_per_message_deflate=False,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=UVICORN_SHUTDOWN_SECONDS,
        proxy_headers=True,
        forwarded_allow_ips=config.trusted_proxies,
    ), sockets, config.shutdown_grace_seconds)
    listening = [listener or listen_tcp(config.host, config.port)]
    if routing is not None and routing.sockets_dir is not None:
        listening.append(_unix_listener(routing.socket_path(routing.process_index)))
    if config.peer_port:
        listening.append(listen_tcp(config.host, config.peer_port))
    server.run(sockets=listening)


def listen_tcp(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port, inheritable by the serving processes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(LISTEN_BACKLOG)
    listener.set_inheritable(True)
    return listener


def _unix_listener(path: Path) -> socket.socket:
    """A listening Unix socket at path (one left by a process that died is replaced)."""
    path.unlink(missing_ok=True)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(str(path))
    unix.listen(LISTEN_BACKLOG)
    return unix


def head_limited_protocol(max_head_bytes: int) -> type[HttpToolsProtocol]:
    """The httptools protocol with a limit on each request's head (request line and headers)."""

    class HeadLimitedProtocol(HttpToolsProtocol):
        _head_bytes = 0
        _head_lines = 0
        _line_bytes = 0  # of the line not yet ended
        _in_head = True

        def data_received(self, data: bytes) -> None:
            if self._in_head:
                self._head_bytes += len(data)
                if self._head_bytes > max_head_bytes or not self._lines_fit(data):
                    self._refuse_large_head()
                    return
            super().data_received(data)

        def _lines_fit(self, data: bytes) -> bool:
            """Whether every line so far, and their number, stay within the WebSocket layer's limits."""
            lines = data.split(b"\n")
            self._head_lines += len(lines) - 1
            longest = max(self._line_bytes + len(lines[0]), *(len(line) for line in lines[1:]), 0)
            self._line_bytes = len(lines[-1]) if len(lines) > 1 else self._line_bytes + len(lines[0])
            # + 1: the request line; + 1: the empty line that ends the head
            return longest <= MAX_LINE_LENGTH and self._head_lines <= MAX_NUM_HEADERS + 2

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_head, self._head_bytes, self._head_lines, self._line_bytes = True, 0, 0, 0

        def _refuse_large_head(self) -> None:
            body = (f"the request line and headers are limited to {max_head_bytes} bytes, "
                    f"{MAX_LINE_LENGTH} bytes a line and {MAX_NUM_HEADERS} headers").encode()
            self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                 b"content-type: text/plain; charset=utf-8\r\n"
                                 b"content-length: " + str(len(body)).encode() + b"\r\n"
                                 b"connection: close\r\n\r\n" + body)
            self.transport.close()
            self._in_head = False  # nothing more is read from this connection

    return HeadLimitedProtocol


def websocket_protocol(close_timeout_seconds: float) -> type[WebSocketsSansIOProtocol]:
    """uvicorn's WebSocket protocol: refusals count as answered, and a close not done in time aborts the transport."""

    class ClosingProtocol(WebSocketsSansIOProtocol):
        async def send(self, message: Any) -> None:  # an ASGI send event
            if message["type"] == "websocket.close" and not self.close_sent:
                # The close frame waits for room in the send buffer (uvicorn's send awaits `writable`), and
                # once written, closing the transport waits for the client to read it: neither ends by itself.
                self.loop.call_later(close_timeout_seconds, self._abort_unless_closed)
            await super().send(message)
            if message["type"] == "websocket.http.response.body" and not message.get("more_body", False):
                self.handshake_complete = True

        def _abort_unless_closed(self) -> None:
            if self.disconnected:
                return
            log.info("aborted a connection whose close did not complete", extra={"client": self.client})
            # A reset, not a FIN: closed with unsent data, the kernel would keep the socket and its send queue
            # for minutes, probing a client that never opens its window.
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()  # connection_lost follows: the ASGI app sees the disconnect

    return ClosingProtocol


class DrainingServer(uvicorn.Server):
    """uvicorn's server, draining the WebSocket sessions before its own shutdown."""

    def __init__(self, config: uvicorn.Config, sockets: OpenSockets, grace_seconds: float) -> None:
        super().__init__(config)
        self._open_sockets = sockets
        self._grace_seconds = grace_seconds

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # stop accepting: the load balancer sends new clients elsewhere
        for sock in sockets or []:
            sock.close()
        await self._open_sockets.drain(self._grace_seconds)
        await super().shutdown()
