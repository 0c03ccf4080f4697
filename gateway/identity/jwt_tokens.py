"""JWT session tokens: checking them (HS256, RS256/ES256 by public key or JWKS), reading their grant, minting them.

Imported only when a S2ST_JWT_* key is configured (authenticator.py); its `main` is
`python -m gateway.identity`, which mints a token for testing.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from gateway.identity.grant import ROOM_ROLES, Grant
from gateway.identity.jwks import JwksKeys
from gateway.identity.jwt_settings import JwtSettings
from gateway.protocol import utf8_size
from s2st.v1.limits import MAX_CLIENT_LABEL_BYTES, MAX_LANGUAGE_CODE_BYTES

SCOPE_CLAIM = "s2st"
SCOPE_KEYS = frozenset({"target_languages", "max_session_seconds", "engines", "room", "room_role"})
MAX_TOKEN_CHARS = 8000  # fits the 8 KB request line a WebSocket upgrade may have
MAX_LISTED_SCOPES = 256
MAX_ROOM_ID_CHARS = 128
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
NUMERIC_DATE_CLAIMS = ("exp", "nbf", "iat")
# Longer session limits count as this one (a year; the workers' own S2ST_MAX_SESSION_SECONDS still applies): a
# gRPC deadline of now + 1e10 s overflows int64 nanoseconds and would end the session at once.
MAX_SESSION_SECONDS_SCOPE = 365 * 86_400.0

log = logging.getLogger("gateway.identity.jwt_tokens")


class InvalidToken(ValueError):
    """A presented token that opens nothing; the message says why (for the log, not the client)."""


class JwtVerifier:
    """Checks JWTs with the configured keys and reads their grant."""

    def __init__(self, settings: JwtSettings) -> None:
        self._settings = settings
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

    async def grant(self, token: str) -> Grant | None:
        """The grant of a valid token; None otherwise (the reason is logged at debug), whatever the token holds."""
        try:
            return await self._checked_grant(token)
        except InvalidToken as refusal:
            log.debug("token refused", extra={"reason": str(refusal)})
            return None

    async def _checked_grant(self, token: str) -> Grant:
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
        check_numeric_dates(claims)
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


def check_numeric_dates(claims: Mapping[str, Any]) -> None:
    """RFC 7519 2: `exp`, `nbf` and `iat` are JSON numbers; PyJWT also reads numeric strings as times."""
    for name in NUMERIC_DATE_CLAIMS:
        value = claims.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidToken(f"{name} must be a JSON number (a NumericDate)")


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
        max_session_seconds=min(float(seconds), MAX_SESSION_SECONDS_SCOPE) if seconds is not None else None,
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
    """A str UTF-8 can encode in at most max_bytes."""
    return isinstance(value, str) and (size := utf8_size(value)) is not None and size <= max_bytes


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
    try:
        settings = JwtSettings.from_environ(os.environ)
    except ValueError as exc:  # the gateway would refuse these settings too
        raise SystemExit(str(exc)) from None
    if args.key:
        key: Any = load_pem_private_key(args.key.read_bytes(), password=None)
    elif not (key := settings.secret):
        raise SystemExit("set S2ST_JWT_SECRET to the gateway's secret, or pass --key")
    scopes = {"target_languages": args.target, "engines": args.engine, "max_session_seconds": args.max_seconds,
              "room": args.room or None, "room_role": args.role}
    print(mint_token(key, args.ttl, settings.audience, subject=args.sub, issuer=settings.issuer, kid=args.kid,
                     scopes={name: value for name, value in scopes.items() if value is not None}))


if __name__ == "__main__":
    main()
