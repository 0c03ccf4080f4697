"""OpenTelemetry traces of both services: off unless OTEL_TRACES_EXPORTER names an exporter.

The standard variables configure it: OTEL_TRACES_EXPORTER (`otlp`: OTLP over
gRPC to OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, with
the rest of the OTEL_EXPORTER_OTLP_* settings: OTEL_EXPORTER_OTLP_INSECURE for a
plaintext collector, OTEL_EXPORTER_OTLP_HEADERS, ...; `console`; `none`, the default),
OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_*,
OTEL_PROPAGATORS (default W3C trace context), OTEL_SDK_DISABLED. Off, every span
is the API's no-op one. A session's context crosses from gateway to worker in
the gRPC call's metadata (`traceparent`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from opentelemetry import context, propagate, trace

from s2st.v1 import translation_pb2 as pb

SUPPORTED_EXPORTERS = ("otlp", "console", "none")
# The span of a Translate call on both ends (gRPC's own naming: package.Service/Method).
TRANSLATE_SPAN = f"{pb.DESCRIPTOR.services_by_name['Translator'].full_name}/Translate"


def configure_tracing(service_name: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Install a tracer provider when the environment asks for traces; True when it did."""
    exporter_name = environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if exporter_name in ("", "none") or environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"))
    if exporter_name not in SUPPORTED_EXPORTERS or (exporter_name == "otlp" and protocol != "grpc"):
        raise ValueError(f"OTEL_TRACES_EXPORTER={exporter_name!r} (protocol {protocol!r}): this build exports "
                         f"{', '.join(SUPPORTED_EXPORTERS)}, OTLP over grpc only")
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    if exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        exporter = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter()
    # OTEL_SERVICE_NAME, when set, wins over the service's own name.
    resource = Resource.create({} if environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name})
    provider = TracerProvider(resource=resource)  # flushes its spans at exit
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return True


def trace_metadata() -> list[tuple[str, str]]:
    """The current trace context as gRPC metadata (empty when there is none)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return list(carrier.items())


def context_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> context.Context:
    """The trace context a caller sent in gRPC metadata (the current one when it sent none)."""
    return propagate.extract({key: value for key, value in metadata or () if isinstance(value, str)})
