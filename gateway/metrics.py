"""Prometheus metrics of the gateway (names documented in docs/metrics.md)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge


@dataclass(frozen=True)
class GatewayMetrics:
    """Every metric the gateway exports. Latency figures are the worker's (s2st_worker_*): the gateway
    relays its `stats` events without recording them a second time."""

    connections_total: Counter
    active_connections: Gauge
    active_sessions: Gauge
    errors_total: Counter
    active_rooms: Gauge
    room_listeners: Gauge
    room_streams: Gauge
    room_sockets_relayed: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> GatewayMetrics:
        return cls(
            connections_total=Counter("s2st_gateway_connections", "WebSocket connections accepted",
                                      registry=registry),
            # livesum: with several serving processes, /metrics adds up those alive (gateway/serving/processes.py).
            active_connections=Gauge("s2st_gateway_active_connections", "Open WebSocket connections",
                                     registry=registry, multiprocess_mode="livesum"),
            active_sessions=Gauge("s2st_gateway_active_sessions", "Sessions relayed to a worker now",
                                  registry=registry, multiprocess_mode="livesum"),
            errors_total=Counter("s2st_gateway_errors", "Error events sent to clients, by code", ["code"],
                                 registry=registry),
            active_rooms=Gauge("s2st_gateway_active_rooms", "Rooms held now", registry=registry,
                               multiprocess_mode="livesum"),
            room_listeners=Gauge("s2st_gateway_room_listeners", "Listeners in rooms now", registry=registry,
                                 multiprocess_mode="livesum"),
            room_streams=Gauge("s2st_gateway_room_streams", "Worker streams of rooms now (one per language listened to)",
                               registry=registry, multiprocess_mode="livesum"),
            room_sockets_relayed=Counter("s2st_gateway_room_sockets_relayed",
                                         "Room sockets carried to the serving process that holds their room",
                                         registry=registry),
        )

