"""The gateway's Starlette application: routes, host and origin checks, lifespan of the worker channel.

Metrics are not served here: they have a port of their own (S2ST_GATEWAY_METRICS_PORT),
which stays private while this one is public.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import grpc
from opentelemetry import trace
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from gateway.identity.authenticator import Authenticator, bearer_token
from gateway.identity.jwt_settings import LOOPBACK_HOSTS
from gateway.config import GatewayConfig
from gateway.limits import ClientLimits, LocalClientLimits
from gateway.metrics import GatewayMetrics
from gateway.rooms.qr import qr_endpoint
from gateway.relay.socket_relay import SocketRelay
from gateway.rooms.routing import CLIENT_ADDRESS_HEADER, HandshakeRefused, RoomRouting, relay_to_owner
from gateway.rooms.registry import RoomRegistry
from gateway.sockets import OpenSockets
from gateway.worker.client import WorkerClient, open_channel

log = logging.getLogger("gateway.app")
tracer = trace.get_tracer("gateway")

CLOSE_POLICY_VIOLATION = 1008


def origin_allowed(websocket: WebSocket, allowed: tuple[str, ...]) -> bool:
    """Same-origin pages, listed origins and non-browser clients (no Origin header) may connect."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if origin in allowed or "*" in allowed:
        return True
    return urlsplit(origin).netloc == websocket.headers.get("host")


async def deny(websocket: WebSocket, status: int, reason: str) -> None:
    """Refuse a WebSocket handshake with an HTTP status (403 when the server cannot send one)."""
    log.info("refused a WebSocket", extra={"status": status, "reason": reason,
                                           "origin": websocket.headers.get("origin")})
    try:
        await websocket.send_denial_response(PlainTextResponse(reason, status_code=status))
    except RuntimeError:
        await websocket.close(CLOSE_POLICY_VIOLATION, reason)


def create_app(config: GatewayConfig, metrics: GatewayMetrics | None = None,
               sockets: OpenSockets | None = None, limits: ClientLimits | None = None,
               routing: RoomRouting | None = None) -> Starlette:
    """Build the gateway app for one configuration; limits: the per-IP counters (this process's own by default);
    routing: where the rooms of the other serving processes are (None: this is the only one)."""
    metrics = metrics or GatewayMetrics.create()
    sockets = sockets or OpenSockets()
    limits = limits or LocalClientLimits(config.max_connections_per_ip, config.max_sessions_per_ip)
    state: dict[str, WorkerClient] = {}
    authenticator = Authenticator(config.api_tokens, config.jwt)
    rooms = RoomRegistry(config, metrics, lambda: state["workers"], routing.room_id_prefix if routing else "0")
    sockets.before_shut_down = rooms.close  # a drained room ends as `shutting_down` before its sockets close

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        channel = open_channel(config)
        # Connect to every worker now, not at the first session: the first sessions then spread over all of
        # them (round-robin picks among connected workers) and none pays for the connection's setup.
        channel.get_state(try_to_connect=True)
        state["workers"] = WorkerClient(channel, config.worker_timeout_seconds, config.start_attempts)
        await authenticator.warm_up()
        log.info("gateway ready", extra={"url": f"http://{config.host}:{config.port}", "worker_target": config.worker_target})
        try:
            yield
        finally:
            await rooms.close()
            await state["workers"].close()

    async def websocket_endpoint(websocket: WebSocket) -> None:
        if not origin_allowed(websocket, config.allowed_origins):
            await deny(websocket, 403, "origin not allowed")
            return
        grant = await authenticator.grant(bearer_token(websocket.headers.get("authorization"),
                                                       websocket.query_params.get("token")))
        if grant is None:
            await deny(websocket, 401, "a valid token is required")
            return
        # A socket relayed by another serving process or gateway: that one holds its connection slot.
        arrival = routing.arrival(websocket) if routing is not None else "client"
        if arrival == "peer" and routing is not None and not routing.peer_admitted(websocket):
            await deny(websocket, 403, "the peer port answers gateways holding the peer token only")
            return
        if arrival != "client":
            client_ip = websocket.headers.get(CLIENT_ADDRESS_HEADER, "unknown")
        else:
            client_ip = websocket.client.host if websocket.client else "unknown"
        room_id = websocket.path_params.get("room_id")
        owner = routing.route(room_id, arrival) if routing is not None and room_id else None
        async with contextlib.nullcontext(True) if arrival != "client" else limits.hold("connections", client_ip) \
                as admitted:
            if not admitted:
                await deny(websocket, 429, "too many connections from this address")
                return
            if owner is not None:
                try:
                    metrics.room_sockets_relayed.inc()
                    if await relay_to_owner(websocket, owner, client_ip, config, routing.credential_for(owner)):
                        return
                except HandshakeRefused as refusal:
                    await deny(websocket, refusal.status, refusal.reason)
                    return
            await websocket.accept()
            metrics.connections_total.inc()
            metrics.active_connections.inc()
            relay = SocketRelay(websocket, state["workers"], config, metrics, sockets,
                                functools.partial(limits.hold, "sessions", client_ip), grant,
                                rooms, room_id)
            try:
                with sockets.hold(relay), tracer.start_as_current_span(
                        "WebSocket /ws", kind=trace.SpanKind.SERVER, attributes={"s2st.client": grant.subject}):
                    await relay.run()
            finally:
                metrics.active_connections.dec()

    async def languages(request: Request) -> Response:
        if await authenticator.grant(bearer_token(request.headers.get("authorization"),
                                                  request.query_params.get("token"))) is None:
            return JSONResponse({"error": "unauthorized", "message": "a valid token is required"}, status_code=401)
        try:
            return JSONResponse(await state["workers"].languages())
        except grpc.aio.AioRpcError as error:
            # The details name the worker's address: for the log, not for the client.
            log.warning("no worker answered ListLanguages", extra={"code": error.code().name,
                                                                   "details": error.details()})
            return JSONResponse({"error": "worker_unavailable", "message": "no translation worker is reachable; "
                                 "try again shortly"}, status_code=503)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        if await state["workers"].ready():
            return PlainTextResponse("ready")
        return PlainTextResponse("no worker is serving", status_code=503)

    return Starlette(
        routes=[
            WebSocketRoute("/ws", websocket_endpoint),
            WebSocketRoute("/ws/rooms/{room_id}", websocket_endpoint),
            Route("/api/languages", languages),
            Route("/api/qr.svg", qr_endpoint(authenticator)),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Mount("/", StaticFiles(directory=config.web_dir, html=True), name="web"),
        ],
        lifespan=lifespan,
        # DNS rebinding: a page on an attacker's name that resolves to this gateway sends that name as
        # Host (and as Origin, so the origin check alone would pass it).
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=[*LOOPBACK_HOSTS, *config.allowed_hosts])],
    )
