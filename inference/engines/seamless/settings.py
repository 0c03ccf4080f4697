"""Settings of the seamless engine, from S2ST_SEAMLESS_* environment variables.

Defaults are upstream's streaming evaluation, the configuration its published figures
come from (facebookresearch/seamless_communication 90e2b57,
src/seamless_communication/cli/streaming/evaluate.py), and otherwise the agents' own
``add_args`` defaults (src/seamless_communication/streaming/agents/*.py). The
"upstream" column names that value and where it is set; docs/seamless.md says what
each trades.

| variable | default | upstream | agent argument |
|---|---|---|---|
| S2ST_SEAMLESS_DEVICE | cuda:0 | cuda:0 (evaluation) | --device |
| S2ST_SEAMLESS_DTYPE | fp16 | fp16 (evaluation) | --dtype (fp16 or fp32; fp16 is used only on a GPU) |
| S2ST_SEAMLESS_UNITY_MODEL | seamless_streaming_unity | seamless_streaming_unity (add_args) | --unity-model-name |
| S2ST_SEAMLESS_MONOTONIC_DECODER | seamless_streaming_monotonic_decoder | the same (add_args) | --monotonic-decoder-model-name |
| S2ST_SEAMLESS_VOCODER | vocoder_v2 | vocoder_v2 (add_args) | --vocoder-name |
| S2ST_SEAMLESS_DECISION_THRESHOLD | 0.5 | 0.5 (evaluation and add_args) | --decision-threshold (higher: writes later) |
| S2ST_SEAMLESS_MIN_STARTING_WAIT_W2VBERT | 192 | 192 (evaluation) | --min-starting-wait-w2vbert |
| S2ST_SEAMLESS_MAX_LEN_A | 0 | 0 (evaluation; add_args 1) | --max-len-a |
| S2ST_SEAMLESS_MAX_LEN_B | 100 | 100 (evaluation; add_args 200) | --max-len-b (tokens per segment) |
| S2ST_SEAMLESS_MAX_CONSECUTIVE_WRITE | 50 | 50 (add_args) | --max-consecutive-write |
| S2ST_SEAMLESS_MIN_UNIT_CHUNK_SIZE | 50 | 50 (evaluation, s2st) | --min-unit-chunk-size |
| S2ST_SEAMLESS_SILENCE_LIMIT_MS | 700 | 700 (add_args) | --silence-limit-ms (VAD: silence that ends a segment) |
| S2ST_SEAMLESS_SPEECH_SOFT_LIMIT_MS | 12000 | 12000 (add_args) | --speech-soft-limit-ms (VAD: segment more eagerly after this) |
| S2ST_SEAMLESS_INIT_SPEECH_PROB | 0.15 | 0.15 (add_args) | --init-speech-prob |
| S2ST_SEAMLESS_CHUNK_SIZE_SAMPLES | 5120 | 5120 (add_args; evaluation pushes 320 ms) | --chunk-size-samples (320 ms handed to the encoder) |
| S2ST_SEAMLESS_MAX_SEGMENT_SECONDS | 20 | none | ours: a segment is ended after this much speech (the encoder re-reads the whole segment each step) |
| S2ST_SEAMLESS_BATCHING | true | none (one stream per agent) | ours: step every stream with work together, the encoder batched across them; false: one stream at a time |

Always passed: `--no-early-stop` (as upstream's evaluation), `--detokenize-only`
(add_args default), `--window-size-samples 512` (add_args default), and
`--block-ngrams` (ours: upstream's evaluation leaves it off; it forces a read when
the decoder is about to repeat an n-gram, a guard against decoding loops).
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.audio import SILERO_WINDOW_SAMPLES
from inference.engines.seamless.bake import MONOTONIC_DECODER, UNITY_MODEL, VOCODER
from s2st.runtime.settings import FromEnviron, env

SAMPLE_RATE = 16_000  # the w2v-BERT encoder's input and vocoder_v2's output rate


@dataclass(frozen=True)
class SeamlessSettings(FromEnviron):
    device: str = env("S2ST_SEAMLESS_DEVICE", "cuda:0")
    dtype: str = env("S2ST_SEAMLESS_DTYPE", "fp16")
    # The model cards' defaults are the image's bake script's: it runs before this code is in the image.
    unity_model: str = env("S2ST_SEAMLESS_UNITY_MODEL", UNITY_MODEL)
    monotonic_decoder: str = env("S2ST_SEAMLESS_MONOTONIC_DECODER", MONOTONIC_DECODER)
    vocoder: str = env("S2ST_SEAMLESS_VOCODER", VOCODER)
    decision_threshold: float = env("S2ST_SEAMLESS_DECISION_THRESHOLD", 0.5)
    min_starting_wait_w2vbert: int = env("S2ST_SEAMLESS_MIN_STARTING_WAIT_W2VBERT", 192)
    max_len_a: int = env("S2ST_SEAMLESS_MAX_LEN_A", 0)
    max_len_b: int = env("S2ST_SEAMLESS_MAX_LEN_B", 100)
    max_consecutive_write: int = env("S2ST_SEAMLESS_MAX_CONSECUTIVE_WRITE", 50)
    min_unit_chunk_size: int = env("S2ST_SEAMLESS_MIN_UNIT_CHUNK_SIZE", 50)
    silence_limit_ms: int = env("S2ST_SEAMLESS_SILENCE_LIMIT_MS", 700)
    speech_soft_limit_ms: int = env("S2ST_SEAMLESS_SPEECH_SOFT_LIMIT_MS", 12_000)
    init_speech_prob: float = env("S2ST_SEAMLESS_INIT_SPEECH_PROB", 0.15)
    chunk_size_samples: int = env("S2ST_SEAMLESS_CHUNK_SIZE_SAMPLES", 5120)
    max_segment_seconds: float = env("S2ST_SEAMLESS_MAX_SEGMENT_SECONDS", 20.0)
    batching: bool = env("S2ST_SEAMLESS_BATCHING", True)

    def agent_arguments(self, tgt_lang: str = "eng") -> list[str]:
        """The explicit argument list the agent is built from (never sys.argv)."""
        return [
            "--task", "s2st",
            "--device", self.device,
            "--dtype", self.dtype,
            "--unity-model-name", self.unity_model,
            "--monotonic-decoder-model-name", self.monotonic_decoder,
            "--vocoder-name", self.vocoder,
            "--tgt-lang", tgt_lang,  # a default for the agents; each stream sets its own per segment
            "--sample-rate", str(SAMPLE_RATE),
            "--decision-threshold", str(self.decision_threshold),
            "--min-starting-wait-w2vbert", str(self.min_starting_wait_w2vbert),
            "--max-len-a", str(self.max_len_a),
            "--max-len-b", str(self.max_len_b),
            "--max-consecutive-write", str(self.max_consecutive_write),
            "--min-unit-chunk-size", str(self.min_unit_chunk_size),
            "--silence-limit-ms", str(self.silence_limit_ms),
            "--speech-soft-limit-ms", str(self.speech_soft_limit_ms),
            "--init-speech-prob", str(self.init_speech_prob),
            "--chunk-size-samples", str(self.chunk_size_samples),
            "--window-size-samples", str(SILERO_WINDOW_SAMPLES),
            "--no-early-stop",
            "--block-ngrams",
            "--detokenize-only",
        ]
