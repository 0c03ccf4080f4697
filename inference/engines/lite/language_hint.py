"""When the session's chosen source language looks wrong: Whisper is much surer of another one.

The rule, over one segment's final decode of at least MIN_AUDIO_SECONDS of audio: another language has a
probability above MIN_SUGGESTED_PROBABILITY and the chosen one below MAX_CHOSEN_PROBABILITY. Both bounds are
far apart on purpose: measured on Whisper base here, eSpeak Spanish decoded with French chosen gives Spanish
0.75-0.99 and French under 0.001, while eSpeak German, chosen right, reads as Thai 0.75 and German 0.03 (so a
suggestion needs more than 0.8). Each language is suggested at most once per session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

MIN_AUDIO_SECONDS = 1.5  # shorter segments give Whisper's language identification too little to go on
MIN_SUGGESTED_PROBABILITY = 0.8
MAX_CHOSEN_PROBABILITY = 0.1


@dataclass(frozen=True)
class Suggestion:
    language: str  # Whisper's two-letter code
    probability: float
    chosen_probability: float


@dataclass
class LanguageHints:
    """One session's suggestions: its chosen source (Whisper's code) and the languages it already suggested."""

    chosen: str
    suggested: set[str] = field(default_factory=set)

    def check(self, probabilities: Mapping[str, float], seconds: float) -> Suggestion | None:
        """A suggestion when the rule holds for a language not suggested before, else None."""
        if seconds < MIN_AUDIO_SECONDS or not probabilities:
            return None
        likeliest = max(probabilities, key=probabilities.__getitem__)
        chosen = probabilities.get(self.chosen, 0.0)
        if (likeliest == self.chosen or likeliest in self.suggested
                or probabilities[likeliest] <= MIN_SUGGESTED_PROBABILITY or chosen >= MAX_CHOSEN_PROBABILITY):
            return None
        self.suggested.add(likeliest)
        return Suggestion(likeliest, probabilities[likeliest], chosen)
