"""Per-client limits of the gateway: sockets and sessions per IP; audio frames and stream openings per socket."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Literal, Protocol

LimitKind = Literal["connections", "sessions"]  # S2ST_MAX_CONNECTIONS_PER_IP, S2ST_MAX_SESSIONS_PER_IP


class PerClientLimiter:
    """Counts what each client IP holds (sockets, sessions) and refuses one over the limit (0: no limit)."""

    def __init__(self, max_per_ip: int) -> None:
        self._max_per_ip = max_per_ip
        self._open: Counter[str] = Counter()

    def try_hold(self, ip: str) -> bool:
        """Take one of ip's slots; False (nothing taken) when it holds its maximum already."""
        if self._max_per_ip and self._open[ip] >= self._max_per_ip:
            return False
        self._open[ip] += 1
        return True

    def release(self, ip: str, count: int = 1) -> None:
        self._open[ip] -= count
        if self._open[ip] <= 0:
            del self._open[ip]


def per_ip_limiters(max_connections_per_ip: int, max_sessions_per_ip: int) -> dict[LimitKind, PerClientLimiter]:
    """A counter for each kind of per-IP limit."""
    return {"connections": PerClientLimiter(max_connections_per_ip), "sessions": PerClientLimiter(max_sessions_per_ip)}


class ClientLimits(Protocol):
    """Where a gateway process takes per-IP slots: its own counters, or the supervisor's (gateway/serving/processes.py)."""

    def hold(self, kind: LimitKind, ip: str) -> AbstractAsyncContextManager[bool]:
        """Yields False when ip already holds its maximum of `kind`; a slot taken is freed when the block ends."""
        ...


class LocalClientLimits:
    """Per-IP limits of a gateway that runs as one process."""

    def __init__(self, max_connections_per_ip: int, max_sessions_per_ip: int) -> None:
        self.limiters = per_ip_limiters(max_connections_per_ip, max_sessions_per_ip)

    @asynccontextmanager
    async def hold(self, kind: LimitKind, ip: str) -> AsyncIterator[bool]:
        limiter = self.limiters[kind]
        admitted = limiter.try_hold(ip)
        try:
            yield admitted
        finally:
            if admitted:
                limiter.release(ip)


class TokenBucket:
    """`rate` a second on average, up to `capacity` at once (rate 0: no limit).

    A socket has one for its audio frames, whose capacity lets a client catch up
    after a network stall (its queued speech arrives at once) instead of losing
    real speech, and one for the frames that open worker streams.
    """

    def __init__(self, rate: float, capacity: float) -> None:
        self._rate = rate
        self._capacity = max(1.0, capacity)
        self._tokens = self._capacity
        self._last = time.monotonic()

    def allow(self) -> bool:
        if self._rate <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
