"""A TCP proxy in front of a worker that can hold back the worker's replies: a worker slow to answer, on demand."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


class HeldReplies:
    """Relays every connection to `target`; while `held()`, what the worker sends waits in the proxy."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self._passing = threading.Event()
        self._passing.set()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = [self._server]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.getsockname()[1]}"

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._passing.clear()
        try:
            yield
        finally:
            self._passing.set()

    def close(self) -> None:
        self._passing.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # the server socket was closed
            while True:
                client = self._server.accept()[0]
                worker = socket.create_connection(self._target)
                self._sockets += [client, worker]
                threading.Thread(target=self._pump, args=(client, worker, False), daemon=True).start()
                threading.Thread(target=self._pump, args=(worker, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, holdable: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if holdable:
                    self._passing.wait()
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
