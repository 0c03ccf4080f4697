"""Who may open a session: static API tokens and short-lived signed session tokens.

Both are off unless configured. A static token (S2ST_API_TOKENS) suits a
trusted server-side client; a browser gets a short-lived session token minted
by the operator's own backend with the shared secret (S2ST_SESSION_TOKEN_SECRET)
and passes it as `?token=` on /ws. Mint one with `python -m gateway.auth --ttl 300`.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import secrets
import time

TOKEN_VERSION = "v1"


def mint_session_token(secret: str, ttl_seconds: int, now: float | None = None) -> str:
    """A token valid for ttl_seconds: v1.<expiry>.<nonce>.<hmac-sha256>."""
    expires = int((now if now is not None else time.time()) + ttl_seconds)
    payload = f"{TOKEN_VERSION}.{expires}.{secrets.token_hex(8)}"
    return f"{payload}.{_sign(secret, payload)}"


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def session_token_valid(token: str, secret: str, now: float | None = None) -> bool:
    """True for an unexpired token signed with secret."""
    payload, _, signature = token.rpartition(".")
    parts = payload.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_VERSION or not parts[1].isdigit():
        return False
    if not hmac.compare_digest(_sign(secret, payload).encode(), signature.encode("utf-8", "surrogatepass")):
        return False
    return int(parts[1]) >= (now if now is not None else time.time())


class Authenticator:
    """Checks the token a client presents against the configured static tokens and secret."""

    def __init__(self, api_tokens: tuple[str, ...], session_secret: str) -> None:
        self._api_tokens = api_tokens
        self._session_secret = session_secret

    @property
    def required(self) -> bool:
        return bool(self._api_tokens or self._session_secret)

    def allows(self, token: str | None) -> bool:
        if not self.required:
            return True
        if not token:
            return False
        # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, an HTTP 500).
        presented = token.encode("utf-8", "surrogatepass")
        if any(hmac.compare_digest(presented, known.encode()) for known in self._api_tokens):
            return True
        return bool(self._session_secret) and session_token_valid(token, self._session_secret)


def bearer_token(authorization: str | None, query_token: str | None) -> str | None:
    """The token from an `Authorization: Bearer` header, else from the `token` query parameter."""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return query_token


def main() -> None:
    parser = argparse.ArgumentParser(description="Mint a short-lived session token for /ws.")
    parser.add_argument("--ttl", type=int, default=300, help="seconds the token stays valid (default 300)")
    args = parser.parse_args()
    secret = os.environ.get("S2ST_SESSION_TOKEN_SECRET")
    if not secret:
        raise SystemExit("set S2ST_SESSION_TOKEN_SECRET to the gateway's secret")
    print(mint_session_token(secret, args.ttl))


if __name__ == "__main__":
    main()
