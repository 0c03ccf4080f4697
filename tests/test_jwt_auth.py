"""JWT session tokens: what opens /ws (401 otherwise), the scopes a session is held to, JWKS key rotation."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from harness.servers import GATEWAY_PROCESSES, REPO_ROOT, free_port, running, start_gateway
from harness.wsclient import ProtocolClient, connect

from gateway.identity.authenticator import Authenticator
from gateway.identity.grant import Grant
from gateway.identity.jwt_settings import JwtSettings
from gateway.identity.jwks import MIN_REFETCH_SECONDS
from gateway.identity.jwt_tokens import MAX_TOKEN_CHARS, mint_token

SECRET = "jwt-test-secret-0123456789-0123456789"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict) -> str:
    """An `alg: none` token: header and claims, no signature."""
    return f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}."


def hs256_keyed_with(key: bytes, claims: dict) -> str:
    """The algorithm-confusion forgery: HS256 with the server's *public* key as the HMAC secret."""
    signed = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signed}.{b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())}"


def claims(**extra) -> dict:
    now = int(time.time())
    return {"aud": "s2st", "exp": now + 60, **extra}


@pytest.fixture(scope="module")
def rsa_public_key_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("jwt") / "rsa.pub.pem"
    path.write_bytes(public_pem(RSA_KEY))
    return path


@pytest.fixture(scope="module")
def jwt_gateway(echo_worker, server_logs, rsa_public_key_file):
    env = {"S2ST_JWT_SECRET": SECRET, "S2ST_JWT_PUBLIC_KEY_FILE": str(rsa_public_key_file)}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:
        yield gateway


async def handshake_status(url: str) -> int:
    """101 when the socket opens, else the HTTP status of the refusal."""
    try:
        async with connect(url):
            return 101
    except websockets.InvalidStatus as refused:
        return refused.response.status_code


BAD_TOKENS = {
    "garbage": lambda: "not-a-jwt",
    "three empty parts": lambda: "..",
    "expired beyond the leeway": lambda: mint_token(SECRET, ttl_seconds=-60),
    "wrong secret": lambda: mint_token("another-secret-0123456789-0123456789", 60),
    "wrong audience": lambda: mint_token(SECRET, 60, audience="someone-else"),
    "no audience": lambda: jwt.encode({"exp": int(time.time()) + 60}, SECRET, algorithm="HS256"),
    "no expiry": lambda: jwt.encode({"aud": "s2st"}, SECRET, algorithm="HS256"),
    "not yet valid": lambda: jwt.encode(claims(nbf=int(time.time()) + 600), SECRET, algorithm="HS256"),
    "alg none": lambda: unsigned(claims()),
    "HS256 keyed with the public key": lambda: hs256_keyed_with(public_pem(RSA_KEY), claims()),
    "RS256 from another key": lambda: mint_token(OTHER_RSA_KEY, 60),
    "ES256, not configured": lambda: mint_token(EC_KEY, 60),
    "HS512": lambda: jwt.encode(claims(), SECRET * 2, algorithm="HS512"),
    "unknown scope": lambda: mint_token(SECRET, 60, scopes={"admin": True}),
    "malformed scope": lambda: mint_token(SECRET, 60, scopes={"target_languages": "spa"}),
    "subject too long": lambda: mint_token(SECRET, 60, subject="x" * 65),
    "lone surrogate subject": lambda: jwt.encode(claims(sub="\ud800"), SECRET, algorithm="HS256"),
    "oversized": lambda: oversized_token(),
    # RFC 7519 2: a NumericDate is a JSON number; PyJWT alone would read these strings as times.
    "exp as a numeric string": lambda: jwt.encode({**claims(), "exp": str(int(time.time()) + 60)}, SECRET,
                                                  algorithm="HS256"),
    "nbf as a numeric string": lambda: jwt.encode(claims(nbf=str(int(time.time()) - 10)), SECRET, algorithm="HS256"),
    "iat as a numeric string": lambda: jwt.encode(claims(iat=str(int(time.time()))), SECRET, algorithm="HS256"),
}


def oversized_token() -> str:
    """A valid token, but longer than any the gateway reads (and short enough for the request line)."""
    token = jwt.encode({**claims(), "padding": "p" * 6000}, SECRET, algorithm="HS256")
    assert MAX_TOKEN_CHARS < len(token) < 8150
    return token


@pytest.mark.parametrize("make_token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_every_bad_token_is_refused_with_401(jwt_gateway, make_token):
    assert await handshake_status(f"{jwt_gateway.ws_url}?token={make_token()}") == 401


@pytest.mark.parametrize("key", [SECRET, RSA_KEY], ids=["HS256", "RS256"])
async def test_a_valid_jwt_opens_a_session(jwt_gateway, key):
    async with connect(f"{jwt_gateway.ws_url}?token={mint_token(key, 60)}") as ws:
        assert (await ProtocolClient(ws).start())["type"] == "ready"


async def test_with_an_issuer_set_a_token_of_another_issuer_or_none_is_refused_with_401(echo_worker, server_logs):
    env = {"S2ST_JWT_SECRET": SECRET, "S2ST_JWT_ISSUER": "https://id.example.org"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs, processes=1)) as gateway:
        for issuer, status in [("https://id.example.org", 101), ("https://evil.example.org", 401), ("", 401)]:
            token = mint_token(SECRET, 60, issuer=issuer)
            assert await handshake_status(f"{gateway.ws_url}?token={token}") == status, issuer


async def test_clock_skew_within_the_leeway_is_tolerated(jwt_gateway):
    expired_10s_ago = mint_token(SECRET, ttl_seconds=50, now=time.time() - 60)
    assert await handshake_status(f"{jwt_gateway.ws_url}?token={expired_10s_ago}") == 101


async def test_a_target_language_outside_the_token_is_forbidden_and_the_socket_stays_usable(jwt_gateway):
    token = mint_token(SECRET, 60, scopes={"target_languages": ["spa"]})
    async with connect(f"{jwt_gateway.ws_url}?token={token}") as ws:
        client = ProtocolClient(ws)
        refused = await client.start(target_language="fra")
        assert (refused["type"], refused["code"], refused["fatal"]) == ("error", "forbidden", False)
        assert (await client.start(target_language="spa"))["type"] == "ready"


async def test_a_listener_token_cannot_start_a_session(jwt_gateway):
    token = mint_token(SECRET, 60, scopes={"room": "standup", "room_role": "listener"})
    async with connect(f"{jwt_gateway.ws_url}?token={token}") as ws:
        refused = await ProtocolClient(ws).start()
        assert (refused["type"], refused["code"]) == ("error", "forbidden")


async def test_an_engine_outside_the_token_ends_the_session(jwt_gateway):
    token = mint_token(SECRET, 60, scopes={"engines": ["seamless"]})  # the worker serves echo
    async with connect(f"{jwt_gateway.ws_url}?token={token}") as ws:
        refused = await ProtocolClient(ws).start()
        assert (refused["type"], refused["code"], refused["fatal"]) == ("error", "forbidden", True)
        assert "echo" in refused["message"]


async def test_the_token_bounds_the_session_length(jwt_gateway):
    token = mint_token(SECRET, 60, scopes={"max_session_seconds": 1.0})
    async with connect(f"{jwt_gateway.ws_url}?token={token}") as ws:
        client = ProtocolClient(ws)
        assert (await client.start())["type"] == "ready"
        started = time.monotonic()
        error = await client.until("error", timeout=5)
        assert error["code"] == "session_too_long"
        assert 0.9 < time.monotonic() - started < 3


async def test_a_huge_session_length_in_the_token_does_not_end_the_session_at_once(jwt_gateway):
    # 1e10 s would overflow the gRPC deadline (int64 nanoseconds): the gateway clamps it instead.
    token = mint_token(SECRET, 60, scopes={"max_session_seconds": 1e10})
    async with connect(f"{jwt_gateway.ws_url}?token={token}") as ws:
        client = ProtocolClient(ws)
        assert (await client.start())["type"] == "ready"
        await client.send(b"\x01\x02" * 320)
        await client.send({"type": "stop"})
        await client.until("ended")
    assert [event for event in client.events if event["type"] == "error"] == []
    assert client.received_pcm() == b"\x01\x02" * 320  # the echo worker returned the audio


async def test_the_subject_is_the_client_label_in_the_workers_log(jwt_gateway, echo_worker):
    token = mint_token(SECRET, 60, subject="alice@example")
    async with connect(f"{jwt_gateway.ws_url}?token={token}") as ws:
        await ProtocolClient(ws).start(client_label="mallory")  # the token's identity wins over the page's label
    records = [json.loads(line) for line in echo_worker.log().splitlines() if line.startswith("{")]
    started = [r for r in records if r["msg"] == "session started"]
    assert started[-1]["client"] == "alice@example"


def test_the_mint_command_makes_tokens_the_gateway_accepts(tmp_path):
    env = {**os.environ, "S2ST_JWT_SECRET": SECRET}
    minted = subprocess.run([sys.executable, "-m", "gateway.identity", "--sub", "ops", "--target", "spa",
                             "--max-seconds", "30", "--role", "speaker"],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True).stdout.strip()
    grant = asyncio.run(Authenticator(jwt_settings=JwtSettings(secret=SECRET)).grant(minted))
    assert (grant.subject, grant.target_languages, grant.max_session_seconds, grant.room_role) == (
        "ops", frozenset({"spa"}), 30.0, "speaker")


@pytest.mark.parametrize("env, message", [
    ({"S2ST_SESSION_TOKEN_SECRET": "old"},
     "S2ST_SESSION_TOKEN_SECRET is gone: session tokens are JWTs now. Set S2ST_JWT_SECRET"),
    ({"S2ST_JWT_SECRET": "short"}, "at least 32 bytes"),
    ({"S2ST_JWT_JWKS_URL": "http://idp.example/jwks"}, "must be https://"),
], ids=["old secret", "short secret", "plain-http JWKS"])
def test_unsafe_or_outdated_auth_settings_stop_the_gateway_with_a_reason(env, message):
    result = subprocess.run([sys.executable, "-m", "gateway"], cwd=REPO_ROOT, capture_output=True, text=True,
                            env={**os.environ, "S2ST_GATEWAY_PORT": str(free_port()),
                                 "S2ST_GATEWAY_METRICS_PORT": "0", **env}, timeout=60)
    assert result.returncode != 0 and message in result.stderr, result.stderr[-2000:]


# The whole value space: whatever a client sends, or whatever a signed token carries, the answer is a grant or a
# refusal, never an exception.
FUZZ_AUTH = Authenticator(jwt_settings=JwtSettings(secret=SECRET))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text() | st.binary().map(lambda b: b.decode("latin-1")))
def test_any_text_as_a_token_is_refused_not_raised(token):
    assert asyncio.run(FUZZ_AUTH.grant(token)) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["sub", "s2st", "exp", "nbf", "aud", "iat", "iss"]) | st.text(), JSON_VALUES))
def test_any_signed_claims_give_a_grant_or_a_refusal(payload):
    token = jwt.api_jws.PyJWS().encode(json.dumps(payload, allow_nan=True).encode(), SECRET, algorithm="HS256")
    grant = asyncio.run(FUZZ_AUTH.grant(token))  # no exception escapes, whatever the claims
    assert grant is None or (isinstance(grant, Grant) and grant.subject == payload.get("sub", "")), grant


# Key rotation at an identity provider, while sessions keep opening.

class JwksServer:
    """A real HTTP JWKS endpoint on loopback whose key set the test changes; counts its fetches."""

    def __init__(self) -> None:
        self.keys: dict[str, object] = {}
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.fetches += 1
                body = json.dumps({"keys": [
                    {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "RS256",
                     "use": "sig"} for kid, key in outer.keys.items()]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"

    def close(self) -> None:
        self._server.shutdown()


async def test_keys_rotating_under_load_never_refuse_a_token_of_a_published_key(echo_worker, server_logs):
    old, new = RSA_KEY, OTHER_RSA_KEY
    idp = JwksServer()
    idp.keys = {"old": old}
    env = {"S2ST_JWT_JWKS_URL": idp.url, "S2ST_JWT_JWKS_CACHE_SECONDS": "3", "S2ST_MAX_CONNECTIONS_PER_IP": "0"}
    try:
        with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:

            async def open_many(kid: str, key, count: int = 20) -> list[int]:
                return await asyncio.gather(*(handshake_status(f"{gateway.ws_url}?token={mint_token(key, 60, kid=kid)}")
                                              for _ in range(count)))

            assert await open_many("old", old) == [101] * 20
            # The provider publishes the new key, then signs with it: the first token with the unknown kid fetches
            # the set again (once, for all the handshakes waiting on it) while old-key tokens keep working.
            idp.keys = {"old": old, "new": new}
            await asyncio.sleep(MIN_REFETCH_SECONDS)
            fetches = idp.fetches
            results = await asyncio.gather(open_many("new", new), open_many("old", old))
            assert results == [[101] * 20, [101] * 20]
            assert 1 <= idp.fetches - fetches <= GATEWAY_PROCESSES  # each serving process keeps its own keys
            # The old key is withdrawn: once the cache expires, its tokens are refused.
            idp.keys = {"new": new}
            await asyncio.sleep(3.2)
            assert await open_many("old", old, 5) == [401] * 5
            assert await open_many("new", new, 5) == [101] * 5
            assert await open_many("nobody", new, 5) == [401] * 5  # an unknown kid gets no key
    finally:
        idp.close()
