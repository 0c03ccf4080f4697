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
Mint one for testing with `python -m gateway.auth --ttl 300` (gateway/jwt_tokens.py).
"""

from __future__ import annotations

import dataclasses
import hmac
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from gateway.protocol import ProtocolError, Start
from s2st.runtime.settings import env

ROOM_ROLES = ("speaker", "listener")
MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")  # names of this machine: trusted for Host and plain-http JWKS


@dataclass(frozen=True)
class Grant:
    """What a token lets its bearer do. None / empty: no limit of that kind.

    Scopes come from the token's `s2st` claim: `target_languages` (list of
    codes), `max_session_seconds` (number > 0), `engines` (list of engine
    names), `room` (the only room id the token may join or speak in: no session, no room of its own) and
    `room_role` (`listener`: may only listen, never send speech; `speaker`: anything).
    Every scope holds in every role: a listener's too (gateway/room_seat.py).
    """

    subject: str = ""
    target_languages: frozenset[str] | None = None
    max_session_seconds: float | None = None
    engines: frozenset[str] | None = None
    room: str = ""
    room_role: str = ""

    def admit(self, start: Start) -> Start:
        """The start as this grant runs it (its subject as the client label), or ProtocolError(`forbidden`)."""
        self.check_speaking()
        self.check_unscoped_to_a_room()
        self.check_target_language(start.target_language)
        return dataclasses.replace(start, client_label=self.subject) if self.subject else start

    def check_speaking(self, room_id: str | None = None) -> None:
        """Raise ProtocolError(`forbidden`) unless this grant may send speech (a session, a room, `room_id`'s speaker)."""
        if self.room_role == "listener":
            raise ProtocolError("forbidden", "this token only lets you listen; it cannot send speech")
        if room_id is not None:
            self.check_room(room_id)

    def check_unscoped_to_a_room(self) -> None:
        """Raise ProtocolError(`forbidden`) when the token names a room: it opens no session and no other room."""
        if self.room:
            raise ProtocolError("forbidden", "this token is for one room only: it can join or speak there, "
                                "not start a session or create a room")

    def check_room(self, room_id: str) -> None:
        """Raise ProtocolError(`forbidden`) when the token names another room."""
        if self.room and self.room != room_id:
            raise ProtocolError("forbidden", "this token is for another room")

    def check_target_language(self, language: str) -> None:
        """Raise ProtocolError(`forbidden`) when the token does not allow translating into `language`."""
        if self.target_languages is not None and language not in self.target_languages:
            allowed = ", ".join(sorted(self.target_languages)) or "none"
            raise ProtocolError("forbidden", f"this token does not allow target language {language!r} "
                                f"(allowed: {allowed})")

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

    def __post_init__(self) -> None:
        if self.secret and len(self.secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"S2ST_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        url = urlsplit(self.jwks_url)
        local = url.scheme == "http" and url.hostname in LOOPBACK_HOSTS
        if self.jwks_url and not (url.scheme == "https" or local):
            raise ValueError("S2ST_JWT_JWKS_URL must be https:// (http:// only on a loopback address)")

    @property
    def enabled(self) -> bool:
        return bool(self.secret or self.public_key_file or self.jwks_url)

    def __repr__(self) -> str:  # never print the secret
        return f"JwtSettings(audience={self.audience!r}, jwks_url={self.jwks_url!r})"


@dataclass
class Authenticator:
    """Turns the token a client presents into a Grant, or None when it opens nothing."""

    api_tokens: tuple[str, ...] = ()
    jwt_settings: JwtSettings = field(default_factory=JwtSettings)

    def __post_init__(self) -> None:
        self._jwt = None
        if self.jwt_settings.enabled:
            # Imported only when configured: PyJWT loads cryptography's OpenSSL, about 10 MB of the gateway's RSS.
            from gateway.jwt_tokens import JwtVerifier

            self._jwt = JwtVerifier(self.jwt_settings)

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
        return await self._jwt.grant(token)


def bearer_token(authorization: str | None, query_token: str | None) -> str | None:
    """The token from an `Authorization: Bearer` header, else from the `token` query parameter."""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return query_token


if __name__ == "__main__":  # `python -m gateway.auth`: mint a token for testing
    from gateway.jwt_tokens import main

    main()
