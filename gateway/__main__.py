"""`python -m gateway`: run the gateway on uvicorn, configured from S2ST_* variables.

One serving process, or (S2ST_GATEWAY_PROCESSES above 1) a supervisor and that many (gateway/serving/processes.py).
"""

import os

from prometheus_client import start_http_server

from gateway.config import GatewayConfig
from gateway.serving.processes import run_processes
from gateway.serving.server import serve
from s2st.runtime.logs import configure_logging
from s2st.runtime.tracing import configure_tracing


def main() -> None:
    try:
        config = GatewayConfig.from_environ(os.environ)
        configure_tracing("s2st-gateway")
    except ValueError as error:
        raise SystemExit(f"gateway configuration: {error}") from None
    configure_logging(config.log_level)
    if config.process_count > 1:
        run_processes(config)
        return
    if config.metrics_port:
        start_http_server(config.metrics_port, addr=config.host)
    serve(config)


if __name__ == "__main__":
    main()
