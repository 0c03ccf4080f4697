"""The gateway's open WebSockets, so that a shutdown can drain them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

log = logging.getLogger("gateway.sockets")

POLL_SECONDS = 0.1
CLOSE_WAIT_SECONDS = 3.0  # after the grace: for the sockets to send their last event and close


class Drainable(Protocol):
    @property
    def has_session(self) -> bool: ...

    def shut_down(self) -> None: ...


class OpenSockets:
    """Every socket's relay while it is open; ``draining`` once the server is going away."""

    def __init__(self) -> None:
        self._relays: set[Drainable] = set()
        self.draining = False
        # What must end before the sockets are shut: the rooms, so that their members hear `room_ended`.
        self.before_shut_down: Callable[[], Awaitable[None]] | None = None

    @contextmanager
    def hold(self, relay: Drainable) -> Iterator[None]:
        self._relays.add(relay)
        try:
            yield
        finally:
            self._relays.discard(relay)

    async def drain(self, grace_seconds: float) -> None:
        """Refuse new sessions, wait up to grace_seconds for live ones to end, then shut every socket."""
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_seconds
        live = [relay for relay in self._relays if relay.has_session]
        log.info("draining", extra={"sockets": len(self._relays), "live_sessions": len(live)})
        while any(relay.has_session for relay in self._relays) and loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
        if self.before_shut_down is not None:
            await self.before_shut_down()
        for relay in list(self._relays):
            relay.shut_down()
        deadline = loop.time() + CLOSE_WAIT_SECONDS
        while self._relays and loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
