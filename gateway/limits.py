"""Per-client limits of the gateway: connections per IP and frames per second per socket."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class ConnectionLimiter:
    """Counts open sockets per client IP and refuses one over the limit (0 means no limit)."""

    def __init__(self, max_per_ip: int) -> None:
        self._max_per_ip = max_per_ip
        self._open: Counter[str] = Counter()

    @contextmanager
    def hold(self, ip: str) -> Iterator[bool]:
        """Yields False when ip already has its maximum of sockets; the slot is freed when the block ends."""
        if self._max_per_ip and self._open[ip] >= self._max_per_ip:
            yield False
            return
        self._open[ip] += 1
        try:
            yield True
        finally:
            self._open[ip] -= 1
            if not self._open[ip]:
                del self._open[ip]


class FrameRateLimiter:
    """A token bucket: `rate` frames per second on average, bursts of up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._tokens = rate
        self._last = time.monotonic()

    def allow(self) -> bool:
        if self._rate <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
