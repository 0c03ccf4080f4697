"""Who speaks the built-in set: eSpeak NG, or the neural voices the lite engine speaks with.

eSpeak NG is robotic but the same everywhere and instant; the neural voices (Piper, Kokoro: see
inference/engines/lite/voices) sound like people and so flatter recognition less. A language without a
neural voice is spoken by eSpeak NG, and the report says so (``voices``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Protocol

import numpy as np

from tests.harness.speech import read_samples, speak

SPEECH_RATE = 16_000
SPEAKERS = ("espeak", "neural")


class Speaker(Protocol):
    def say(self, text: str, language: str, espeak_voice: str) -> np.ndarray:
        """text in language (ISO 639-3) as float samples at SPEECH_RATE, no silence added."""

    def label(self, language: str) -> str:
        """Which voice speaks language."""


class EspeakSpeaker:
    """eSpeak NG with the set's voice of each sentence (sox resamples it to SPEECH_RATE)."""

    def say(self, text: str, language: str, espeak_voice: str) -> np.ndarray:
        with tempfile.TemporaryDirectory() as workdir:
            samples, _ = read_samples(speak(text, espeak_voice, Path(workdir) / "say.wav", SPEECH_RATE, 0, 0))
        return samples

    def label(self, language: str) -> str:
        return "espeak-ng"


def make_speaker(kind: str) -> Speaker:
    if kind == "espeak":
        return EspeakSpeaker()
    raise ValueError(f"unknown speaker {kind!r}: choose one of {', '.join(SPEAKERS)}")
