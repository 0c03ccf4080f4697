"""Who may open a session, and what that session may do.

Both kinds of credential are off unless configured:
- **JWT session tokens** (S2ST_JWT_*), minted by the operator's backend or identity
  provider with any JWT library: HS256 with a shared secret, or RS256/ES256
  checked against a public key file or a JWKS URL (keys looked up by `kid`).
  Required claims `exp` and `aud` (and `iss` when S2ST_JWT_ISSUER is set);
  optional `nbf`, `sub` (the session's client label in logs) and the `s2st`
  claim of scopes the gateway enforces (see ``Grant``).
- **Static API tokens** (S2ST_API_TOKENS) for trusted server-side clients: no scopes.

A browser passes its token as `?token=` on /ws; other clients may send
`Authorization: Bearer`. A JWT is checked at the handshake only: a session
opened with a valid token runs to its own end (bounded by `max_session_seconds`).
Mint one for testing with `python -m gateway.auth --ttl 300`.
"""

from __future__ import annotations

import argparse
import dataclasses
import hmac
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from gateway.jwks import JwksKeys
from gateway.protocol import ProtocolError, Start
from s2st.runtime.settings import env
from s2st.v1.limits import MAX_CLIENT_LABEL_BYTES, MAX_LANGUAGE_CODE_BYTES

SCOPE_CLAIM = "s2st"
SCOPE_KEYS = frozenset({"target_languages", "max_session_seconds", "engines", "room", "room_role"})
ROOM_ROLES = ("speaker", "listener")
MAX_TOKEN_CHARS = 8000  # fits the 8 KB request line a WebSocket upgrade may have
MAX_LISTED_SCOPES = 256
MAX_ROOM_ID_CHARS = 128
MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")


class InvalidToken(ValueError):
    """A presented token that opens nothing; the message says why (for the log, not the client)."""


@dataclass(frozen=True)
class Grant:
    """What a token lets its bearer do. None / empty: no limit of that kind.

    Scopes come from the token's `s2st` claim: `target_languages` (list of
    codes), `max_session_seconds` (number > 0), `engines` (list of engine
    names), `room` and `room_role` (`speaker` or `listener`; rooms read them,
    and a listener may not open a session that speaks).
    """

    subject: str = ""
    target_languages: frozenset[str] | None = None
    max_session_seconds: float | None = None
    engines: frozenset[str] | None = None
    room: str = ""
    room_role: str = ""

    def admit(self, start: Start) -> Start:
        """The start as this grant runs it (its subject as the client label), or ProtocolError(`forbidden`)."""
        if self.room_role == "listener":
            raise ProtocolError("forbidden", "this token only lets you listen; it cannot start a session")
        if self.target_languages is not None and start.target_language not in self.target_languages:
            allowed = ", ".join(sorted(self.target_languages)) or "none"
            raise ProtocolError("forbidden", f"this token does not allow target language {start.target_language!r} "
                                f"(allowed: {allowed})")
        return dataclasses.replace(start, client_label=self.subject) if self.subject else start

    def check_engine(self, engine: str) -> None:
        """Raise ProtocolError(`forbidden`) when the engine that accepted the session is not allowed."""
        if self.engines is not None and engine not in self.engines:
            raise ProtocolError("forbidden", f"this token does not allow the {engine!r} engine")


UNRESTRICTED = Grant()


@dataclass(frozen=True)
class JwtSettings:
    """How JWTs are checked (GatewayConfig's S2ST_JWT_* values)."""

    secret: str = env("S2ST_JWT_SECRET", "")
    public_key_file: str = env("S2ST_JWT_PUBLIC_KEY_FILE", "")
    jwks_url: str = env("S2ST_JWT_JWKS_URL", "")
    audience: str = env("S2ST_JWT_AUDIENCE", "s2st")
    issuer: str = env("S2ST_JWT_ISSUER", "")
    leeway_seconds: float = env("S2ST_JWT_LEEWAY_SECONDS", 30.0)
    jwks_cache_seconds: float = env("S2ST_JWT_JWKS_CACHE_SECONDS", 300.0)

    @property
    def enabled(self) -> bool:
        return bool(self.secret or self.public_key_file or self.jwks_url)

    def __repr__(self) -> str:  # never print the secret
        return f"JwtSettings(audience={self.audience!r}, jwks_url={self.jwks_url!r})"


class JwtVerifier:
    """Checks JWTs with the configured keys and reads their grant."""

    def __init__(self, settings: JwtSettings) -> None:
        self._settings = settings
        if settings.secret and len(settings.secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"S2ST_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        self._public_key: Any = None
        self._public_algorithm = ""
        if settings.public_key_file:
            self._public_key = load_pem_public_key(Path(settings.public_key_file).read_bytes())
            self._public_algorithm = signing_algorithm(self._public_key)
        self._jwks = JwksKeys(settings.jwks_url, settings.jwks_cache_seconds) if settings.jwks_url else None

    async def warm_up(self) -> None:
        """Fetch the JWKS ahead of the first token (a failure is logged, and retried on use)."""
        if self._jwks is not None:
            await self._jwks.refresh()

    async def grant(self, token: str) -> Grant:
        """The grant of a valid token; raises InvalidToken otherwise, whatever the token holds."""
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken(f"longer than {MAX_TOKEN_CHARS} characters")
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            key = await self._key(algorithm, header.get("kid"))
            claims = jwt.decode(
                token, key, algorithms=[algorithm], audience=self._settings.audience,
                issuer=self._settings.issuer or None, leeway=self._settings.leeway_seconds,
                options={"require": ["exp", "aud", *(["iss"] if self._settings.issuer else [])]},
            )
        except jwt.PyJWTError as error:  # also for odd payloads (`exp` of Infinity, deep nesting): fuzz-tested
            raise InvalidToken(f"{type(error).__name__}: {error}") from None
        return grant_from_claims(claims)

    async def _key(self, algorithm: object, kid: object) -> Any:
        if algorithm == "HS256" and self._settings.secret:
            return self._settings.secret
        if algorithm == self._public_algorithm and self._public_key is not None:
            return self._public_key
        if algorithm in ASYMMETRIC_ALGORITHMS and self._jwks is not None:
            if kid is not None and not isinstance(kid, str):
                raise InvalidToken("the kid header must be a string")
            key = await self._jwks.key(kid)
            if key is None:
                raise InvalidToken(f"no published key has kid {kid!r}")
            if key.algorithm_name != algorithm:
                raise InvalidToken(f"key {kid!r} is for {key.algorithm_name}, not {algorithm}")
            return key.key
        raise InvalidToken(f"tokens signed with {algorithm!r} are not accepted here")


def signing_algorithm(key: Any) -> str:
    """The JWT algorithm of a public or private key: RS256 for RSA, ES256 for EC P-256."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise ValueError("keys must be RSA (RS256) or EC P-256 (ES256)")


def grant_from_claims(claims: Mapping[str, Any]) -> Grant:
    """Read `sub` and the `s2st` scopes of verified claims; a malformed one makes the token invalid."""
    subject = claims.get("sub", "")
    if not _short_text(subject, MAX_CLIENT_LABEL_BYTES):
        raise InvalidToken(f"sub must be text of at most {MAX_CLIENT_LABEL_BYTES} bytes")
    scopes = claims.get(SCOPE_CLAIM, {})
    if not isinstance(scopes, dict):
        raise InvalidToken(f"the {SCOPE_CLAIM} claim must be an object")
    if unknown := set(scopes) - SCOPE_KEYS:  # a scope this gateway cannot enforce must not be ignored
        raise InvalidToken(f"unknown scopes {sorted(map(str, unknown))}")
    seconds = scopes.get("max_session_seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)
                                or not 0 < seconds < math.inf):
        raise InvalidToken("max_session_seconds must be a number above 0")
    room, role = scopes.get("room", ""), scopes.get("room_role", "")
    if not _short_text(room, MAX_ROOM_ID_CHARS) or role not in ("", *ROOM_ROLES):
        raise InvalidToken(f"room must be text of at most {MAX_ROOM_ID_CHARS} bytes, room_role one of {ROOM_ROLES}")
    return Grant(
        subject=subject,
        target_languages=_code_set(scopes.get("target_languages"), "target_languages"),
        max_session_seconds=float(seconds) if seconds is not None else None,
        engines=_code_set(scopes.get("engines"), "engines"),
        room=room,
        room_role=role,
    )


def _code_set(value: object, name: str) -> frozenset[str] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) > MAX_LISTED_SCOPES
            or not all(_short_text(item, MAX_LANGUAGE_CODE_BYTES) for item in value)):
        raise InvalidToken(f"{name} must be a list of at most {MAX_LISTED_SCOPES} short strings")
    return frozenset(value)


def _short_text(value: object, max_bytes: int) -> bool:
    """A str UTF-8 can encode (JSON escapes may carry lone surrogates) in at most max_bytes."""
    if not isinstance(value, str):
        return False
    try:
        return len(value.encode()) <= max_bytes
    except UnicodeEncodeError:
        return False


@dataclass
class Authenticator:
    """Turns the token a client presents into a Grant, or None when it opens nothing."""

    api_tokens: tuple[str, ...] = ()
    jwt_settings: JwtSettings = field(default_factory=JwtSettings)

    def __post_init__(self) -> None:
        self._jwt = JwtVerifier(self.jwt_settings) if self.jwt_settings.enabled else None

    @property
    def required(self) -> bool:
        return bool(self.api_tokens) or self._jwt is not None

    async def warm_up(self) -> None:
        if self._jwt is not None:
            await self._jwt.warm_up()

    async def grant(self, token: str | None) -> Grant | None:
        """The grant of a token; UNRESTRICTED when no credential is configured."""
        if not self.required:
            return UNRESTRICTED
        if not token:
            return None
        # As bytes: compare_digest refuses str with non-ASCII characters.
        presented = token.encode("utf-8", "surrogatepass")
        if any(hmac.compare_digest(presented, known.encode()) for known in self.api_tokens):
            return UNRESTRICTED
        if self._jwt is None:
            return None
        try:
            return await self._jwt.grant(token)
        except InvalidToken:
            return None


def bearer_token(authorization: str | None, query_token: str | None) -> str | None:
    """The token from an `Authorization: Bearer` header, else from the `token` query parameter."""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return query_token


def mint_token(key: Any, ttl_seconds: float, audience: str = "s2st", *, subject: str = "", issuer: str = "",
               scopes: Mapping[str, Any] | None = None, kid: str | None = None, now: float | None = None) -> str:
    """A JWT the gateway accepts: HS256 when key is a str secret, else RS256/ES256 by the private key's type."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {"aud": audience, "iat": issued, "exp": issued + int(ttl_seconds)}
    if subject:
        claims["sub"] = subject
    if issuer:
        claims["iss"] = issuer
    if scopes:
        claims[SCOPE_CLAIM] = dict(scopes)
    algorithm = "HS256" if isinstance(key, str) else signing_algorithm(key)
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def main() -> None:
    parser = argparse.ArgumentParser(description="Mint a session token (a JWT) for /ws, for testing.")
    parser.add_argument("--ttl", type=int, default=300, help="seconds the token stays valid (default 300)")
    parser.add_argument("--sub", default="", help="subject: the client label in logs")
    parser.add_argument("--target", action="append", help="an allowed target language (repeat; default any)")
    parser.add_argument("--engine", action="append", help="an allowed engine (repeat; default any)")
    parser.add_argument("--max-seconds", type=float, help="longest session the token allows")
    parser.add_argument("--room", default="", help="room id")
    parser.add_argument("--role", choices=ROOM_ROLES, help="room role")
    parser.add_argument("--key", type=Path, help="PEM private key (RS256/ES256); default: HS256 with S2ST_JWT_SECRET")
    parser.add_argument("--kid", help="key id header, for keys published in a JWKS")
    args = parser.parse_args()
    if args.key:
        key: Any = load_pem_private_key(args.key.read_bytes(), password=None)
    elif not (key := os.environ.get("S2ST_JWT_SECRET", "")):
        raise SystemExit("set S2ST_JWT_SECRET to the gateway's secret, or pass --key")
    scopes = {"target_languages": args.target, "engines": args.engine, "max_session_seconds": args.max_seconds,
              "room": args.room or None, "room_role": args.role}
    print(mint_token(key, args.ttl, os.environ.get("S2ST_JWT_AUDIENCE", "s2st"), subject=args.sub,
                     issuer=os.environ.get("S2ST_JWT_ISSUER", ""), kid=args.kid,
                     scopes={name: value for name, value in scopes.items() if value is not None}))


if __name__ == "__main__":
    main()
