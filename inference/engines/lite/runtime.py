"""What every lite session shares: the loaded models and the one inference thread they run on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnxruntime

from inference.engines.lite.recognizer import Recognition, Recognizer
from inference.engines.lite.segmenter import SegmentPolicy
from inference.engines.lite.translation import RouteTable
from inference.engines.lite.voices import VoiceCatalog
from inference.engines.serial import InferenceThread


@dataclass
class LiteRuntime:
    """Models loaded once per worker; Whisper runs on one inference thread shared by all sessions."""

    recognizer: Recognizer
    vad_model: onnxruntime.InferenceSession
    voices: VoiceCatalog
    routes: RouteTable
    iso3_to_whisper: dict[str, str]
    segment_policy: SegmentPolicy
    partial_interval_ms: int
    thread: InferenceThread = field(default_factory=lambda: InferenceThread("lite-whisper"))

    @property
    def busy(self) -> bool:
        """True while a recognition of any session runs or waits: partials then yield to finals."""
        return self.thread.pending > 0

    async def recognize(self, audio: np.ndarray, language: str | None, translate: bool,
                        target_prefix: str = "", glossary: tuple[str, ...] = (), redo_loops: bool = True) -> Recognition:
        return await self.thread.run(self.recognizer.recognize, audio, language, translate, target_prefix, glossary,
                                     redo_loops)

    async def language_probabilities(self, audio: np.ndarray) -> dict[str, float]:
        """Whisper's probability of each language (two-letter code) over the audio."""
        return await self.thread.run(self.recognizer.language_probabilities, audio)

    def whisper_code(self, language: str) -> str:
        return self.iso3_to_whisper[language]

    def close(self) -> None:
        self.thread.close()
        self.voices.close()
        self.routes.close()
