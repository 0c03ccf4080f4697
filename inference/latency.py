"""Per-segment latency figures of the streaming-translation literature, measured live.

Times are the worker's monotonic clock; input positions are milliseconds of
input audio. ``InputClock`` remembers when each stretch of input arrived, so a
figure counts the compute time too ("computation-aware" in SimulEval's terms).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

MAX_CLOCK_ENTRIES = 20_000
"""Arrival records kept per stream (over 6 minutes of 20 ms chunks); older ones are forgotten."""


class InputClock:
    """Arrival time of input audio by input offset."""

    def __init__(self) -> None:
        self._ends_ms: list[float] = []
        self._arrivals: list[float] = []

    def record(self, end_ms: float, arrived_at: float) -> None:
        """Input up to ``end_ms`` had arrived by ``arrived_at``."""
        if len(self._ends_ms) >= 2 * MAX_CLOCK_ENTRIES:
            del self._ends_ms[:MAX_CLOCK_ENTRIES], self._arrivals[:MAX_CLOCK_ENTRIES]
        self._ends_ms.append(end_ms)
        self._arrivals.append(arrived_at)

    def arrival_of(self, offset_ms: float) -> float | None:
        """When the input at ``offset_ms`` arrived (None before any input)."""
        if not self._ends_ms:
            return None
        index = bisect.bisect_left(self._ends_ms, offset_ms)
        return self._arrivals[min(index, len(self._arrivals) - 1)]


@dataclass(frozen=True)
class SegmentReport:
    """Latency figures of one finished segment (ms; None when not computable)."""

    segment_id: int
    speech_start_ms: int
    speech_end_ms: int
    first_output_latency_ms: float | None
    ending_offset_ms: float | None
    average_lagging_ms: float | None
    real_time_factor: float


@dataclass
class SegmentTracker:
    """Collects the timeline of one segment until it can be reported."""

    segment_id: int
    speech_start_ms: int
    speech_end_ms: int | None = None
    first_audio_at: float | None = None
    playout_end_at: float | None = None
    word_delays_ms: list[float] = field(default_factory=list)
    compute_seconds: float = 0.0
    audio_done: bool = False
    text_done: bool = False

    def on_audio(self, now: float, duration_s: float) -> None:
        """Translated speech left the worker at ``now``; it plays right after what came before."""
        if duration_s <= 0:
            return
        if self.first_audio_at is None:
            self.first_audio_at = now
        start = now if self.playout_end_at is None else max(now, self.playout_end_at)
        self.playout_end_at = start + duration_s

    def on_target_text(self, text: str, input_offset_ms: float) -> None:
        """Words of the translation first seen when ``input_offset_ms`` of input was consumed."""
        words = len(text.split())
        delay = max(0.0, input_offset_ms - self.speech_start_ms)
        self.word_delays_ms.extend([delay] * (words - len(self.word_delays_ms)))

    def report(self, clock: InputClock) -> SegmentReport:
        end_ms = self.speech_end_ms if self.speech_end_ms is not None else self.speech_start_ms
        speech_s = max(end_ms - self.speech_start_ms, 1) / 1000
        return SegmentReport(
            segment_id=self.segment_id,
            speech_start_ms=self.speech_start_ms,
            speech_end_ms=end_ms,
            first_output_latency_ms=_elapsed_ms(clock.arrival_of(self.speech_start_ms), self.first_audio_at),
            ending_offset_ms=_elapsed_ms(clock.arrival_of(end_ms), self.playout_end_at),
            average_lagging_ms=average_lagging(self.word_delays_ms, end_ms - self.speech_start_ms),
            real_time_factor=self.compute_seconds / speech_s,
        )


def _elapsed_ms(since: float | None, until: float | None) -> float | None:
    if since is None or until is None:
        return None
    return max(0.0, (until - since) * 1000)


def average_lagging(delays_ms: list[float], source_ms: float) -> float | None:
    """Average lagging (Ma et al., 2019, as SimulEval computes it) of word delays against a source length."""
    if not delays_ms or source_ms <= 0:
        return None
    rate = source_ms / len(delays_ms)
    tau = next((i + 1 for i, delay in enumerate(delays_ms) if delay >= source_ms), len(delays_ms))
    return sum(delays_ms[i] - i * rate for i in range(tau)) / tau
