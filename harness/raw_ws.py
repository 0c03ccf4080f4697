"""A WebSocket client on a raw socket, for clients the websockets library will not imitate."""

from __future__ import annotations

import base64
import os
import socket
import struct

import numpy as np


class NonReadingClient:
    """A WebSocket client that writes and never reads, on a raw socket with a tiny receive buffer."""

    def __init__(self, port: int, path: str = "/ws", headers: dict[str, str] | None = None) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n")
                          .encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(1)
        assert b" 101 " in response.split(b"\r\n")[0]

    def send(self, payload: bytes, opcode: int) -> None:
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if len(payload) < 4096 else \
            (np.frombuffer(payload, np.uint8) ^ np.resize(np.frombuffer(mask, np.uint8), len(payload))).tobytes()
        self.sock.sendall(header + mask + masked)

    def close_code(self) -> int | None:
        """Read, at last, everything the server sent up to its close frame: that frame's code, or None when the
        connection ended without one (the server dropped it, reset it, or sent nothing for the socket's timeout)."""
        try:
            while True:
                first, second = self._read(2)
                length = second & 0x7F
                if length == 126:
                    length = struct.unpack(">H", self._read(2))[0]
                elif length == 127:
                    length = struct.unpack(">Q", self._read(8))[0]
                payload = self._read(length)  # a server's frames are never masked
                if first & 0x0F == 0x8:
                    return struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
        except (OSError, EOFError):
            return None

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(min(size - len(data), 1 << 20))
            if not chunk:
                raise EOFError("the server closed the connection")
            data += chunk
        return data
