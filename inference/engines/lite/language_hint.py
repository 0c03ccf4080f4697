"""When the session's chosen source language looks wrong: Whisper is much surer of another one.

Whisper's language identification is measured over the speech the session has heard so far (its finals'
audio, joined), not one segment at a time: longer audio identifies better. Measured on Whisper base here,
eSpeak Spanish decoded with French chosen: one segment gives Spanish 0.47-0.99 depending on where the
segmenter cut it (the second test phrase alone 0.53-0.89), both phrases together 0.89-0.96, French under
0.001 either way. Only the session's first WINDOW_SECONDS of speech are checked: a wrong pick shows at the
start, and each check is an encoder pass over all of it on the Whisper thread (Whisper base, 2 cores:
0.16 s for 4 s of audio, 0.28 s for 8 s, 1.3 s for 30 s).

The rule, once at least MIN_AUDIO_SECONDS were heard: another language has a probability above
MIN_SUGGESTED_PROBABILITY and the chosen one below MAX_CHOSEN_PROBABILITY. The bounds are far apart on
purpose: eSpeak German, chosen right, reads as Thai 0.75 on some segments and German 0.03 (so a suggestion
needs more than 0.8). Each language is suggested at most once per session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from inference.engines.base import ENGINE_SAMPLE_RATE

MIN_AUDIO_SECONDS = 1.5  # less gives Whisper's language identification too little to go on
WINDOW_SECONDS = 10.0  # how much of a session's speech is checked
MIN_SUGGESTED_PROBABILITY = 0.8
MAX_CHOSEN_PROBABILITY = 0.1


@dataclass(frozen=True)
class Suggestion:
    language: str  # Whisper's two-letter code
    probability: float
    chosen_probability: float


@dataclass
class LanguageHints:
    """One session's suggestions: its chosen source (Whisper's code), the speech heard so far (up to
    WINDOW_SECONDS) and the languages it already suggested."""

    chosen: str
    suggested: set[str] = field(default_factory=set)
    _heard: list[np.ndarray] = field(default_factory=list)
    _heard_samples: int = 0

    def hear(self, audio: np.ndarray) -> np.ndarray | None:
        """Adds a final segment's audio; returns the speech to identify (all heard so far), or None when there
        is too little yet or the window was already full before this segment."""
        room = int(WINDOW_SECONDS * ENGINE_SAMPLE_RATE) - self._heard_samples
        if room <= 0:
            return None
        self._heard.append(audio[:room])
        self._heard_samples += min(room, len(audio))
        if self._heard_samples < MIN_AUDIO_SECONDS * ENGINE_SAMPLE_RATE:
            return None
        return np.concatenate(self._heard)

    def check(self, probabilities: Mapping[str, float]) -> Suggestion | None:
        """A suggestion when the rule holds for a language not suggested before, else None."""
        if not probabilities:
            return None
        likeliest = max(probabilities, key=probabilities.__getitem__)
        chosen = probabilities.get(self.chosen, 0.0)
        if (likeliest == self.chosen or likeliest in self.suggested
                or probabilities[likeliest] <= MIN_SUGGESTED_PROBABILITY or chosen >= MAX_CHOSEN_PROBABILITY):
            return None
        self.suggested.add(likeliest)
        return Suggestion(likeliest, probabilities[likeliest], chosen)
