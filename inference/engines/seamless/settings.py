"""Settings of the seamless engine, from S2ST_SEAMLESS_* environment variables.

Defaults are those of Meta's SeamlessStreaming demo (facebookresearch/seamless_communication,
src/seamless_communication/streaming/agents/*.py add_args, and the streaming demo's agent settings).

| variable | default | agent argument |
|---|---|---|
| S2ST_SEAMLESS_DEVICE | cuda:0 | --device |
| S2ST_SEAMLESS_DTYPE | fp16 | --dtype (fp16 or fp32; fp16 is used only on a GPU) |
| S2ST_SEAMLESS_UNITY_MODEL | seamless_streaming_unity | --unity-model-name |
| S2ST_SEAMLESS_MONOTONIC_DECODER | seamless_streaming_monotonic_decoder | --monotonic-decoder-model-name |
| S2ST_SEAMLESS_VOCODER | vocoder_v2 | --vocoder-name |
| S2ST_SEAMLESS_DECISION_THRESHOLD | 0.7 | --decision-threshold |
| S2ST_SEAMLESS_MIN_STARTING_WAIT_W2VBERT | 192 | --min-starting-wait-w2vbert |
| S2ST_SEAMLESS_MAX_LEN_A | 0 | --max-len-a |
| S2ST_SEAMLESS_MAX_LEN_B | 1000 | --max-len-b |
| S2ST_SEAMLESS_MAX_CONSECUTIVE_WRITE | 50 | --max-consecutive-write |
| S2ST_SEAMLESS_MIN_UNIT_CHUNK_SIZE | 50 | --min-unit-chunk-size |
| S2ST_SEAMLESS_SILENCE_LIMIT_MS | 700 | --silence-limit-ms (VAD: silence that ends a segment) |
| S2ST_SEAMLESS_SPEECH_SOFT_LIMIT_MS | 12000 | --speech-soft-limit-ms (VAD: segment more eagerly after this) |
| S2ST_SEAMLESS_INIT_SPEECH_PROB | 0.15 | --init-speech-prob |
| S2ST_SEAMLESS_CHUNK_SIZE_SAMPLES | 5120 | --chunk-size-samples (320 ms handed to the encoder) |
| S2ST_SEAMLESS_MAX_SEGMENT_SECONDS | 20 | ours: a segment is ended after this much speech (the encoder re-reads the whole segment each step) |

`--no-early-stop` and `--block-ngrams` are always passed, as in the demo.
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.audio import SILERO_WINDOW_SAMPLES
from s2st.runtime.settings import FromEnviron, env

SAMPLE_RATE = 16_000  # the w2v-BERT encoder's input and vocoder_v2's output rate


@dataclass(frozen=True)
class SeamlessSettings(FromEnviron):
    device: str = env("S2ST_SEAMLESS_DEVICE", "cuda:0")
    dtype: str = env("S2ST_SEAMLESS_DTYPE", "fp16")
    unity_model: str = env("S2ST_SEAMLESS_UNITY_MODEL", "seamless_streaming_unity")
    monotonic_decoder: str = env("S2ST_SEAMLESS_MONOTONIC_DECODER", "seamless_streaming_monotonic_decoder")
    vocoder: str = env("S2ST_SEAMLESS_VOCODER", "vocoder_v2")
    decision_threshold: float = env("S2ST_SEAMLESS_DECISION_THRESHOLD", 0.7)
    min_starting_wait_w2vbert: int = env("S2ST_SEAMLESS_MIN_STARTING_WAIT_W2VBERT", 192)
    max_len_a: int = env("S2ST_SEAMLESS_MAX_LEN_A", 0)
    max_len_b: int = env("S2ST_SEAMLESS_MAX_LEN_B", 1000)
    max_consecutive_write: int = env("S2ST_SEAMLESS_MAX_CONSECUTIVE_WRITE", 50)
    min_unit_chunk_size: int = env("S2ST_SEAMLESS_MIN_UNIT_CHUNK_SIZE", 50)
    silence_limit_ms: int = env("S2ST_SEAMLESS_SILENCE_LIMIT_MS", 700)
    speech_soft_limit_ms: int = env("S2ST_SEAMLESS_SPEECH_SOFT_LIMIT_MS", 12_000)
    init_speech_prob: float = env("S2ST_SEAMLESS_INIT_SPEECH_PROB", 0.15)
    chunk_size_samples: int = env("S2ST_SEAMLESS_CHUNK_SIZE_SAMPLES", 5120)
    max_segment_seconds: float = env("S2ST_SEAMLESS_MAX_SEGMENT_SECONDS", 20.0)

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
