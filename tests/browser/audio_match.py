"""How closely one recording matches another once aligned (for the browser audio tests)."""

from __future__ import annotations

import numpy as np

WINDOW = 1600  # 100 ms at 16 kHz
SLACK = 160  # each window may sit +-10 ms from the global alignment
SILENCE_STD = 300  # int16 units: windows of the reference quieter than this are not compared


def best_lag(reference: np.ndarray, recording: np.ndarray) -> int:
    """Samples by which recording lags reference, from the peak of their FFT cross-correlation."""
    size = 1 << int(np.ceil(np.log2(len(reference) + len(recording))))
    corr = np.fft.irfft(np.fft.rfft(recording, size) * np.conj(np.fft.rfft(reference, size)), size)
    lag = int(np.argmax(corr))
    return lag if lag < size // 2 else lag - size


def _normalised_dot(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def global_correlation(reference: np.ndarray, recording: np.ndarray) -> float:
    """Pearson correlation of the two at their single best alignment, over the reference's span."""
    lag = best_lag(reference, recording)
    start = max(0, -lag)
    stop = min(len(reference), len(recording) - lag)
    return _normalised_dot(reference[start:stop], recording[start + lag : stop + lag])


def aligned_correlation(reference: np.ndarray, recording: np.ndarray) -> float:
    """Energy-weighted mean correlation of the reference's 100 ms speech windows, each aligned
    within +-10 ms of the global alignment.

    The fake microphone and the audio graph run on different clocks, so the browser adapts
    its rate now and then; per-window alignment follows that slow drift, while a missing,
    repeated or reordered chunk still ruins the windows it touches.
    """
    lag0 = best_lag(reference, recording)
    scores, weights = [], []
    for start in range(0, len(reference) - WINDOW, WINDOW):
        piece = reference[start : start + WINDOW]
        if piece.std() < SILENCE_STD:
            continue
        best = -1.0
        for lag in range(lag0 - SLACK, lag0 + SLACK + 1):
            begin = start + lag
            if 0 <= begin and begin + WINDOW <= len(recording):
                best = max(best, _normalised_dot(piece, recording[begin : begin + WINDOW]))
        scores.append(best)
        weights.append(float(np.sum((piece - piece.mean()) ** 2)))
    if not scores:
        raise ValueError("the reference holds no speech")
    return float(np.average(scores, weights=weights))
