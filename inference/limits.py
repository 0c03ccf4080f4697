"""The worker's checks of a SessionConfig (documented in proto/s2st/v1/translation.proto).

The sizes both services check (audio chunk, request message, client label, language code) are the
contract's own: s2st.v1.limits.
"""

MIN_INPUT_SAMPLE_RATE = 8_000
MAX_INPUT_SAMPLE_RATE = 48_000
DEFAULT_INPUT_SAMPLE_RATE = 16_000

MAX_ENGINE_OPTIONS = 16
MAX_OPTION_BYTES = 256
