"""Prometheus metrics of the gateway (names documented in docs/metrics.md)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0)


@dataclass(frozen=True)
class GatewayMetrics:
    """Every metric the gateway exports."""

    connections_total: Counter
    active_connections: Gauge
    active_sessions: Gauge
    errors_total: Counter
    first_output_latency_seconds: Histogram
    ending_offset_seconds: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> GatewayMetrics:
        return cls(
            connections_total=Counter("s2st_gateway_connections", "WebSocket connections accepted",
                                      registry=registry),
            active_connections=Gauge("s2st_gateway_active_connections", "Open WebSocket connections",
                                     registry=registry),
            active_sessions=Gauge("s2st_gateway_active_sessions", "Sessions relayed to a worker now",
                                  registry=registry),
            errors_total=Counter("s2st_gateway_errors", "Error events sent to clients, by code", ["code"],
                                 registry=registry),
            first_output_latency_seconds=Histogram(
                "s2st_gateway_first_output_latency_seconds",
                "Speech onset to first translated audio per segment, as the worker reported it",
                buckets=LATENCY_BUCKETS_S, registry=registry,
            ),
            ending_offset_seconds=Histogram(
                "s2st_gateway_ending_offset_seconds",
                "End of input speech to end of translated speech per segment, as the worker reported it",
                buckets=LATENCY_BUCKETS_S, registry=registry,
            ),
        )

    def observe_stats(self, event: dict) -> None:
        """Record a `stats` event on its way to the client."""
        for histogram, key in ((self.first_output_latency_seconds, "first_output_latency_ms"),
                               (self.ending_offset_seconds, "ending_offset_ms")):
            if event.get(key) is not None:
                histogram.observe(event[key] / 1000)
