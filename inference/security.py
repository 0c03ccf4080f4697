"""Transport security of the worker's gRPC port: TLS credentials and a bearer-token check."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

import grpc

# Container health checks and load balancers must reach health without a token.
OPEN_METHODS_PREFIXES = ("/grpc.health.v1.Health/",)


def server_credentials(cert_path: str, key_path: str) -> grpc.ServerCredentials | None:
    """TLS credentials when both files are given, None for plaintext; one without the other is an error."""
    if not cert_path and not key_path:
        return None
    if not (cert_path and key_path):
        raise ValueError("S2ST_GRPC_TLS_CERT and S2ST_GRPC_TLS_KEY must be set together")
    with open(cert_path, "rb") as cert, open(key_path, "rb") as key:
        return grpc.ssl_server_credentials([(key.read(), cert.read())])


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Refuses calls without `authorization: Bearer <one of tokens>` as UNAUTHENTICATED."""

    def __init__(self, tokens: tuple[str, ...]) -> None:
        self._tokens = tokens

        async def refuse(request: object, context: grpc.aio.ServicerContext) -> None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "a valid bearer token is required")

        self._refusal = grpc.unary_unary_rpc_method_handler(refuse)
        self._stream_refusal = grpc.stream_stream_rpc_method_handler(refuse)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        if method.startswith(OPEN_METHODS_PREFIXES) or self._authorized(handler_call_details.invocation_metadata):
            return await continuation(handler_call_details)
        return self._stream_refusal if method.endswith("/Translate") else self._refusal

    def _authorized(self, metadata: tuple[tuple[str, str | bytes], ...] | None) -> bool:
        for key, value in metadata or ():
            if key == "authorization" and isinstance(value, str) and value.lower().startswith("bearer "):
                presented = value[7:].strip()
                return any(hmac.compare_digest(presented, token) for token in self._tokens)
        return False
