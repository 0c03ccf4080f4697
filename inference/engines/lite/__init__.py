"""The lite engine: a CPU speech-to-speech cascade for laptops and CI.

Silero VAD (ONNX, shipped inside faster-whisper) cuts the stream into segments;
Whisper (CTranslate2 int8) transcribes each segment, with partial hypotheses
while the person speaks, and translates it into English itself; other targets
come from the translation stage (Apertium pairs, CTranslate2 models:
translation/); the voice stage (voices/) speaks the result. Any of Whisper's
~99 languages into English, and the pairs the installed translators serve.
Settings: inference/engines/lite/settings.py; details: docs/lite-engine.md.
"""

from __future__ import annotations

import logging

import numpy as np

from inference.audio import samples_to_ms
from inference.engines.base import (
    Engine,
    EngineSession,
    LanguageCatalog,
    SessionSettings,
    UnsupportedConfig,
    VoiceInfo,
)
from inference.engines.lite.languages import iso3_to_whisper
from inference.engines.lite.models import whisper_model_source
from inference.engines.lite.recognizer import Recognizer
from inference.engines.lite.runtime import LiteRuntime
from inference.engines.lite.segmenter import SegmentPolicy
from inference.engines.lite.session import LiteSession
from inference.engines.lite.settings import LiteSettings
from inference.engines.lite.translation import RouteTable, load_translators
from inference.engines.lite.vad import WINDOW_SAMPLES, load_vad_model
from inference.engines.lite.voices import load_voices
from inference.engines.options import GLOSSARY
from inference.languages import display_name

log = logging.getLogger("inference.engines.lite")

OUTPUT_SAMPLE_RATE = 16_000


class LiteEngine(Engine):
    """Silero VAD + Whisper + a translator per pair + a voice per language, on the CPU."""

    name = "lite"
    supported_options = frozenset({GLOSSARY})

    settings_class = LiteSettings

    def __init__(self, settings: LiteSettings) -> None:
        self._settings = settings
        self._runtime: LiteRuntime | None = None
        self._model_label = "whisper (not loaded)"

    def load(self) -> None:
        settings = self._settings
        # The translators first: a model directory that does not load stops the worker before the rest loads.
        translators = load_translators(settings.mt_dir, settings.threads, settings.compute_type)
        source, label = whisper_model_source(settings)
        recognizer = Recognizer(source, settings.compute_type, settings.threads)
        whisper_languages = iso3_to_whisper(recognizer.languages)
        self._runtime = LiteRuntime(
            recognizer=recognizer,
            vad_model=load_vad_model(),
            voices=load_voices(settings),
            routes=RouteTable(tuple(whisper_languages), translators),
            iso3_to_whisper=whisper_languages,
            segment_policy=SegmentPolicy(settings.vad_threshold, settings.min_speech_ms, settings.min_silence_ms,
                                         settings.pad_ms, int(settings.max_segment_seconds * 1000),
                                         settings.pause_ms, settings.pause_decode_ms),
            partial_interval_ms=settings.partial_interval_ms,
        )
        kinds = sorted({translator.label.split()[0] for translator in self._runtime.routes.translators()})
        self._model_label = (f"{label} (CTranslate2 {settings.compute_type}) + Silero VAD"
                             + "".join(f" + {kind}" for kind in kinds) + " + voices")
        # The first decode pays for allocations; pay it now rather than in a user's first sentence.
        recognizer.recognize(np.zeros(OUTPUT_SAMPLE_RATE, dtype=np.float32), "en", translate=False)
        log.info("lite engine loaded", extra={"model": source, "languages": len(whisper_languages),
                                              "targets": self._runtime.routes.targets})

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
        if self._runtime is None:
            return LanguageCatalog(sources=(), targets=(), speech_targets=(), source_selectable=True)
        routes, voices = self._runtime.routes, self._runtime.voices
        spoken = [voice for voice in map(voices.voice_for, routes.targets) if voice is not None]
        return LanguageCatalog(
            sources=routes.sources, targets=routes.targets, speech_targets=tuple(v.language for v in spoken),
            source_selectable=True, routes=routes.language_routes(),
            voices=tuple(VoiceInfo(v.language, v.label, v.kind, v.fallback_reason) for v in spoken))

    def open_session(self, settings: SessionSettings) -> EngineSession:
        if self._runtime is None:
            raise RuntimeError("the lite engine is not loaded")
        routes = self._runtime.routes
        source, target = settings.source_language, settings.target_language
        if source and source not in routes.sources:
            raise UnsupportedConfig(f"the lite engine does not recognise source language {source!r}; "
                                    "see ListLanguages")
        if source and routes.route(source, target) is None:
            reachable = ", ".join(routes.reachable(source))
            raise UnsupportedConfig(f"the lite engine cannot translate {display_name(source)} ({source}) into "
                                    f"{_named(target)}: from {source} it reaches {reachable}; see ListLanguages")
        if not source and target not in routes.targets:
            raise UnsupportedConfig(f"the lite engine cannot translate into {_named(target)}: its targets are "
                                    f"{', '.join(routes.targets)}; see ListLanguages")
        return LiteSession(self._runtime, source, target, settings.speech_output, settings.options.glossary)

    async def aclose(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


def _named(code: str) -> str:
    return f"{display_name(code)} ({code})" if display_name(code) != code else repr(code)
