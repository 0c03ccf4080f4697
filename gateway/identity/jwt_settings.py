"""How JWT session tokens are checked: the S2ST_JWT_* settings."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from s2st.runtime.settings import FromEnviron, env

MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")  # names of this machine: trusted for Host and plain-http JWKS


@dataclass(frozen=True)
class JwtSettings(FromEnviron):
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
