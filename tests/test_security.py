"""Who may connect: origin, tokens, per-IP and frame-rate limits, TLS and tokens on the worker's gRPC port."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
import websockets
from servers import REPO_ROOT, running, start_gateway, start_worker
from wsclient import ProtocolClient, connect

from gateway.auth import mint_session_token, session_token_valid
from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc

SECRET = "test-secret-0123456789"
STATIC_TOKEN = "static-token-abcdef"


def test_session_tokens_expire_and_cannot_be_forged():
    token = mint_session_token(SECRET, ttl_seconds=60, now=1000)
    assert session_token_valid(token, SECRET, now=1059)
    assert not session_token_valid(token, SECRET, now=1061)
    assert not session_token_valid(token, "another-secret", now=1000)
    forged = token.replace(".", ".9", 1)
    assert not session_token_valid(forged, SECRET, now=1000)
    assert not session_token_valid("garbage", SECRET, now=1000)


@pytest.fixture(scope="module")
def guarded_gateway(echo_worker, server_logs):
    env = {"S2ST_API_TOKENS": STATIC_TOKEN, "S2ST_SESSION_TOKEN_SECRET": SECRET,
           "S2ST_MAX_CONNECTIONS_PER_IP": "3", "S2ST_WS_MAX_FRAMES_PER_SECOND": "50"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:
        yield gateway


async def refused_status(url: str, **kwargs) -> int:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(url, **kwargs):
            pass
    return refused.value.response.status_code


async def test_without_a_valid_token_the_socket_is_refused_with_401(guarded_gateway):
    assert await refused_status(guarded_gateway.ws_url) == 401
    assert await refused_status(guarded_gateway.ws_url + "?token=wrong") == 401
    expired = mint_session_token(SECRET, ttl_seconds=-1)
    assert await refused_status(guarded_gateway.ws_url + f"?token={expired}") == 401


@pytest.mark.parametrize("how", ["static query", "session query", "bearer header"])
async def test_static_and_session_tokens_open_the_socket(guarded_gateway, how):
    url, headers = guarded_gateway.ws_url, None
    if how == "static query":
        url += f"?token={STATIC_TOKEN}"
    elif how == "session query":
        url += f"?token={mint_session_token(SECRET, ttl_seconds=60)}"
    else:
        headers = {"Authorization": f"Bearer {STATIC_TOKEN}"}
    async with connect(url, additional_headers=headers) as ws:
        assert (await ProtocolClient(ws).start())["type"] == "ready"


async def test_connections_over_the_per_ip_limit_get_429(guarded_gateway):
    url = guarded_gateway.ws_url + f"?token={STATIC_TOKEN}"
    async with connect(url), connect(url), connect(url):
        assert await refused_status(url) == 429
    async with connect(url) as ws:  # slots are freed when sockets close
        assert (await ProtocolClient(ws).start())["type"] == "ready"


async def test_a_flood_of_tiny_frames_is_dropped_with_one_rate_limited_error_a_second(guarded_gateway):
    async with connect(guarded_gateway.ws_url + f"?token={STATIC_TOKEN}") as ws:
        client = ProtocolClient(ws)
        await client.start()
        for _ in range(400):
            await client.send(b"\x00\x00")
        error = await client.until("error")
        assert (error["code"], error["fatal"]) == ("rate_limited", False)
        await asyncio.sleep(1.1)  # the bucket refills
        client.audio.clear()
        await client.send(b"\x01\x00" * 320)
        await client.send({"type": "stop"})
        await client.until("ended")
    rate_errors = [e for e in client.events if e.get("code") == "rate_limited"]
    assert len(rate_errors) <= 2
    assert client.received_pcm().endswith(b"\x01\x00" * 320)


def test_languages_api_needs_the_token_too(guarded_gateway):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{guarded_gateway.base_url}/api/languages", timeout=5)
    assert refused.value.code == 401
    with urllib.request.urlopen(f"{guarded_gateway.base_url}/api/languages?token={STATIC_TOKEN}", timeout=5) as ok:
        assert ok.status == 200


def test_secrets_never_reach_the_logs(guarded_gateway):
    log = guarded_gateway.log()
    assert SECRET not in log and STATIC_TOKEN not in log


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "worker.crt", directory / "worker.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_worker(tls_files, server_logs):
    cert, key = tls_files
    env = {"S2ST_GRPC_TLS_CERT": str(cert), "S2ST_GRPC_TLS_KEY": str(key), "S2ST_GRPC_TOKENS": "worker-token"}
    with running(start_worker("echo", env, log_dir=server_logs, tls_ca=cert)) as worker:
        yield worker


def tls_channel(cert: Path, address: str, token: str | None = None) -> grpc.aio.Channel:
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    if token:
        credentials = grpc.composite_channel_credentials(credentials, grpc.access_token_call_credentials(token))
    return grpc.aio.secure_channel(address, credentials)


async def test_the_tls_worker_refuses_calls_without_its_token(tls_worker, tls_files):
    cert, _ = tls_files
    async with tls_channel(cert, tls_worker.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await pb_grpc.TranslatorStub(channel).ListLanguages(pb.ListLanguagesRequest())
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    async with tls_channel(cert, tls_worker.address, "worker-token") as channel:
        reply = await pb_grpc.TranslatorStub(channel).ListLanguages(pb.ListLanguagesRequest())
    assert reply.engine == "echo"


async def test_the_tls_worker_refuses_plaintext_clients(tls_worker):
    async with grpc.aio.insecure_channel(tls_worker.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await pb_grpc.TranslatorStub(channel).ListLanguages(pb.ListLanguagesRequest(), timeout=3)
    assert refused.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


async def test_the_gateway_relays_over_tls_with_the_worker_token(tls_worker, tls_files, server_logs):
    cert, _ = tls_files
    env = {"S2ST_WORKER_TLS_CA": str(cert), "S2ST_WORKER_TOKEN": "worker-token"}
    with running(start_gateway(tls_worker.address, env, log_dir=server_logs)) as gateway:
        async with connect(gateway.ws_url) as ws:
            client = ProtocolClient(ws)
            assert (await client.start())["type"] == "ready"
            await client.send(b"\x05\x00" * 160)
            await client.send({"type": "stop"})
            await client.until("ended")
    assert client.received_pcm() == b"\x05\x00" * 160


def test_the_container_healthcheck_speaks_tls(tls_worker, tls_files):
    cert, key = tls_files
    env = {**os.environ, "S2ST_GRPC_PORT": str(tls_worker.port), "S2ST_GRPC_TLS_CERT": str(cert)}
    result = subprocess.run([sys.executable, "-m", "inference.healthcheck"], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SERVING"
