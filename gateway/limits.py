"""Per-client limits of the gateway: sockets and sessions per IP, audio frames per second per socket."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class PerClientLimiter:
    """Counts what each client IP holds (sockets, sessions) and refuses one over the limit (0: no limit)."""

    def __init__(self, max_per_ip: int) -> None:
        self._max_per_ip = max_per_ip
        self._open: Counter[str] = Counter()

    @contextmanager
    def hold(self, ip: str) -> Iterator[bool]:
        """Yields False when ip already holds its maximum; the slot is freed when the block ends."""
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


class AudioRateLimiter:
    """A token bucket for audio frames: `rate` a second on average, and a burst of `burst_seconds` worth.

    The burst lets a client catch up after a network stall (its queued speech
    arrives at once) instead of losing real speech; control frames never pass
    through it.
    """

    def __init__(self, rate: float, burst_seconds: float) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate * burst_seconds)
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
