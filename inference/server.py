"""Builds and runs the worker: gRPC server, health, reflection, metrics, model load, graceful drain."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import grpc
from opentelemetry import trace
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from inference.config import WorkerConfig
from inference.engines import create_engine
from inference.engines.base import Engine
from inference.metrics import WorkerMetrics
from inference.security import BearerTokenInterceptor, server_credentials
from inference.servicer import TranslatorServicer
from inference.admission import Admission, WorkerState
from inference.stream import StreamLimits
from s2st.v1 import translation_pb2, translation_pb2_grpc
from s2st.v1.limits import MAX_REQUEST_MESSAGE_BYTES

log = logging.getLogger("inference.server")
tracer = trace.get_tracer("inference")

SERVICE_NAME = translation_pb2.DESCRIPTOR.services_by_name["Translator"].full_name
# A request holds at most one audio chunk plus framing; refuse anything much larger at the transport.
DRAIN_POLL_SECONDS = 0.1
# Once every stream ended (or the grace period ran out): time for the last responses to flush.
DRAIN_FINAL_GRACE_SECONDS = 1.0


def connection_age_options(max_age_seconds: float) -> list[tuple[str, int]]:
    """GOAWAY to connections older than max_age_seconds: a client resolves its `dns:///` target again only
    when a connection ends, so without this, gateways never send sessions to workers added after they
    connected. The grace stays gRPC's default (unbounded): a live stream runs to its own end."""
    return [("grpc.max_connection_age_ms", round(max_age_seconds * 1000))] if max_age_seconds > 0 else []


class Worker:
    """One worker process: serves the engine once it has loaded, drains on request."""

    def __init__(self, config: WorkerConfig, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self.admission = Admission(config.max_sessions, config.max_pending_streams, config.step_budget_ms / 1000)
        self.metrics = WorkerMetrics.create()
        self.health = health_aio.HealthServicer()
        interceptors = [BearerTokenInterceptor(config.grpc_tokens)] if config.grpc_tokens else []
        self.server = grpc.aio.server(interceptors=interceptors, options=[
            ("grpc.max_receive_message_length", MAX_REQUEST_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
            # Keepalive pings as the contract allows them (s2st.v1.limits): by default gRPC answers the third
            # ping that follows another within 5 minutes with nothing sent meanwhile with GOAWAY "too many
            # pings", ending every stream on the connection; gateways watch each worker's health on a stream
            # that is mostly silent, and ping every 20 s. Only gateways reach a worker's port.
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_ping_strikes", 0),  # 0: pings are never held against the client
            *connection_age_options(config.max_connection_age_seconds),
        ])
        translation_pb2_grpc.add_TranslatorServicer_to_server(
            TranslatorServicer(engine, self.admission, self.metrics, StreamLimits(
                max_session_seconds=config.max_session_seconds,
                input_queue_chunks=config.input_queue_chunks,
                config_timeout_seconds=config.config_timeout_seconds,
                idle_session_seconds=config.idle_session_seconds,
                client_stall_seconds=config.client_stall_seconds,
                ending_grace_seconds=config.ending_grace_seconds,
                audio_burst_seconds=config.audio_burst_seconds,
            )),
            self.server,
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            self.server,
        )
        self.address = f"{config.grpc_host}:{config.grpc_port}"
        credentials = server_credentials(config.tls_cert_path, config.tls_key_path, config.tls_client_ca_path)
        if config.grpc_tokens and credentials is None:
            log.warning("S2ST_GRPC_TOKENS is set without TLS: tokens travel in clear text")
        bound = (self.server.add_insecure_port(self.address) if credentials is None
                 else self.server.add_secure_port(self.address, credentials))
        if bound == 0:
            raise OSError(f"cannot bind gRPC address {self.address}")

    async def start(self) -> None:
        """Listen at once (health answers NOT_SERVING), then load the model and turn SERVING."""
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()
        log.info("listening", extra={"address": self.address, "engine": self.engine.name})
        try:
            with tracer.start_as_current_span("model.load", attributes={"s2st.engine": self.engine.name}):
                await asyncio.to_thread(self.engine.load)
        except Exception:
            self.admission.state = WorkerState.FAILED
            raise
        self.admission.state = WorkerState.SERVING
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", extra={"engine": self.engine.name, "model": self.engine.model_id})

    async def drain(self) -> None:
        """Refuse new streams and let live ones finish within the grace period.

        The port stays open meanwhile, so health checks see NOT_SERVING and new
        streams get UNAVAILABLE with a reason instead of a refused connection.
        """
        self.admission.state = WorkerState.DRAINING
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        log.info("draining", extra={"active_sessions": self.admission.active_count,
                                    "grace_seconds": self.config.shutdown_grace_seconds})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.shutdown_grace_seconds
        while self.admission.active_count and loop.time() < deadline:
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        await self.server.stop(DRAIN_FINAL_GRACE_SECONDS)
        await self.engine.aclose()
        log.info("stopped")

    async def _set_health(self, status: health_pb2.HealthCheckResponse.ServingStatus) -> None:
        for service in ("", SERVICE_NAME):
            await self.health.set(service, status)


async def serve(config: WorkerConfig) -> None:
    """Run a worker until SIGTERM or SIGINT, then drain it."""
    engine = create_engine(config.engine, os.environ)
    worker = Worker(config, engine)
    if config.metrics_port:
        start_http_server(config.metrics_port, addr=config.grpc_host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await worker.start()
    except Exception:
        log.exception("model load failed", extra={"engine": engine.name})
        await worker.server.stop(0)
        raise SystemExit(1) from None
    await stop.wait()
    await worker.drain()
