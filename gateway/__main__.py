"""`python -m gateway`: run the gateway on uvicorn, configured from S2ST_* variables."""

import os

import uvicorn
from prometheus_client import start_http_server

from gateway.app import create_app
from gateway.config import GatewayConfig
from gateway.serving import DenialAnsweredProtocol, DrainingServer, head_limited_protocol
from gateway.sockets import OpenSockets
from s2st.runtime.logs import configure_logging
from s2st.runtime.tracing import configure_tracing

# Frames beyond this are refused by the WebSocket layer itself (close 1009);
# smaller over-limit audio frames get a `frame_too_large` error event instead.
TRANSPORT_MAX_FRAME_BYTES = 1 << 20


def main() -> None:
    try:
        config = GatewayConfig.from_environ(os.environ)
        configure_tracing("s2st-gateway")
    except ValueError as error:
        raise SystemExit(f"gateway configuration: {error}") from None
    configure_logging(config.log_level)
    if config.metrics_port:
        start_http_server(config.metrics_port, addr=config.host)
    sockets = OpenSockets()
    server = DrainingServer(uvicorn.Config(
        create_app(config, sockets=sockets),
        host=config.host,
        port=config.port,
        http=head_limited_protocol(config.max_request_head_bytes),
        ws=DenialAnsweredProtocol,
        ws_max_size=TRANSPORT_MAX_FRAME_BYTES,
        # PCM barely compresses and events are small: compression would cost CPU per frame and
        # a zlib state (hundreds of KB) per connection.
        ws_per_message_deflate=False,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        proxy_headers=True,
        forwarded_allow_ips=config.trusted_proxies,
    ), sockets, config.shutdown_grace_seconds)
    server.run()


if __name__ == "__main__":
    main()
