"""Public keys of an identity provider, fetched from its JWKS URL and cached, looked up by `kid`.

Rotation the way identity providers do it: a new key appears in the set before
tokens are signed with it, an old one leaves after its tokens expired. So the
set is fetched again when the cache is older than S2ST_JWT_JWKS_CACHE_SECONDS,
or when a token names a `kid` the cache lacks (at most once per
MIN_REFETCH_SECONDS, so made-up kids cannot turn the gateway into a request
flood against the provider). One fetch runs at a time; concurrent handshakes
wait for it. A failed fetch keeps the keys known so far.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt

log = logging.getLogger("gateway.jwks")

MIN_REFETCH_SECONDS = 2.0
FETCH_TIMEOUT_SECONDS = 5.0
MAX_JWKS_BYTES = 1 << 20


def fetch_json(url: str) -> Any:
    """GET url and parse its JSON body (blocking: run it in a thread)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as reply:
        body = reply.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError(f"the JWKS document is larger than {MAX_JWKS_BYTES} bytes")
    return json.loads(body)


class JwksKeys:
    """The signing keys published at one JWKS URL."""

    def __init__(self, url: str, cache_seconds: float, fetch: Callable[[str], Any] = fetch_json) -> None:
        self._url = url
        self._cache_seconds = cache_seconds
        self._fetch = fetch
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")  # last attempt, successful or not
        self._refreshing: asyncio.Task[None] | None = None

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        """The key with this `kid` (None: the set's only key without one), or None when the provider has none."""
        age = asyncio.get_running_loop().time() - self._fetched_at
        if age >= self._cache_seconds or (kid not in self._keys and age >= MIN_REFETCH_SECONDS):
            await self.refresh()
        return self._keys.get(kid)

    async def refresh(self) -> None:
        """Fetch the set now, or wait for the fetch already under way."""
        if self._refreshing is None:
            self._refreshing = asyncio.create_task(self._fetch_keys())
        refreshing = self._refreshing
        try:
            await asyncio.shield(refreshing)
        finally:
            if refreshing.done() and self._refreshing is refreshing:
                self._refreshing = None

    async def _fetch_keys(self) -> None:
        try:
            document = await asyncio.to_thread(self._fetch, self._url)
            key_set = jwt.PyJWKSet.from_dict(document)
        except Exception as error:  # network, JSON, or a set without one usable key: keep what we had
            log.warning("could not refresh the JWKS; keeping the keys known so far",
                        extra={"url": self._url, "error": f"{type(error).__name__}: {error}",
                               "known_keys": len(self._keys)})
        else:
            self._keys = {key.key_id: key for key in key_set.keys}
            log.info("JWKS refreshed", extra={"url": self._url, "kids": sorted(map(str, self._keys))})
        finally:
            self._fetched_at = asyncio.get_running_loop().time()
