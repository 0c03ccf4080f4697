"""OpenTelemetry: one session is one trace across the gateway and worker processes, and their logs carry its ids.

Both processes export over OTLP/gRPC to a collector this test runs on loopback, which keeps the spans in memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from harness.polling import until
from harness.servers import REPO_ROOT, Gateway, Worker, free_port, running, start_gateway, start_worker
from harness.speech import SENTENCES, speak
from harness.wsclient import finals, stream_file

from s2st.runtime.tracing import TRANSLATE_SPAN


class InMemoryCollector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP trace receiver that keeps every span it is sent, with its service's name."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, object]] = []

    async def Export(self, request, context):  # noqa: N802 (the OTLP service's name)
        for resource_spans in request.resource_spans:
            service = next(a.value.string_value for a in resource_spans.resource.attributes
                           if a.key == "service.name")
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend((service, span) for span in scope_spans.spans)
        return trace_service_pb2.ExportTraceServiceResponse()

    def named(self, name: str, service: str | None = None) -> list:
        return [span for svc, span in self.spans if span.name == name and service in (None, svc)]


@pytest.fixture
async def collector() -> AsyncIterator[tuple[InMemoryCollector, int]]:
    receiver, server = InMemoryCollector(), grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield receiver, port
    await server.stop(0)


def tracing_env(port: int) -> dict[str, str]:
    return {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_INSECURE": "true", "OTEL_BSP_SCHEDULE_DELAY": "100"}


def session_log_lines(server: Worker | Gateway, trace_id: str) -> list[dict]:
    records = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    return [r for r in records if r.get("trace_id") == trace_id]


async def test_one_session_is_one_trace_across_gateway_and_worker(collector, server_logs, tmp_path):
    receiver, port = collector
    with running(start_worker("lite", tracing_env(port), log_dir=server_logs)) as worker, \
            running(start_gateway(worker.address, tracing_env(port), log_dir=server_logs)) as gateway:
        voice, text = SENTENCES["spa"]
        client = await stream_file(gateway.ws_url, speak(text, voice, tmp_path / "spa.wav"), source_language="spa")
        assert finals(client, "target")
        await until(lambda: receiver.named("WebSocket /ws") and receiver.named(TRANSLATE_SPAN, "s2st-inference")
                    and receiver.named("segment"), timeout=15, what="the spans did not arrive in time")

        (socket_span,) = receiver.named("WebSocket /ws", "s2st-gateway")
        (client_span,) = receiver.named(TRANSLATE_SPAN, "s2st-gateway")
        (server_span,) = receiver.named(TRANSLATE_SPAN, "s2st-inference")
        segments = receiver.named("segment", "s2st-inference")
        trace_id = socket_span.trace_id
        assert not socket_span.parent_span_id  # the trace starts at the browser's socket
        assert client_span.parent_span_id == socket_span.span_id
        assert server_span.parent_span_id == client_span.span_id  # carried across processes in gRPC metadata
        assert segments and all(s.parent_span_id == server_span.span_id for s in segments)
        assert {s.trace_id for s in (socket_span, client_span, server_span, *segments)} == {trace_id}
        assert any(event.name == "first output" for event in segments[0].events)
        attributes = {a.key for a in segments[0].attributes}
        assert {"s2st.first_output_latency_ms", "s2st.ending_offset_ms"} <= attributes
        (load,) = receiver.named("model.load", "s2st-inference")
        assert load.trace_id != trace_id  # the model loads once per worker, not per session

        hex_id = trace_id.hex()
        worker_lines = {r["msg"] for r in session_log_lines(worker, hex_id)}
        assert {"session started", "session ended"} <= worker_lines


def test_an_unsupported_exporter_stops_the_service_with_a_reason():
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "zipkin", "S2ST_GATEWAY_PORT": str(free_port()),
           "S2ST_GATEWAY_METRICS_PORT": "0"}
    result = subprocess.run([sys.executable, "-m", "gateway"], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "OTEL_TRACES_EXPORTER='zipkin'" in result.stderr, result.stderr[-2000:]


async def test_without_otel_settings_nothing_is_exported_and_logs_carry_no_trace_ids(echo_gateway, echo_worker):
    from harness.wsclient import ProtocolClient, connect

    async with connect(echo_gateway.ws_url) as ws:
        assert (await ProtocolClient(ws).start())["type"] == "ready"
    records = [json.loads(line) for line in echo_worker.log().splitlines() if line.startswith("{")]
    assert records and not any("trace_id" in r for r in records)
