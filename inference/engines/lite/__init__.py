"""The lite engine: a CPU speech-to-speech cascade for laptops and CI.

Silero VAD (ONNX, shipped inside faster-whisper) cuts the stream into segments;
Whisper (CTranslate2 int8) transcribes each segment and translates it to
English, with partial hypotheses while the person speaks; eSpeak NG speaks the
translation. Any of Whisper's ~99 languages in, English out: Whisper's
translate task only produces English, so that is the one target offered.
Settings: inference/engines/lite/settings.py; details: docs/lite-engine.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from inference.audio import samples_to_ms
from inference.engines.base import Engine, EngineSession, LanguageCatalog, SessionSettings, UnsupportedConfig
from inference.engines.lite.languages import ENGLISH, iso3_to_whisper
from inference.engines.lite.models import whisper_model_source
from inference.engines.lite.recognizer import Recognizer
from inference.engines.lite.runtime import LiteRuntime
from inference.engines.lite.segmenter import SegmentPolicy
from inference.engines.lite.session import LiteSession
from inference.engines.lite.settings import LiteSettings
from inference.engines.lite.vad import WINDOW_SAMPLES, load_vad_model
from inference.engines.lite.voices import load_voices
from inference.engines.options import GLOSSARY

log = logging.getLogger("inference.engines.lite")

OUTPUT_SAMPLE_RATE = 16_000


class LiteEngine(Engine):
    """Whisper + Silero VAD + eSpeak NG on the CPU."""

    name = "lite"
    supported_options = frozenset({GLOSSARY})

    def __init__(self, settings: LiteSettings) -> None:
        self._settings = settings
        self._runtime: LiteRuntime | None = None
        self._model_label = "whisper (not loaded)"
        self._iso3_to_whisper: dict[str, str] = {}

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> LiteEngine:
        return cls(LiteSettings.from_environ(environ))

    def load(self) -> None:
        settings = self._settings
        source, label = whisper_model_source(settings)
        recognizer = Recognizer(source, settings.compute_type, settings.threads)
        self._runtime = LiteRuntime(
            recognizer=recognizer,
            vad_model=load_vad_model(),
            voices=load_voices(settings),
            segment_policy=SegmentPolicy(settings.vad_threshold, settings.min_speech_ms, settings.min_silence_ms,
                                         settings.pad_ms, int(settings.max_segment_seconds * 1000),
                                         settings.pause_ms, settings.pause_decode_ms),
            partial_interval_ms=settings.partial_interval_ms,
        )
        self._iso3_to_whisper = iso3_to_whisper(recognizer.languages)
        self._model_label = f"{label} (CTranslate2 {settings.compute_type}) + Silero VAD + eSpeak NG"
        # The first decode pays for allocations; pay it now rather than in a user's first sentence.
        recognizer.recognize(np.zeros(OUTPUT_SAMPLE_RATE, dtype=np.float32), "en", translate=False)
        log.info("lite engine loaded", extra={"model": source, "languages": len(self._iso3_to_whisper)})

    @property
    def model_id(self) -> str:
        return self._model_label

    @property
    def output_sample_rate(self) -> int:
        return OUTPUT_SAMPLE_RATE

    @property
    def input_step_ms(self) -> int:
        return samples_to_ms(WINDOW_SAMPLES)  # the voice detector decides once per window

    def languages(self) -> LanguageCatalog:
        return LanguageCatalog(sources=tuple(sorted(self._iso3_to_whisper)), targets=(ENGLISH,),
                               speech_targets=(ENGLISH,), source_selectable=True)

    def open_session(self, settings: SessionSettings) -> EngineSession:
        if self._runtime is None:
            raise RuntimeError("the lite engine is not loaded")
        if settings.target_language != ENGLISH:
            raise UnsupportedConfig(
                f"the lite engine translates into English (eng) only, not {settings.target_language!r}: "
                "Whisper's translate task produces English; use the seamless engine for other targets")
        source = None
        if settings.source_language:
            source = self._iso3_to_whisper.get(settings.source_language)
            if source is None:
                raise UnsupportedConfig(f"the lite engine does not recognise source language "
                                        f"{settings.source_language!r}; see ListLanguages")
        return LiteSession(self._runtime, source, settings.target_language, settings.speech_output,
                           settings.options.glossary)

    async def aclose(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
