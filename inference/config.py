"""Worker configuration: every setting comes from an S2ST_* environment variable.

| variable | default | meaning |
|---|---|---|
| S2ST_ENGINE | lite | engine to serve: seamless, lite or echo |
| S2ST_GRPC_HOST | 127.0.0.1 | address the gRPC server binds (0.0.0.0 in containers) |
| S2ST_GRPC_PORT | 50051 | gRPC port (Translator, health, reflection) |
| S2ST_WORKER_METRICS_PORT | 9091 | Prometheus /metrics port; 0 turns it off |
| S2ST_MAX_SESSIONS | 16 | concurrent streams; one more gets RESOURCE_EXHAUSTED |
| S2ST_STEP_BUDGET_MS | 320 | a new stream gets RESOURCE_EXHAUSTED when (streams served + 1) x the engine's measured compute per stream-step would pass this (one seamless step of audio; an idle worker always takes one); 0 turns it off; engines that do not measure (lite, echo) are not limited by it |
| S2ST_MAX_SESSION_SECONDS | 3600 | wall-clock length of a stream before DEADLINE_EXCEEDED |
| S2ST_SHUTDOWN_GRACE_SECONDS | 20 | on SIGTERM, how long live streams may finish |
| S2ST_INPUT_QUEUE_CHUNKS | 200 | audio chunks buffered per stream before gRPC flow control pushes back |
| S2ST_MAX_PENDING_STREAMS | 64 | streams that have not sent their config yet (they hold no session slot); one more gets RESOURCE_EXHAUSTED at once; 0: no limit |
| S2ST_CONFIG_TIMEOUT_SECONDS | 10 | a stream that sends no config within this time ends with INVALID_ARGUMENT |
| S2ST_IDLE_SESSION_SECONDS | 60 | a session that receives no audio for this long ends with ABORTED, freeing its slot; 0 turns it off |
| S2ST_AUDIO_BURST_SECONDS | 5 | a stream's audio reaches the engine no faster than real time, beyond this many seconds of it at once (a network stall up to that long costs nothing): a client that sends faster than it speaks waits (gRPC flow control) instead of taking other streams' share of the engine; 0 turns pacing off (offline evaluation) |
| S2ST_CLIENT_STALL_SECONDS | 15 | a client that takes none of its responses for this long loses its stream (ABORTED) |
| S2ST_ENDING_GRACE_SECONDS | 1 | after the StreamEnding that says an accepted stream's non-OK status, how long the worker waits for the client to take it and half-close before it sends the status (a client write waiting then may make grpcio lose the status: grpc/grpc#36066) |
| S2ST_GRPC_MAX_CONNECTION_AGE_SECONDS | 0 | a client connection older than this is asked to reconnect (GOAWAY) once its streams end, so clients of a `dns:///` target find workers added since; live streams are never cut; 0 turns it off |
| S2ST_GRPC_TOKENS | (empty) | comma list of bearer tokens; set, every Translator call needs `authorization: Bearer <token>` (health stays open) |
| S2ST_GRPC_TLS_CERT | (empty) | PEM certificate chain; with the key, the gRPC port speaks TLS only |
| S2ST_GRPC_TLS_KEY | (empty) | PEM private key of that certificate |
| S2ST_GRPC_TLS_CLIENT_CA | (empty) | PEM CA of client certificates: set (with TLS on), every client must present a certificate it signed (mutual TLS); the healthcheck presents the worker's own |
| S2ST_GRPC_TLS_CA | (the certificate itself) | PEM CA the container healthcheck trusts (`python -m inference.healthcheck`) |
| S2ST_GRPC_TLS_SERVER_NAME | localhost | name the healthcheck checks the worker certificate against |
| S2ST_LOG_LEVEL | INFO | log level |
"""

from __future__ import annotations

from dataclasses import dataclass

from s2st.runtime.settings import FromEnviron, env


@dataclass(frozen=True)
class WorkerConfig(FromEnviron):
    """Settings of one inference worker process."""

    engine: str = env("S2ST_ENGINE", "lite")
    grpc_host: str = env("S2ST_GRPC_HOST", "127.0.0.1")
    grpc_port: int = env("S2ST_GRPC_PORT", 50051)
    metrics_port: int = env("S2ST_WORKER_METRICS_PORT", 9091)
    max_sessions: int = env("S2ST_MAX_SESSIONS", 16)
    step_budget_ms: float = env("S2ST_STEP_BUDGET_MS", 320.0)
    max_session_seconds: float = env("S2ST_MAX_SESSION_SECONDS", 3600.0)
    shutdown_grace_seconds: float = env("S2ST_SHUTDOWN_GRACE_SECONDS", 20.0)
    input_queue_chunks: int = env("S2ST_INPUT_QUEUE_CHUNKS", 200)
    max_pending_streams: int = env("S2ST_MAX_PENDING_STREAMS", 64)
    config_timeout_seconds: float = env("S2ST_CONFIG_TIMEOUT_SECONDS", 10.0)
    idle_session_seconds: float = env("S2ST_IDLE_SESSION_SECONDS", 60.0)
    audio_burst_seconds: float = env("S2ST_AUDIO_BURST_SECONDS", 5.0)
    client_stall_seconds: float = env("S2ST_CLIENT_STALL_SECONDS", 15.0)
    ending_grace_seconds: float = env("S2ST_ENDING_GRACE_SECONDS", 1.0)
    max_connection_age_seconds: float = env("S2ST_GRPC_MAX_CONNECTION_AGE_SECONDS", 0.0)
    grpc_tokens: tuple[str, ...] = env("S2ST_GRPC_TOKENS", ())
    tls_cert_path: str = env("S2ST_GRPC_TLS_CERT", "")
    tls_key_path: str = env("S2ST_GRPC_TLS_KEY", "")
    tls_client_ca_path: str = env("S2ST_GRPC_TLS_CLIENT_CA", "")
    healthcheck_tls_ca_path: str = env("S2ST_GRPC_TLS_CA", "")
    healthcheck_tls_server_name: str = env("S2ST_GRPC_TLS_SERVER_NAME", "localhost")
    log_level: str = env("S2ST_LOG_LEVEL", "INFO")

    def __repr__(self) -> str:  # never print tokens into logs
        return f"WorkerConfig(engine={self.engine!r}, grpc={self.grpc_host}:{self.grpc_port})"
