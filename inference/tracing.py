"""The worker's spans of a session's segments: one per segment, from speech onset to its latency report.

Each has an event at the segment's first output (translated text or speech)
and, when it ends, the segment's latency figures as attributes.
"""

from __future__ import annotations

from opentelemetry import trace

from inference.engines.base import Side, SpeechStarted, TranscriptUpdate
from inference.latency import SegmentReport
from inference.stream import AudioOut, Output

tracer = trace.get_tracer("inference")


class SegmentSpans:
    """Follows one stream's outputs; opens, annotates and ends its segments' spans (children of the current span)."""

    def __init__(self) -> None:
        self._open: dict[int, tuple[trace.Span, bool]] = {}  # segment id -> (span, first output seen)

    def observe(self, output: Output) -> None:
        item = output.item
        if isinstance(item, SpeechStarted):
            self._open[item.segment_id] = (tracer.start_span("segment", attributes={
                "s2st.segment_id": item.segment_id, "s2st.speech_start_ms": item.at_ms}), False)
        elif isinstance(item, AudioOut | TranscriptUpdate) and item.segment_id in self._open:
            span, seen = self._open[item.segment_id]
            if not seen and (isinstance(item, AudioOut) or item.side is Side.TARGET):
                span.add_event("first output", {"s2st.input_offset_ms": output.input_offset_ms})
                self._open[item.segment_id] = (span, True)
        elif isinstance(item, SegmentReport) and item.segment_id in self._open:
            span, _ = self._open.pop(item.segment_id)
            span.set_attributes({name: value for name, value in (
                ("s2st.first_output_latency_ms", item.first_output_latency_ms),
                ("s2st.ending_offset_ms", item.ending_offset_ms),
                ("s2st.average_lagging_ms", item.average_lagging_ms),
                ("s2st.real_time_factor", item.real_time_factor),
                ("s2st.speech_end_ms", item.speech_end_ms)) if value is not None})
            span.end()

    def close(self) -> None:
        """End the spans of segments the stream left unfinished."""
        for span, _ in self._open.values():
            span.set_attribute("s2st.unfinished", True)
            span.end()
        self._open.clear()
