"""`python -m inference.healthcheck`: exit 0 when the local worker answers SERVING (container healthcheck).

It reads the worker's own settings (inference/config.py): the port, and with TLS
on, S2ST_GRPC_TLS_CA (default: the worker's own certificate, right for a
self-signed one) and S2ST_GRPC_TLS_SERVER_NAME (default localhost). When the
worker requires client certificates (S2ST_GRPC_TLS_CLIENT_CA), it presents the
worker's own certificate and key: sign that certificate with the client CA too.
"""

import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from inference.config import WorkerConfig

TIMEOUT_SECONDS = 3.0


def open_channel(config: WorkerConfig) -> grpc.Channel:
    """Plaintext, or TLS when the worker serves TLS."""
    address = f"127.0.0.1:{config.grpc_port}"
    if not config.tls_cert_path:
        return grpc.insecure_channel(address)
    with open(config.healthcheck_tls_ca_path or config.tls_cert_path, "rb") as ca:
        root = ca.read()
    if config.tls_client_ca_path:
        with open(config.tls_cert_path, "rb") as cert, open(config.tls_key_path, "rb") as key:
            credentials = grpc.ssl_channel_credentials(root, private_key=key.read(), certificate_chain=cert.read())
    else:
        credentials = grpc.ssl_channel_credentials(root_certificates=root)
    return grpc.secure_channel(address, credentials,
                               options=[("grpc.ssl_target_name_override", config.healthcheck_tls_server_name)])


def main() -> int:
    with open_channel(WorkerConfig.from_environ(os.environ)) as channel:
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
