"""Which voice speaks each language, picked once at load."""

from __future__ import annotations

import logging

from inference.engines.lite.settings import LiteSettings
from inference.engines.lite.voices.base import Voice
from inference.engines.lite.voices.espeak import espeak_voices

log = logging.getLogger("inference.engines.lite.voices")


class VoiceCatalog:
    """The voice of each language that has speech."""

    def __init__(self, voices: dict[str, Voice]) -> None:
        self._voices = voices

    def voice_for(self, language: str) -> Voice | None:
        """The voice of an ISO 639-3 language; None: no voice for it (text only)."""
        return self._voices.get(language)

    def languages(self) -> tuple[str, ...]:
        """ISO 639-3 codes that have speech."""
        return tuple(sorted(self._voices))

    def close(self) -> None:
        for voice in self._voices.values():
            voice.close()


def load_voices(settings: LiteSettings) -> VoiceCatalog:
    """A voice for every language some installed synthesizer speaks."""
    voices: dict[str, Voice] = dict(espeak_voices(settings.speech_rate, settings.voice))
    log.info("voices loaded", extra={"languages": len(voices)})
    return VoiceCatalog(voices)
