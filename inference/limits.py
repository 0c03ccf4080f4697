"""Limits of the gRPC contract (documented in proto/s2st/v1/translation.proto)."""

MAX_CHUNK_BYTES = 65_536
"""Largest AudioChunk.pcm accepted."""

MIN_INPUT_SAMPLE_RATE = 8_000
MAX_INPUT_SAMPLE_RATE = 48_000
DEFAULT_INPUT_SAMPLE_RATE = 16_000

MAX_ENGINE_OPTIONS = 16
MAX_OPTION_BYTES = 256
MAX_CLIENT_LABEL_BYTES = 64
MAX_LANGUAGE_CODE_BYTES = 16

OUTPUT_CHUNK_MS = 250
"""Translated speech is sent in chunks of at most this length."""

MAX_COALESCED_INPUT_MS = 2_000
"""When a stream falls behind, queued audio is handed to the engine in one call of at most this length."""
