"""Sizes the s2st.v1 contract promises (translation.proto states them; a test checks it says these)."""

MAX_CHUNK_BYTES = 65_536
"""Largest AudioChunk.pcm a worker accepts, and so the largest audio frame a gateway relays."""

MAX_REQUEST_MESSAGE_BYTES = MAX_CHUNK_BYTES + 4_096
"""Largest TranslateRequest message the worker's transport takes (a chunk plus room for its framing)."""
