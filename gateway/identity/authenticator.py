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
Mint one for testing with `python -m gateway.identity --ttl 300` (jwt_tokens.py).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from gateway.identity.grant import UNRESTRICTED, Grant
from gateway.identity.jwt_settings import JwtSettings


@dataclass
class Authenticator:
    """Turns the token a client presents into a Grant, or None when it opens nothing."""

    api_tokens: tuple[str, ...] = ()
    jwt_settings: JwtSettings = field(default_factory=JwtSettings)

    def __post_init__(self) -> None:
        self._jwt = None
        if self.jwt_settings.enabled:
            # Imported only when configured: PyJWT loads cryptography's OpenSSL, about 10 MB of the gateway's RSS.
            from gateway.identity.jwt_tokens import JwtVerifier

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
