"""The seamless engine: Meta's SeamlessStreaming (joint-VAD speech-to-speech agent) on a GPU.

The model is loaded once per worker; each stream has its own agent states. The
agents keep some per-call state on the shared agent object (the text decoder's
target-language prefix), so every pushpop runs on one inference thread per
model: by default in rounds that step every stream with work together, the
encoder batched across them (scheduler.py, batched.py); with
``S2ST_SEAMLESS_BATCHING=0`` one stream at a time, in arrival order. Weights: CC-BY-NC 4.0 (non-commercial). See
docs/seamless.md; settings in inference/engines/seamless/settings.py.
"""

from __future__ import annotations

import logging
import numpy as np

from inference.audio import samples_to_ms
from inference.engines.base import (
    Engine,
    EngineEvent,
    EngineSession,
    LanguageCatalog,
    SessionSettings,
    UnsupportedConfig,
)
from inference.engines.seamless.batched import BatchedPushpop
from inference.engines.seamless.pipeline import ModelLanguages, SeamlessAgents, build_agents, read_model_languages
from inference.engines.seamless.scheduler import LockstepScheduler, SerialRunner
from inference.engines.seamless.settings import SAMPLE_RATE, SeamlessSettings
from inference.engines.seamless.stream import SeamlessStream, SegmentClasses, StreamSettings

log = logging.getLogger("inference.engines.seamless")


class SeamlessSession(EngineSession):
    """A stream's states, driven on the engine's inference thread."""

    def __init__(self, stream: SeamlessStream, runner: LockstepScheduler | SerialRunner) -> None:
        self._stream = stream
        self._runner = runner

    async def push(self, audio: np.ndarray) -> list[EngineEvent]:
        return await self._runner.run(self._stream.push(audio))

    async def flush(self) -> list[EngineEvent]:
        return await self._runner.run(self._stream.flush())

    async def reset(self) -> None:
        await self._runner.call(self._stream.reset)

    async def close(self) -> None:
        """States are plain per-stream objects: dropping them frees them."""


class SeamlessEngine(Engine):
    """SeamlessStreaming behind the engine interface."""

    name = "seamless"

    settings_class = SeamlessSettings

    def __init__(self, settings: SeamlessSettings) -> None:
        self._settings = settings
        self._agents: SeamlessAgents | None = None
        self._segment_classes: SegmentClasses | None = None
        self._languages = ModelLanguages(text=(), speech=())
        self._runner: LockstepScheduler | SerialRunner | None = None

    def load(self) -> None:
        from simuleval.data.segments import EmptySegment, SpeechSegment, TextSegment

        self._segment_classes = SegmentClasses(SpeechSegment, TextSegment, EmptySegment)
        self._languages = read_model_languages(self._settings)
        self._agents = build_agents(self._settings)
        if self._settings.batching:
            self._runner = LockstepScheduler("seamless", BatchedPushpop.over(self._agents.speech))
        else:
            self._runner = SerialRunner("seamless")
        log.info("seamless engine loaded", extra={"device": self._settings.device, "dtype": self._settings.dtype,
                                                  "batching": self._settings.batching,
                                                  "text_languages": len(self._languages.text),
                                                  "speech_languages": len(self._languages.speech)})

    @property
    def model_id(self) -> str:
        s = self._settings
        return f"SeamlessStreaming ({s.unity_model} + {s.monotonic_decoder} + {s.vocoder}, {s.dtype})"

    @property
    def output_sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def input_step_ms(self) -> int:
        return samples_to_ms(self._settings.chunk_size_samples)  # the encoder's chunk

    def languages(self) -> LanguageCatalog:
        # The model recognises the spoken language itself; the list says what it was trained on.
        return LanguageCatalog(sources=self._languages.text, targets=self._languages.text,
                               speech_targets=self._languages.speech, source_selectable=False)

    def step_cost_seconds(self) -> float | None:
        return None if self._runner is None else self._runner.cost.seconds

    def open_session(self, settings: SessionSettings) -> EngineSession:
        if self._agents is None or self._segment_classes is None or self._runner is None:
            raise RuntimeError("the seamless engine is not loaded")
        target = settings.target_language
        if target not in self._languages.text:
            raise UnsupportedConfig(f"SeamlessStreaming cannot translate into {target!r}; see ListLanguages")
        if settings.speech_output and target not in self._languages.speech:
            raise UnsupportedConfig(f"SeamlessStreaming has no speech output in {target!r}; "
                                    "ask for text only (speech_output false) or pick a speech output language")
        if settings.source_language and settings.source_language not in self._languages.text:
            raise UnsupportedConfig(f"unknown source language {settings.source_language!r}; see ListLanguages")
        stream = SeamlessStream(
            self._agents.speech if settings.speech_output else self._agents.text,
            self._segment_classes,
            StreamSettings(
                tgt_lang=target,
                speech_output=settings.speech_output,
                chunk_samples=self._settings.chunk_size_samples,
                silence_limit_ms=self._settings.silence_limit_ms,
                max_segment_samples=int(self._settings.max_segment_seconds * SAMPLE_RATE),
            ),
        )
        return SeamlessSession(stream, self._runner)

    async def aclose(self) -> None:
        if self._runner is not None:
            self._runner.close()
