"""Gateway configuration: every setting comes from an S2ST_* environment variable.

| variable | default | meaning |
|---|---|---|
| S2ST_GATEWAY_HOST | 127.0.0.1 | address the HTTP server binds (0.0.0.0 in containers) |
| S2ST_GATEWAY_PORT | 8080 | HTTP port: web client, /ws, /api/languages, /healthz, /readyz, /metrics |
| S2ST_WORKER_TARGET | 127.0.0.1:50051 | gRPC target of the worker(s): host:port, a comma list of host:port, or dns:///name:port |
| S2ST_ALLOWED_ORIGINS | (empty) | comma list of extra Origins allowed to open /ws; the page's own origin always is |
| S2ST_WS_MAX_FRAME_BYTES | 65536 | largest audio frame accepted (the worker's chunk limit) |
| S2ST_OUTBOUND_QUEUE_FRAMES | 256 | frames waiting for a slow client before the socket is closed |
| S2ST_START_ATTEMPTS | 3 | workers tried when one is full (RESOURCE_EXHAUSTED) before answering busy |
| S2ST_WORKER_TIMEOUT_SECONDS | 5 | deadline of unary calls to the worker (languages, health) and of a session's start |
| S2ST_WEB_DIR | web/ of this checkout | directory of the browser client |
| S2ST_LOG_LEVEL | INFO | log level |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_WEB_DIR = Path(__file__).resolve().parent.parent / "web"


@dataclass(frozen=True)
class GatewayConfig:
    """Settings of one gateway process."""

    host: str = "127.0.0.1"
    port: int = 8080
    worker_target: str = "127.0.0.1:50051"
    allowed_origins: tuple[str, ...] = ()
    ws_max_frame_bytes: int = 65_536
    outbound_queue_frames: int = 256
    start_attempts: int = 3
    worker_timeout_seconds: float = 5.0
    web_dir: Path = DEFAULT_WEB_DIR
    log_level: str = "INFO"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> GatewayConfig:
        """Read the S2ST_* variables; unset ones keep the defaults above."""
        defaults = cls()
        origins = environ.get("S2ST_ALLOWED_ORIGINS", "")
        return cls(
            host=environ.get("S2ST_GATEWAY_HOST", defaults.host),
            port=int(environ.get("S2ST_GATEWAY_PORT", defaults.port)),
            worker_target=environ.get("S2ST_WORKER_TARGET", defaults.worker_target),
            allowed_origins=tuple(o.strip().rstrip("/") for o in origins.split(",") if o.strip()),
            ws_max_frame_bytes=int(environ.get("S2ST_WS_MAX_FRAME_BYTES", defaults.ws_max_frame_bytes)),
            outbound_queue_frames=int(environ.get("S2ST_OUTBOUND_QUEUE_FRAMES", defaults.outbound_queue_frames)),
            start_attempts=int(environ.get("S2ST_START_ATTEMPTS", defaults.start_attempts)),
            worker_timeout_seconds=float(
                environ.get("S2ST_WORKER_TIMEOUT_SECONDS", defaults.worker_timeout_seconds)
            ),
            web_dir=Path(environ.get("S2ST_WEB_DIR", defaults.web_dir)),
            log_level=environ.get("S2ST_LOG_LEVEL", defaults.log_level),
        )
