"""Who speaks the built-in set: eSpeak NG, or the neural voices the lite engine speaks with.

eSpeak NG is robotic but the same everywhere and instant; the neural voices (Piper, Kokoro: the engine's
own inference/engines/lite/voices, loaded the way the engine loads them) sound like people and so flatter
recognition less. A language without a neural voice is spoken by eSpeak NG, and the report says so
(``voices``).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Protocol

import numpy as np

from inference.engines.lite.languages import ENGLISH
from inference.engines.lite.settings import LiteSettings
from inference.engines.lite.voices import VoiceCatalog, load_voices
from inference.engines.lite.voices.kokoro import KOKORO_LANGUAGES
from harness.speech import read_samples, speak

SPEECH_RATE = 16_000
SPEAKERS = ("espeak", "neural")


class Speaker(Protocol):
    def say(self, text: str, language: str, espeak_voice: str) -> np.ndarray:
        """text in language (ISO 639-3) as float samples at SPEECH_RATE, no silence added."""

    def label(self, language: str) -> str:
        """Which voice speaks language."""

    def close(self) -> None:
        """Stops what the speaker runs."""


class EspeakSpeaker:
    """eSpeak NG with the set's voice of each sentence (sox resamples it to SPEECH_RATE)."""

    def say(self, text: str, language: str, espeak_voice: str) -> np.ndarray:
        with tempfile.TemporaryDirectory() as workdir:
            samples, _ = read_samples(speak(text, espeak_voice, Path(workdir) / "say.wav", SPEECH_RATE, 0, 0))
        return samples

    def label(self, language: str) -> str:
        return "espeak-ng"

    def close(self) -> None:
        pass


class NeuralSpeaker:
    """The lite engine's voices (load_voices, S2ST_LITE_* settings from the environment): Piper's joe for
    English, any Piper voice in S2ST_LITE_VOICES_DIR, and Kokoro for the given languages it speaks (unless
    S2ST_LITE_KOKORO_LANGUAGES says which); eSpeak NG, as EspeakSpeaker, for a language none of them speaks."""

    def __init__(self, languages: set[str]) -> None:
        kokoro = sorted(language for language in languages if language in KOKORO_LANGUAGES and language != ENGLISH)
        # The given languages are this benchmark's default for S2ST_LITE_KOKORO_LANGUAGES; the environment wins.
        settings = LiteSettings.from_environ({"S2ST_LITE_KOKORO_LANGUAGES": ",".join(kokoro), **os.environ})
        self._catalog: VoiceCatalog = load_voices(settings)
        self._espeak = EspeakSpeaker()

    def say(self, text: str, language: str, espeak_voice: str) -> np.ndarray:
        voice = self._catalog.voice_for(language)
        if voice is None or voice.kind == "espeak":
            return self._espeak.say(text, language, espeak_voice)
        return asyncio.run(voice.speak(text)).astype(np.float64)

    def label(self, language: str) -> str:
        voice = self._catalog.voice_for(language)
        return self._espeak.label(language) if voice is None or voice.kind == "espeak" else voice.label

    def close(self) -> None:
        self._catalog.close()


def make_speaker(kind: str, languages: set[str]) -> Speaker:
    """A speaker of kind for the given source languages (ISO 639-3)."""
    if kind == "espeak":
        return EspeakSpeaker()
    if kind == "neural":
        return NeuralSpeaker(languages)
    raise ValueError(f"unknown speaker {kind!r}: choose one of {', '.join(SPEAKERS)}")
