"""The gateway's gRPC client of the inference workers: sessions, languages, readiness."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.identity.grant import Grant
from gateway.config import GatewayConfig
from gateway.protocol import ProtocolError, Start, error_event, server_frame, status_error_event
from gateway.worker.status import keep_stated_status, keep_worker_status, worker_error
from s2st.runtime.tracing import trace_metadata
from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Translator"].full_name


def channel_target(target: str) -> str:
    """A comma list of ip:port becomes grpc's static ipv4 list; anything else passes as it is."""
    if "," in target and ":///" not in target and not target.startswith(("ipv4:", "ipv6:")):
        return "ipv4:" + target
    return target


# Round-robin over the workers that answer grpc.health SERVING for the Translator: gRPC watches each
# worker's health (client-side health checking), so one that is loading or draining gets no new sessions.
_SERVICE_CONFIG = json.dumps({
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": SERVICE_NAME},
})

KEEPALIVE_PING_MS = 20_000  # a dead worker is noticed within this plus the timeout; workers allow it (s2st.v1.limits)

_CHANNEL_OPTIONS = [
    ("grpc.service_config", _SERVICE_CONFIG),
    ("grpc.keepalive_time_ms", KEEPALIVE_PING_MS),
    ("grpc.keepalive_timeout_ms", 10_000),
    # Reconnect quickly after a worker restart instead of backing off for minutes.
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


def open_channel(config: GatewayConfig) -> grpc.aio.Channel:
    """A channel to the workers: plaintext, or TLS when a CA is given, with an optional bearer token
    and an optional client certificate (mutual TLS)."""
    target = channel_target(config.worker_target)
    if not config.worker_tls_ca:
        if config.worker_token or config.worker_tls_cert:
            raise ValueError("S2ST_WORKER_TOKEN and S2ST_WORKER_TLS_CERT need TLS (S2ST_WORKER_TLS_CA)")
        return grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)
    if bool(config.worker_tls_cert) != bool(config.worker_tls_key):
        raise ValueError("S2ST_WORKER_TLS_CERT and S2ST_WORKER_TLS_KEY must be set together")
    client_key = Path(config.worker_tls_key).read_bytes() if config.worker_tls_key else None
    client_cert = Path(config.worker_tls_cert).read_bytes() if config.worker_tls_cert else None
    credentials = grpc.ssl_channel_credentials(Path(config.worker_tls_ca).read_bytes(), client_key, client_cert)
    if config.worker_token:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(config.worker_token))
    options = list(_CHANNEL_OPTIONS)
    if config.worker_tls_server_name:
        options.append(("grpc.ssl_target_name_override", config.worker_tls_server_name))
    return grpc.aio.secure_channel(target, credentials, options=options)


class SessionRefused(Exception):
    """No session: no worker accepted or answered in time, or the grant does not allow the engine that did.

    ``event`` is the fatal error event the client gets.
    """

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__(event["message"])
        self.event = event


class WorkerClient:
    """One channel to the worker pool, balanced round-robin over every address the target resolves to."""

    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float, start_attempts: int) -> None:
        self._timeout = timeout_seconds
        self._start_attempts = start_attempts
        self._channel = channel
        self._translator = pb_grpc.TranslatorStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    async def open_session(self, start: Start, max_seconds: float | None = None,
                           ) -> tuple[grpc.aio.StreamStreamCall, pb.TranslateResponse]:
        """Start a Translate stream (ending with DEADLINE_EXCEEDED after max_seconds) and wait for its acceptance.

        A full worker (RESOURCE_EXHAUSTED) is skipped: round-robin sends the next
        attempt to the next worker. The whole start, every attempt and the
        config's write included, has one deadline (S2ST_WORKER_TIMEOUT_SECONDS).
        Raises grpc.aio.AioRpcError when no worker accepts, or TimeoutError when
        none answers in time.
        """
        async with asyncio.timeout(self._timeout):
            for attempt in range(1, self._start_attempts + 1):
                call = self._translator.Translate(timeout=max_seconds, metadata=trace_metadata())
                keep_worker_status(call)
                try:
                    await call.write(start.to_request())
                    first = await call.read()
                except grpc.aio.AioRpcError as failure:
                    error = await worker_error(call, failure)
                    if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and attempt < self._start_attempts:
                        continue
                    raise error from None
                except BaseException:
                    call.cancel()
                    raise
                if first is grpc.aio.EOF:
                    raise await _status_error(call)
                return call, first
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def open_granted_session(self, start: Start, grant: Grant,
                                   ) -> tuple[grpc.aio.StreamStreamCall, pb.TranslateResponse]:
        """open_session within what a grant allows (its session length, its engines); SessionRefused otherwise."""
        try:
            call, accepted = await self.open_session(start, grant.max_session_seconds)
        except grpc.aio.AioRpcError as error:
            raise SessionRefused(status_error_event(error.code(), error.details())) from None
        except TimeoutError:
            raise SessionRefused(error_event("worker_unavailable", "the translation worker did not answer in time",
                                             True)) from None
        try:
            grant.check_engine(accepted.accepted.engine)
        except ProtocolError as refusal:
            call.cancel()
            raise SessionRefused(error_event(refusal.code, str(refusal), True)) from None
        return call, accepted

    async def languages(self) -> dict[str, Any]:
        """The worker's ListLanguages answer as JSON-ready data."""
        reply = await self._translator.ListLanguages(pb.ListLanguagesRequest(), timeout=self._timeout)

        def listed(languages: Any) -> list[dict[str, str]]:
            return [{"code": lang.code, "name": lang.name} for lang in languages]

        return {
            "engine": reply.engine,
            "source_languages": listed(reply.source_languages),
            "target_languages": listed(reply.target_languages),
            "speech_output_languages": listed(reply.speech_output_languages),
            "source_language_selectable": reply.source_language_selectable,
            "routes": [{"sources": list(route.sources), "targets": list(route.targets)} for route in reply.routes],
            "voices": [{"language": voice.language, "label": voice.label, "kind": voice.kind,
                        "fallback_reason": voice.fallback_reason} for voice in reply.voices],
        }

    async def ready(self) -> bool:
        """True when a worker answers its health check with SERVING."""
        try:
            reply = await self._health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME),
                                             timeout=self._timeout)
        except grpc.aio.AioRpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    async def close(self) -> None:
        await self._channel.close()


async def session_frames(call: grpc.aio.StreamStreamCall,
                         ) -> AsyncIterator[tuple[pb.TranslateResponse, dict[str, Any] | bytes | None]]:
    """A session's responses with their client frames, until the worker's end; AioRpcError when the call fails
    (with the worker's status: gateway/worker/status.py)."""
    while True:
        try:
            response = await _read(call)
        except grpc.aio.AioRpcError as error:
            raise await worker_error(call, error) from None
        if response is grpc.aio.EOF:
            return
        converted = server_frame(response)
        if converted.ends_session:
            return
        yield response, converted.frame


async def _read(call: grpc.aio.StreamStreamCall) -> Any:
    """The call's next response (or grpc.aio.EOF), past the worker's in-band StreamEnding: that says the
    call's status (for worker_error), never a client frame."""
    while (response := await call.read()) is not grpc.aio.EOF and response.WhichOneof("event") == "ending":
        keep_stated_status(call, response.ending.status, response.ending.message)
        # The worker takes the writes in flight until this half-close, then sends its status: none races it.
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
            await call.done_writing()
    return response


async def _status_error(call: grpc.aio.StreamStreamCall) -> grpc.aio.AioRpcError:
    """The error of a call that ended before its first response."""
    code = await call.code()
    details = await call.details()
    return await worker_error(call, grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details))
