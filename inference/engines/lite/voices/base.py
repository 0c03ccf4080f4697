"""What every voice is: one language's text in, float32 speech at ENGINE_SAMPLE_RATE out."""

from __future__ import annotations

import abc

import numpy as np

MAX_TEXT_CHARS = 2000  # longer text is cut: a segment's translation is far shorter


class SynthesisFailed(RuntimeError):
    """A synthesis process crashed or timed out (it is restarted)."""


class Voice(abc.ABC):
    """One language's voice."""

    language: str  # ISO 639-3
    label: str  # e.g. "Piper en_US-joe-medium", "Kokoro jm_kumo", "eSpeak NG es"
    kind: str  # "piper" | "kokoro" | "espeak"
    fallback_reason: str = ""  # why eSpeak NG stands in when the preferred voice failed to load

    @abc.abstractmethod
    async def speak(self, text: str) -> np.ndarray:
        """float32 mono at ENGINE_SAMPLE_RATE (16 kHz); raises SynthesisFailed."""
