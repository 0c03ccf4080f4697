"""When each word of the translation was emitted, from the timed transcript events of a stream.

A worker sends partial hypotheses that may still change and a final text per segment. A word counts as
emitted at the input offset of the earliest event from which on every later hypothesis of its segment
(final included) starts with the same words up to and including it: the moment it was committed, as
SimulEval's agents commit words. Segments follow each other in segment-id order; their final texts,
joined, are the hypothesis that is scored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class TimedText:
    """One transcript event: its segment, whether final, its text and the input consumed when it came."""

    segment_id: int
    is_final: bool
    text: str
    input_offset_ms: float


def final_text(events: list[TimedText]) -> str:
    """The segments' final texts joined in segment order (the last partial where no final came)."""
    return " ".join(words for _, words, _ in _segments(events) if words).strip()


def word_delays(events: list[TimedText]) -> list[float]:
    """The input offset (ms) at which each word of final_text(events) was committed."""
    delays: list[float] = []
    for _, _, segment_delays in _segments(events):
        delays.extend(segment_delays)
    # Segments are ordered by id; a later segment's words cannot have come before an earlier one's.
    for index in range(1, len(delays)):
        delays[index] = max(delays[index], delays[index - 1])
    return delays


def _segments(events: list[TimedText]) -> list[tuple[int, str, list[float]]]:
    by_segment: dict[int, list[TimedText]] = defaultdict(list)
    for event in events:
        by_segment[event.segment_id].append(event)
    result = []
    for segment_id in sorted(by_segment):
        history = by_segment[segment_id]
        last = next((i for i, e in enumerate(history) if e.is_final), len(history) - 1)
        history = history[: last + 1]
        words = history[-1].text.split()
        delays = []
        for position in range(len(words)):
            prefix = words[: position + 1]
            committed = len(history) - 1
            while committed > 0 and history[committed - 1].text.split()[: position + 1] == prefix:
                committed -= 1
            delays.append(history[committed].input_offset_ms)
        result.append((segment_id, " ".join(words), delays))
    return result
