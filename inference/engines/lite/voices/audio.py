"""What every voice does to its audio before the engine gets it: engine rate, no dead air at the end."""

from __future__ import annotations

import numpy as np
import soxr

from inference.engines.base import ENGINE_SAMPLE_RATE

SILENCE_LEVEL = 0.01  # -40 dBFS: below any voiced sound the voices make
KEPT_TAIL_SECONDS = 0.05


def at_engine_rate(audio: np.ndarray, rate: int) -> np.ndarray:
    audio = audio.astype(np.float32, copy=False)
    return soxr.resample(audio, rate, ENGINE_SAMPLE_RATE).astype(np.float32) if rate != ENGINE_SAMPLE_RATE else audio


def without_silent_tail(audio: np.ndarray) -> np.ndarray:
    """Synthesizers end an utterance with silence (eSpeak NG 230-250 ms): dead air the listener waits
    through after the last word before the speech counts as over. Keep 50 ms."""
    loud = np.flatnonzero(np.abs(audio) > SILENCE_LEVEL)
    end = loud[-1] + 1 + int(KEPT_TAIL_SECONDS * ENGINE_SAMPLE_RATE) if len(loud) else 0
    return audio[:end]
