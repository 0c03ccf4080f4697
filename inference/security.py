"""Transport security of the worker's gRPC port: TLS credentials and a bearer-token check."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

import grpc

# Container health checks and load balancers must reach health without a token.
OPEN_METHODS_PREFIXES = ("/grpc.health.v1.Health/",)


def server_credentials(cert_path: str, key_path: str, client_ca_path: str = "") -> grpc.ServerCredentials | None:
    """TLS credentials when certificate and key are given (None: plaintext), requiring client certificates
    signed by client_ca_path when that is given (mutual TLS)."""
    if not (cert_path or key_path or client_ca_path):
        return None
    if not (cert_path and key_path):
        raise ValueError("S2ST_GRPC_TLS_CERT and S2ST_GRPC_TLS_KEY must be set together "
                         "(and S2ST_GRPC_TLS_CLIENT_CA needs them)")
    with open(cert_path, "rb") as cert, open(key_path, "rb") as key:
        pair = (key.read(), cert.read())
    if not client_ca_path:
        return grpc.ssl_server_credentials([pair])
    with open(client_ca_path, "rb") as client_ca:
        return grpc.ssl_server_credentials([pair], root_certificates=client_ca.read(), require_client_auth=True)


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
