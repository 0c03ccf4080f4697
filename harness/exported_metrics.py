"""The Prometheus series the services export, by name: what dashboards, alerts and autoscalers may query."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from gateway.metrics import GatewayMetrics
from inference.metrics import WorkerMetrics

_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported_metric_names() -> set[str]:
    """Every series name of both services, plus the process metrics prometheus_client adds."""
    registry = CollectorRegistry()
    GatewayMetrics.create(registry)
    WorkerMetrics.create(registry)
    names = {family.name + suffix for family in registry.collect() for suffix in _SUFFIXES[family.type]}
    return names | {"process_resident_memory_bytes"}


def gateway_gauges() -> set[str]:
    """The gateway's gauges: levels (live sessions...) an autoscaler can average per pod."""
    registry = CollectorRegistry()
    GatewayMetrics.create(registry)
    return {family.name for family in registry.collect() if family.type == "gauge"}
