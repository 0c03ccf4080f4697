"""`python -m inference.healthcheck`: exit 0 when the local worker answers SERVING (container healthcheck).

With TLS on, it trusts S2ST_GRPC_TLS_CA (default: the worker's own certificate,
right for a self-signed one) and checks the name S2ST_GRPC_TLS_SERVER_NAME
(default localhost).
"""

import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TIMEOUT_SECONDS = 3.0


def open_channel() -> grpc.Channel:
    """Plaintext, or TLS trusting the worker's own certificate when S2ST_GRPC_TLS_CERT is set."""
    address = f"127.0.0.1:{os.environ.get('S2ST_GRPC_PORT', '50051')}"
    cert_path = os.environ.get("S2ST_GRPC_TLS_CERT")
    if not cert_path:
        return grpc.insecure_channel(address)
    with open(os.environ.get("S2ST_GRPC_TLS_CA") or cert_path, "rb") as ca:
        credentials = grpc.ssl_channel_credentials(root_certificates=ca.read())
    server_name = os.environ.get("S2ST_GRPC_TLS_SERVER_NAME", "localhost")
    return grpc.secure_channel(address, credentials, options=[("grpc.ssl_target_name_override", server_name)])


def main() -> int:
    with open_channel() as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            print(f"unhealthy: {error.code().name}", file=sys.stderr)
            return 1
    serving = reply.status == health_pb2.HealthCheckResponse.SERVING
    print(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())
