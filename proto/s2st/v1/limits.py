"""Sizes the s2st.v1 contract promises (translation.proto states them; a test checks it says these)."""

MAX_CHUNK_BYTES = 65_536
"""Largest AudioChunk.pcm a worker accepts, and so the largest audio frame a gateway relays."""

MAX_REQUEST_MESSAGE_BYTES = MAX_CHUNK_BYTES + 4_096
"""Largest TranslateRequest message the worker's transport takes (a chunk plus room for its framing)."""

MAX_CLIENT_LABEL_BYTES = 64
"""Longest SessionConfig.client_label (UTF-8 bytes); a gateway's JWT subjects obey it too."""

MAX_LANGUAGE_CODE_BYTES = 16
"""Longest language code in a SessionConfig (UTF-8 bytes)."""

MIN_KEEPALIVE_PING_INTERVAL_MS = 10_000
"""Clients may send HTTP/2 keepalive pings this often, with or without calls, whether or not the worker sent
anything meanwhile (gRPC's default policy would answer with GOAWAY "too many pings", ending every stream on
the connection); the gateway pings every 20 s."""
