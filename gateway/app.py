"""The gateway's Starlette application: routes, origin check, lifespan of the worker channel."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import grpc
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from gateway.config import GatewayConfig
from gateway.metrics import GatewayMetrics
from gateway.relay import SocketRelay
from gateway.worker_client import WorkerClient

log = logging.getLogger("gateway.app")

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


def create_app(config: GatewayConfig, metrics: GatewayMetrics | None = None) -> Starlette:
    """Build the gateway app for one configuration."""
    metrics = metrics or GatewayMetrics.create()
    state: dict[str, WorkerClient] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["workers"] = WorkerClient(config.worker_target, config.worker_timeout_seconds,
                                        config.start_attempts)
        log.info("gateway ready", extra={"url": f"http://{config.host}:{config.port}", "worker_target": config.worker_target})
        try:
            yield
        finally:
            await state["workers"].close()

    async def websocket_endpoint(websocket: WebSocket) -> None:
        if not origin_allowed(websocket, config.allowed_origins):
            log.warning("refused a cross-origin WebSocket", extra={"origin": websocket.headers.get("origin")})
            await websocket.close(CLOSE_POLICY_VIOLATION)
            return
        await websocket.accept()
        metrics.connections_total.inc()
        metrics.active_connections.inc()
        try:
            await SocketRelay(websocket, state["workers"], config, metrics).run()
        finally:
            metrics.active_connections.dec()

    async def languages(request: Request) -> Response:
        try:
            return JSONResponse(await state["workers"].languages())
        except grpc.aio.AioRpcError as error:
            return JSONResponse({"error": "worker_unavailable", "message": error.details() or error.code().name},
                                status_code=503)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        if await state["workers"].ready():
            return PlainTextResponse("ready")
        return PlainTextResponse("no worker is serving", status_code=503)

    async def prometheus(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            WebSocketRoute("/ws", websocket_endpoint),
            Route("/api/languages", languages),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", prometheus),
            Mount("/", StaticFiles(directory=config.web_dir, html=True), name="web"),
        ],
        lifespan=lifespan,
    )
