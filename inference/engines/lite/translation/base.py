"""What every translator is: one language pair's text in, its translation out."""

from __future__ import annotations

import abc


class TranslationFailed(RuntimeError):
    """A translation process crashed or timed out (it is restarted on the next call)."""


class Translator(abc.ABC):
    """One language pair (ISO 639-3 codes)."""

    source: str
    target: str
    kind: str  # "apertium" | "ctranslate2"
    label: str  # e.g. "Apertium eng-spa"

    @abc.abstractmethod
    async def translate(self, text: str) -> str:
        """The translation of one or more sentences; raises TranslationFailed."""

    def close(self) -> None:
        """Stops what the translator runs."""
