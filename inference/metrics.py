"""Prometheus metrics of the worker (names documented in docs/metrics.md)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from inference.latency import SegmentReport

LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0)
STEP_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
RTF_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)


@dataclass(frozen=True)
class WorkerMetrics:
    """Every metric the worker exports."""

    active_sessions: Gauge
    pending_streams: Gauge
    sessions_total: Counter
    errors_total: Counter
    audio_in_seconds: Counter
    audio_out_seconds: Counter
    engine_step_seconds: Histogram
    first_output_latency_seconds: Histogram
    ending_offset_seconds: Histogram
    average_lagging_seconds: Histogram
    real_time_factor: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> WorkerMetrics:
        return cls(
            active_sessions=Gauge("s2st_worker_active_sessions", "Streams being served", registry=registry),
            pending_streams=Gauge("s2st_worker_pending_streams", "Streams open that have not sent their config yet",
                                  registry=registry),
            sessions_total=Counter(
                "s2st_worker_sessions", "Streams ended, by engine and outcome (ok or a status code)",
                ["engine", "outcome"], registry=registry,
            ),
            errors_total=Counter("s2st_worker_errors", "Streams ended with an error, by gRPC status code",
                                 ["code"], registry=registry),
            audio_in_seconds=Counter("s2st_worker_audio_in_seconds", "Seconds of input audio received",
                                     registry=registry),
            audio_out_seconds=Counter("s2st_worker_audio_out_seconds", "Seconds of translated speech sent",
                                      registry=registry),
            engine_step_seconds=Histogram("s2st_worker_engine_step_seconds", "Time of one engine call",
                                          buckets=STEP_BUCKETS_S, registry=registry),
            first_output_latency_seconds=Histogram(
                "s2st_worker_first_output_latency_seconds", "Speech onset to first translated audio, per segment",
                buckets=LATENCY_BUCKETS_S, registry=registry,
            ),
            ending_offset_seconds=Histogram(
                "s2st_worker_ending_offset_seconds", "End of input speech to end of translated speech, per segment",
                buckets=LATENCY_BUCKETS_S, registry=registry,
            ),
            average_lagging_seconds=Histogram(
                "s2st_worker_average_lagging_seconds", "Average lagging of the target text, per segment",
                buckets=LATENCY_BUCKETS_S, registry=registry,
            ),
            real_time_factor=Histogram("s2st_worker_real_time_factor", "Engine compute time per second of speech",
                                       buckets=RTF_BUCKETS, registry=registry),
        )

    def observe_segment(self, report: SegmentReport) -> None:
        """Record the latency figures of a finished segment."""
        for histogram, value_ms in (
            (self.first_output_latency_seconds, report.first_output_latency_ms),
            (self.ending_offset_seconds, report.ending_offset_ms),
            (self.average_lagging_seconds, report.average_lagging_ms),
        ):
            if value_ms is not None:
                histogram.observe(value_ms / 1000)
        self.real_time_factor.observe(report.real_time_factor)
