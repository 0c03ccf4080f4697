"""Gateway configuration: every setting comes from an S2ST_* environment variable.

| variable | default | meaning |
|---|---|---|
| S2ST_GATEWAY_HOST | 127.0.0.1 | address the HTTP server binds (0.0.0.0 in containers) |
| S2ST_GATEWAY_PORT | 8080 | HTTP port: web client, /ws, /api/languages, /healthz, /readyz |
| S2ST_GATEWAY_PROCESSES | 1 | serving processes sharing the port: 0 is one per CPU core this process may use. Above 1, a supervisor holds the port, the per-IP limits and /metrics, and restarts a process that dies |
| S2ST_GATEWAY_NAME | (empty) | this gateway's name among several (a DNS label, e.g. its pod's name): room ids start with it, and a room socket that reaches another gateway is relayed to the one it names (docs/scale.md). Needs the two below and S2ST_GATEWAY_PROCESSES=1 |
| S2ST_GATEWAY_PEER_ADDRESS | (empty) | host:port of a peer gateway's peer port, `{name}` standing for its S2ST_GATEWAY_NAME, e.g. `{name}.gateway-peers.ns.svc.cluster.local:8081` |
| S2ST_GATEWAY_PEER_PORT | 0 | port (on S2ST_GATEWAY_HOST) where peer gateways hand over room sockets; it believes the client address they pass, so only gateways may reach it (a NetworkPolicy) and each must present the peer token |
| S2ST_GATEWAY_PEER_TOKEN | (empty) | shared secret (at least 32 bytes) every gateway of the set holds: sent with each room socket handed to a peer, required on the peer port (others get 403). Needed with S2ST_GATEWAY_NAME |
| S2ST_GATEWAY_METRICS_PORT | 9092 | Prometheus /metrics port, on S2ST_GATEWAY_HOST; keep it private; 0 turns it off |
| S2ST_ALLOWED_HOSTS | (empty) | comma list of host names the gateway answers to besides localhost, 127.0.0.1 and ::1 (its public name; `*`: any); other Host headers get 400 (DNS rebinding) |
| S2ST_MAX_REQUEST_HEAD_BYTES | 16384 | largest request line plus headers; more gets 431 |
| S2ST_SHUTDOWN_GRACE_SECONDS | 20 | on SIGTERM, how long live sessions may finish before they get `shutting_down` and close 1001 |
| S2ST_WORKER_TARGET | 127.0.0.1:50051 | gRPC target of the worker(s): host:port, a comma list of host:port, or dns:///name:port |
| S2ST_ALLOWED_ORIGINS | (empty) | comma list of extra Origins allowed to open /ws; the page's own origin always is |
| S2ST_WS_MAX_FRAME_BYTES | 65536 | largest audio frame accepted: the contract's chunk limit (s2st.v1.limits.MAX_CHUNK_BYTES); it may be lower, not higher |
| S2ST_OUTBOUND_QUEUE_FRAMES | 256 | frames waiting for a slow client before the socket is closed (1008); also the most frames a client may send before its session is ready |
| S2ST_OUTBOUND_QUEUE_BYTES | 2097152 | bytes of frames waiting for a slow client before the socket is closed (1008): what one socket may pin in gateway memory, besides one frame and the kernel's buffers; also the most audio held for a session that is not ready yet |
| S2ST_WS_CLOSE_TIMEOUT_SECONDS | 5 | how long closing a socket may take (its close frame sent, the client's answer back) before the connection is aborted: a client that does not read gives back its connection slot, file descriptor and buffers within this time |
| S2ST_START_ATTEMPTS | 3 | workers tried when one is full (RESOURCE_EXHAUSTED) before answering busy |
| S2ST_WORKER_TIMEOUT_SECONDS | 5 | deadline of unary calls to the worker (languages, health) and of a session's start |
| S2ST_API_TOKENS | (empty) | comma list of static bearer tokens for trusted server-side clients (no scopes); when this or a JWT key is set, /ws and /api need a token |
| S2ST_JWT_SECRET | (empty) | HS256 secret (at least 32 bytes) of JWT session tokens your backend mints (`python -m gateway.identity` mints one for testing) |
| S2ST_JWT_PUBLIC_KEY_FILE | (empty) | PEM public key (RSA: RS256, EC P-256: ES256) that JWT session tokens are checked against |
| S2ST_JWT_JWKS_URL | (empty) | JWKS URL of an identity provider (https, or http on loopback); keys are chosen by the token's `kid` |
| S2ST_JWT_JWKS_CACHE_SECONDS | 300 | how long a fetched JWKS is used before it is fetched again (an unknown `kid` fetches sooner) |
| S2ST_JWT_AUDIENCE | s2st | the `aud` every JWT must name |
| S2ST_JWT_ISSUER | (empty) | when set, the `iss` every JWT must name |
| S2ST_JWT_LEEWAY_SECONDS | 30 | clock skew tolerated on `exp` and `nbf` |
| S2ST_SESSION_TOKEN_SECRET | (removed) | the old `v1.` session tokens are gone: setting it stops the gateway with a pointer to S2ST_JWT_SECRET |
| S2ST_MAX_CONNECTIONS_PER_IP | 20 | open sockets per client IP; more get HTTP 429 (0: no limit) |
| S2ST_MAX_SESSIONS_PER_IP | 4 | worker streams one client IP may cause at once, across its sockets: its sessions, and its rooms' language streams (a room's first one comes with the room); one more `start` or room stream gets `too_many_sessions` (0: no limit). Keep it below a worker's S2ST_MAX_SESSIONS so no one client can take every slot |
| S2ST_MAX_ROOMS | 50 | rooms one gateway process holds at once; one more `create_room` gets `too_many_rooms` |
| S2ST_ROOM_MAX_LISTENERS | 1000 | listeners of one room; one more `join` gets `room_full` |
| S2ST_ROOM_MAX_LANGUAGES | 4 | target languages a room may offer (each one listened to is a worker stream) |
| S2ST_ROOM_REPLAY_BYTES | 16384 | transcript text a listener's `joined` replays: the room's latest segments that fit |
| S2ST_ROOM_GRACE_SECONDS | 30 | how long a room whose speaker's socket went away waits for the speaker to come back |
| S2ST_WS_MAX_FRAMES_PER_SECOND | 200 | audio frames a socket may send per second on average; more are dropped with `rate_limited` (control frames never are; see the next two) |
| S2ST_WS_BURST_SECONDS | 5 | burst allowance of that limit, in seconds of it: speech queued during a network stall gets through |
| S2ST_WS_STREAM_OPENS_PER_SECOND | 2 | frames that open worker streams (`start`, `create_room`, `speak`, `join`) a socket may send per second on average; more get `rate_limited` and are dropped (0: no limit) |
| S2ST_WS_STREAM_OPENS_BURST | 20 | how many of those frames may come at once |
| S2ST_TRUSTED_PROXIES | 127.0.0.1 | proxies whose X-Forwarded-For names the client IP (comma list or `*`) |
| S2ST_WORKER_TLS_CA | (empty) | PEM file of the CA that signed the workers' certificates; set, the gateway speaks TLS to them |
| S2ST_WORKER_TLS_CERT | (empty) | PEM client certificate the gateway presents to workers that require one (their S2ST_GRPC_TLS_CLIENT_CA: mutual TLS) |
| S2ST_WORKER_TLS_KEY | (empty) | PEM private key of that certificate |
| S2ST_WORKER_TLS_SERVER_NAME | (empty) | name to check the worker certificate against, when not the target's host |
| S2ST_WORKER_TOKEN | (empty) | bearer token sent to the workers (their S2ST_GRPC_TOKENS) |
| S2ST_WEB_DIR | web/ of this checkout | directory of the browser client |
| S2ST_LOG_LEVEL | INFO | log level |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from gateway.identity.jwt_settings import MIN_SECRET_BYTES, JwtSettings
from s2st.runtime.settings import FromEnviron, env
from s2st.v1.limits import MAX_CHUNK_BYTES

GATEWAY_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")  # a DNS label, as a pod's name is
DEFAULT_WEB_DIR = Path(__file__).resolve().parent.parent / "web"


@dataclass(frozen=True)
class GatewayConfig(FromEnviron):
    """Settings of one gateway process."""

    host: str = env("S2ST_GATEWAY_HOST", "127.0.0.1")
    port: int = env("S2ST_GATEWAY_PORT", 8080)
    processes: int = env("S2ST_GATEWAY_PROCESSES", 1)
    gateway_name: str = env("S2ST_GATEWAY_NAME", "")
    peer_address: str = env("S2ST_GATEWAY_PEER_ADDRESS", "")
    peer_port: int = env("S2ST_GATEWAY_PEER_PORT", 0)
    peer_token: str = env("S2ST_GATEWAY_PEER_TOKEN", "")
    metrics_port: int = env("S2ST_GATEWAY_METRICS_PORT", 9092)
    allowed_hosts: tuple[str, ...] = env("S2ST_ALLOWED_HOSTS", ())
    max_request_head_bytes: int = env("S2ST_MAX_REQUEST_HEAD_BYTES", 16_384)
    shutdown_grace_seconds: float = env("S2ST_SHUTDOWN_GRACE_SECONDS", 20.0)
    worker_target: str = env("S2ST_WORKER_TARGET", "127.0.0.1:50051")
    allowed_origins: tuple[str, ...] = env("S2ST_ALLOWED_ORIGINS", ())
    ws_max_frame_bytes: int = env("S2ST_WS_MAX_FRAME_BYTES", MAX_CHUNK_BYTES)
    outbound_queue_frames: int = env("S2ST_OUTBOUND_QUEUE_FRAMES", 256)
    outbound_queue_bytes: int = env("S2ST_OUTBOUND_QUEUE_BYTES", 2 * 1024 * 1024)
    ws_close_timeout_seconds: float = env("S2ST_WS_CLOSE_TIMEOUT_SECONDS", 5.0)
    start_attempts: int = env("S2ST_START_ATTEMPTS", 3)
    worker_timeout_seconds: float = env("S2ST_WORKER_TIMEOUT_SECONDS", 5.0)
    api_tokens: tuple[str, ...] = env("S2ST_API_TOKENS", ())
    jwt: JwtSettings = JwtSettings()
    max_connections_per_ip: int = env("S2ST_MAX_CONNECTIONS_PER_IP", 20)
    max_sessions_per_ip: int = env("S2ST_MAX_SESSIONS_PER_IP", 4)
    max_rooms: int = env("S2ST_MAX_ROOMS", 50)
    room_max_listeners: int = env("S2ST_ROOM_MAX_LISTENERS", 1000)
    room_max_languages: int = env("S2ST_ROOM_MAX_LANGUAGES", 4)
    room_replay_bytes: int = env("S2ST_ROOM_REPLAY_BYTES", 16_384)
    room_grace_seconds: float = env("S2ST_ROOM_GRACE_SECONDS", 30.0)
    ws_max_frames_per_second: float = env("S2ST_WS_MAX_FRAMES_PER_SECOND", 200.0)
    ws_burst_seconds: float = env("S2ST_WS_BURST_SECONDS", 5.0)
    ws_stream_opens_per_second: float = env("S2ST_WS_STREAM_OPENS_PER_SECOND", 2.0)
    ws_stream_opens_burst: int = env("S2ST_WS_STREAM_OPENS_BURST", 20)
    trusted_proxies: str = env("S2ST_TRUSTED_PROXIES", "127.0.0.1")
    worker_tls_ca: str = env("S2ST_WORKER_TLS_CA", "")
    worker_tls_server_name: str = env("S2ST_WORKER_TLS_SERVER_NAME", "")
    worker_tls_cert: str = env("S2ST_WORKER_TLS_CERT", "")
    worker_tls_key: str = env("S2ST_WORKER_TLS_KEY", "")
    worker_token: str = env("S2ST_WORKER_TOKEN", "")
    web_dir: Path = env("S2ST_WEB_DIR", DEFAULT_WEB_DIR)
    log_level: str = env("S2ST_LOG_LEVEL", "INFO")
    removed_variables: ClassVar[Mapping[str, str]] = {
        "S2ST_SESSION_TOKEN_SECRET": "session tokens are JWTs now. Set S2ST_JWT_SECRET and mint HS256 JWTs "
                                     "(docs/deploy.md, 'Session tokens')",
    }

    def __repr__(self) -> str:  # never print secrets into logs
        return f"GatewayConfig(host={self.host!r}, port={self.port}, worker_target={self.worker_target!r})"

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_origins", tuple(origin.rstrip("/") for origin in self.allowed_origins))
        if self.processes < 0:
            raise ValueError("S2ST_GATEWAY_PROCESSES must be 0 (one per core) or more")
        self._check_peers()
        if min(self.max_rooms, self.room_max_listeners, self.room_max_languages) < 1 or self.room_grace_seconds < 0:
            raise ValueError("S2ST_MAX_ROOMS, S2ST_ROOM_MAX_LISTENERS and S2ST_ROOM_MAX_LANGUAGES must be 1 or more, "
                             "S2ST_ROOM_GRACE_SECONDS 0 or more")
        if self.outbound_queue_bytes < 1 or self.ws_close_timeout_seconds <= 0 or self.room_replay_bytes < 0:
            raise ValueError("S2ST_OUTBOUND_QUEUE_BYTES must be 1 or more, S2ST_WS_CLOSE_TIMEOUT_SECONDS above 0, "
                             "S2ST_ROOM_REPLAY_BYTES 0 or more")
        if not 2 <= self.ws_max_frame_bytes <= MAX_CHUNK_BYTES:
            raise ValueError(f"S2ST_WS_MAX_FRAME_BYTES must be 2 to {MAX_CHUNK_BYTES} (the workers' chunk limit)")

    def _check_peers(self) -> None:
        peers = (self.gateway_name, self.peer_address, self.peer_port)
        if not any(peers):
            return
        if not all(peers):
            raise ValueError("S2ST_GATEWAY_NAME, S2ST_GATEWAY_PEER_ADDRESS and S2ST_GATEWAY_PEER_PORT go together")
        if not GATEWAY_NAME.fullmatch(self.gateway_name):
            raise ValueError("S2ST_GATEWAY_NAME must be a DNS label: lower-case letters, digits and inner hyphens")
        if "{name}" not in self.peer_address or ":" not in self.peer_address:
            raise ValueError("S2ST_GATEWAY_PEER_ADDRESS must be host:port with {name} in it")
        if self.process_count != 1 or self.peer_port == self.port:
            raise ValueError("peer gateways need S2ST_GATEWAY_PROCESSES=1 and a S2ST_GATEWAY_PEER_PORT of its own")
        if len(self.peer_token.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"peer gateways need S2ST_GATEWAY_PEER_TOKEN, a shared secret of at least "
                             f"{MIN_SECRET_BYTES} bytes: the peer port refuses sockets without it")

    @property
    def process_count(self) -> int:
        """Serving processes to run: S2ST_GATEWAY_PROCESSES, with 0 as the cores this process may use."""
        return self.processes or len(os.sched_getaffinity(0))

