"""Audio pacing: a stream's audio reaches the engine no faster than it was spoken, beyond a bounded burst.

Streams share the engine (one inference thread per model): a client that sends
speech faster than real time would otherwise queue more engine work than a live
speaker can and delay everyone else's output. Audio beyond the burst waits in the
stream's input queue, and gRPC flow control passes the wait back to the client.
"""

from __future__ import annotations


class AudioPacer:
    """A token bucket of audio time: it refills at one second a second, up to burst_seconds (0: no pacing)."""

    def __init__(self, burst_seconds: float, bytes_per_second: int) -> None:
        self._burst = burst_seconds
        self._bytes_per_second = bytes_per_second
        self._credit = burst_seconds  # seconds of audio that may go to the engine now
        self._last: float | None = None

    def delay(self, n_bytes: int, now: float) -> float:
        """Seconds to wait (from `now`, the event loop's clock) before n_bytes more audio go to the engine."""
        if self._burst <= 0:
            return 0.0
        if self._last is not None:
            self._credit = min(self._burst, self._credit + now - self._last)
        self._last = now
        self._credit -= n_bytes / self._bytes_per_second
        return max(0.0, -self._credit)
