"""The echo engine: returns the input audio unchanged, for transport latency checks.

Each pushed chunk comes straight back as one audio event of segment 1; there is no
voice detection and no model. Every language code is accepted as it is.
"""

from __future__ import annotations

import numpy as np

from inference.audio import samples_to_ms
from inference.engines.base import (
    ENGINE_SAMPLE_RATE,
    Engine,
    EngineEvent,
    EngineSession,
    LanguageCatalog,
    SessionSettings,
    SpeechAudio,
    SpeechEnded,
    SpeechStarted,
)

ECHO_SEGMENT_ID = 1


class EchoSession(EngineSession):
    """Echoes audio back; segment 1 starts with the first sample and ends on flush."""

    def __init__(self) -> None:
        self._consumed_samples = 0
        self._speaking = False

    async def push(self, audio: np.ndarray) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        if not self._speaking:
            self._speaking = True
            events.append(SpeechStarted(ECHO_SEGMENT_ID, self._offset_ms()))
        self._consumed_samples += len(audio)
        events.append(SpeechAudio(ECHO_SEGMENT_ID, audio))
        return events

    async def flush(self) -> list[EngineEvent]:
        if not self._speaking:
            return []
        self._speaking = False
        return [
            SpeechAudio(ECHO_SEGMENT_ID, np.zeros(0, dtype=np.float32), is_last=True),
            SpeechEnded(ECHO_SEGMENT_ID, self._offset_ms()),
        ]

    async def reset(self) -> None:
        self._speaking = False

    async def close(self) -> None:
        self._speaking = False

    def _offset_ms(self) -> int:
        return samples_to_ms(self._consumed_samples)


class EchoEngine(Engine):
    """No model: what goes in comes out, at the engine sample rate."""

    name = "echo"

    def load(self) -> None:
        """Nothing to load."""

    @property
    def model_id(self) -> str:
        return "echo (no model)"

    @property
    def output_sample_rate(self) -> int:
        return ENGINE_SAMPLE_RATE

    def languages(self) -> LanguageCatalog:
        # Echo has no language; it lists English so clients have a valid pick.
        return LanguageCatalog(sources=("eng",), targets=("eng",), speech_targets=("eng",), source_selectable=True)

    def open_session(self, settings: SessionSettings) -> EngineSession:
        return EchoSession()
