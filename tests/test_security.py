"""Who may connect: origin, tokens, per-IP and frame-rate limits, TLS and tokens on the worker's gRPC port."""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
import websockets
from harness.polling import until
from harness.servers import REPO_ROOT, running, start_gateway, start_worker
from harness.wsclient import ProtocolClient, connect, returned_audio

from gateway.identity.jwt_tokens import mint_token
from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc

SECRET = "test-secret-0123456789-0123456789-abcdef"
STATIC_TOKEN = "static-token-abcdef"


@pytest.fixture(scope="module")
def guarded_gateway(echo_worker, server_logs):
    env = {"S2ST_API_TOKENS": STATIC_TOKEN, "S2ST_JWT_SECRET": SECRET,
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
    expired = mint_token(SECRET, ttl_seconds=-60)
    assert await refused_status(guarded_gateway.ws_url + f"?token={expired}") == 401


@pytest.mark.parametrize("how", ["static query", "session query", "bearer header"])
async def test_static_and_session_tokens_open_the_socket(guarded_gateway, how):
    url, headers = guarded_gateway.ws_url, None
    if how == "static query":
        url += f"?token={STATIC_TOKEN}"
    elif how == "session query":
        url += f"?token={mint_token(SECRET, ttl_seconds=60)}"
    else:
        headers = {"Authorization": f"Bearer {STATIC_TOKEN}"}
    async with connect(url, additional_headers=headers) as ws:
        assert (await ProtocolClient(ws).start())["type"] == "ready"


async def test_connections_over_the_per_ip_limit_get_429(guarded_gateway):
    url = guarded_gateway.ws_url + f"?token={STATIC_TOKEN}"
    async with connect(url), connect(url), connect(url):
        assert await refused_status(url) == 429
    # Slots are freed when sockets close: once the gateway has seen the closes (it may take a moment).
    for _ in range(50):
        try:
            async with connect(url) as ws:
                assert (await ProtocolClient(ws).start())["type"] == "ready"
                return
        except websockets.InvalidStatus as refused:
            assert refused.response.status_code == 429
            await asyncio.sleep(0.05)
    pytest.fail("the closed sockets' slots were not freed within 2.5 s")


async def test_a_flood_of_tiny_frames_is_dropped_with_one_rate_limited_error_a_second(guarded_gateway):
    """Past the burst allowance the frames are dropped (the echo worker never returns them), not just reported."""
    flood = 1000  # 20 s of the limit (50 a second): far beyond the burst (5 s) and what refills while they go out
    marker = b"\xff\x7f" * 320
    async with connect(guarded_gateway.ws_url + f"?token={STATIC_TOKEN}") as ws:
        client = ProtocolClient(ws)
        await client.start()
        for number in range(flood):
            await client.send(struct.pack("<H", number))
        error = await client.until("error")
        assert (error["code"], error["fatal"]) == ("rate_limited", False)
        await asyncio.sleep(1.1)  # the bucket refills: audio passes again
        await client.send(marker)
        await client.send({"type": "stop"})
        await client.until("ended")
    rate_errors = [e for e in client.events if e.get("code") == "rate_limited"]
    assert len(rate_errors) <= 2
    echoed = client.received_pcm()
    assert echoed.endswith(marker)
    numbers = list(struct.unpack(f"<{(len(echoed) - len(marker)) // 2}H", echoed[:-len(marker)]))
    burst = 50 * 5  # S2ST_WS_MAX_FRAMES_PER_SECOND x S2ST_WS_BURST_SECONDS
    assert numbers[:burst] == list(range(burst))  # the burst allowance passes whole, in order
    assert numbers == sorted(set(numbers)) and len(numbers) < flood  # the rest: some dropped, none reordered


def test_languages_api_needs_the_token_too(guarded_gateway):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{guarded_gateway.base_url}/api/languages", timeout=5)
    assert refused.value.code == 401
    with urllib.request.urlopen(f"{guarded_gateway.base_url}/api/languages?token={STATIC_TOKEN}", timeout=5) as ok:
        assert ok.status == 200


async def use_and_refuse_tokens(gateway) -> str:
    """Open sessions with each kind of token, have a wrong one refused, and wait until the refusal is logged: the
    gateway has then logged what these requests make it log. Each test that reads the log calls it itself, so it
    holds whatever ran before."""
    refusals = gateway.log().count('"refused a WebSocket"')
    session_token = mint_token(SECRET, ttl_seconds=60)
    for url, headers in [(f"{gateway.ws_url}?token={STATIC_TOKEN}", None),
                         (f"{gateway.ws_url}?token={session_token}", None),
                         (gateway.ws_url, {"Authorization": f"Bearer {session_token}"})]:
        async with connect(url, additional_headers=headers) as ws:
            assert (await ProtocolClient(ws).start())["type"] == "ready"
    assert await refused_status(f"{gateway.ws_url}?token={session_token[:-4]}") == 401
    await until(lambda: gateway.log().count('"refused a WebSocket"') > refusals, what="the refusal was not logged")
    return session_token


async def test_secrets_never_reach_the_logs(guarded_gateway):
    session_token = await use_and_refuse_tokens(guarded_gateway)
    log = guarded_gateway.log()
    for secret in (SECRET, STATIC_TOKEN, session_token, session_token[:-4]):
        assert secret not in log


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
        assert await returned_audio(gateway.ws_url, b"\x05\x00" * 160) == b"\x05\x00" * 160


async def test_a_call_the_worker_fails_ends_the_session_as_internal_saying_why(tls_worker, tls_files, server_logs):
    """A worker failure with no code of its own (here: it refuses the gateway's token) reaches the client as
    `internal`, fatal, with the worker's reason; the socket stays open for another `start`."""
    cert, _ = tls_files
    env = {"S2ST_WORKER_TLS_CA": str(cert), "S2ST_WORKER_TOKEN": "not-the-worker-token"}
    with running(start_gateway(tls_worker.address, env, log_dir=server_logs)) as gateway:
        async with connect(gateway.ws_url) as ws:
            client = ProtocolClient(ws)
            error = await client.start()
            assert (error["type"], error["code"], error["fatal"]) == ("error", "internal", True)
            assert "bearer token" in error["message"]
            assert (await client.start())["code"] == "internal"  # the socket still takes a start


def test_the_container_healthcheck_speaks_tls(tls_worker, tls_files):
    cert, key = tls_files
    env = {**os.environ, "S2ST_GRPC_PORT": str(tls_worker.port), "S2ST_GRPC_TLS_CERT": str(cert)}
    result = subprocess.run([sys.executable, "-m", "inference.healthcheck"], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SERVING"


@pytest.mark.parametrize("token", ["%C3%A9", "%F0%9F%94%91", "%ED%A0%80", "%FF"], ids=["e-acute", "emoji", "surrogate",
                                                                                    "invalid-utf8"])
async def test_a_non_ascii_token_is_refused_with_401_not_a_server_error(guarded_gateway, token):
    import urllib.error
    import urllib.request

    assert await refused_status(f"{guarded_gateway.ws_url}?token={token}") == 401
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{guarded_gateway.base_url}/api/languages?token={token}", timeout=5)
    assert refused.value.code == 401


async def test_refused_handshakes_are_logged_below_warning(guarded_gateway):
    import json

    await use_and_refuse_tokens(guarded_gateway)
    records = [json.loads(line) for line in guarded_gateway.log().splitlines() if line.startswith("{")]
    assert any(r["msg"] == "refused a WebSocket" for r in records)
    assert not [r for r in records if r["level"] in ("error", "critical")], guarded_gateway.log()[-3000:]


async def test_a_page_on_another_host_name_cannot_reach_the_gateway_dns_rebinding(echo_gateway):
    """The attacker's page sends its own name as Host and as Origin: the origin check alone would pass it."""
    import urllib.error
    import urllib.request

    port = echo_gateway.port
    assert await refused_status(f"ws://attacker.example:{port}/ws", host="127.0.0.1", port=port,
                                origin=f"http://attacker.example:{port}") == 400
    request = urllib.request.Request(f"{echo_gateway.base_url}/api/languages",
                                     headers={"Host": f"attacker.example:{port}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
    async with connect(f"ws://localhost:{port}/ws", host="127.0.0.1", port=port,
                       origin=f"http://localhost:{port}") as ws:
        assert (await ProtocolClient(ws).start())["type"] == "ready"


async def test_the_public_name_is_allowed_when_configured(echo_worker, server_logs):
    env = {"S2ST_ALLOWED_HOSTS": "translate.example.com"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:
        async with connect(f"ws://translate.example.com:{gateway.port}/ws", host="127.0.0.1", port=gateway.port,
                           origin=f"http://translate.example.com:{gateway.port}") as ws:
            assert (await ProtocolClient(ws).start())["type"] == "ready"


def test_a_missing_worker_is_reported_without_its_address(server_logs):
    import json
    import urllib.error
    import urllib.request

    from harness.servers import free_port

    port = free_port()
    with running(start_gateway(f"127.0.0.1:{port}", log_dir=server_logs)) as gateway:
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(f"{gateway.base_url}/api/languages", timeout=10)
        body = json.loads(failed.value.read())
    assert failed.value.code == 503 and body["error"] == "worker_unavailable"
    assert str(port) not in body["message"] and "127.0.0.1" not in body["message"]


def raw_request(port: int, head: bytes) -> bytes:
    """Send a request head on a raw socket; return what the server answered before closing."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(head)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole head is sent
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("head", [
    b"GET /" + b"a" * 16_384 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * (4 << 20) + b"\r\n\r\n",
    # Under the head limit, but beyond what the WebSocket layer parses again on an upgrade (it used to hang):
    b"GET /ws?token=" + b"t" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n",
], ids=["16-KB-request-line", "4-MiB-header", "9-KB-upgrade-line", "200-upgrade-headers"])
def test_oversized_request_heads_get_431(echo_gateway, head):
    before = echo_gateway.rss_mb()
    answer = raw_request(echo_gateway.port, head)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert echo_gateway.rss_mb() - before < 8
