"""Audio facts in one place: wire PCM <-> float32, samples <-> milliseconds, whole windows of samples."""

from __future__ import annotations

import numpy as np
import soxr

from inference.engines.base import ENGINE_SAMPLE_RATE

_INT16_SCALE = 32768.0

SILERO_WINDOW_SAMPLES = 512
"""Silero VAD's frame: 32 ms at ENGINE_SAMPLE_RATE (both engines' VADs)."""


def samples_to_ms(samples: int, rate: int = ENGINE_SAMPLE_RATE) -> int:
    """Whole milliseconds that `samples` last at `rate` (rounded down)."""
    return samples * 1000 // rate


def ms_to_samples(ms: float, rate: int = ENGINE_SAMPLE_RATE) -> int:
    """Samples that `ms` milliseconds hold at `rate` (rounded down)."""
    return int(ms * rate // 1000)


class WindowBuffer:
    """Samples in, whole windows out: what does not fill a window waits for the next push."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._rest = np.zeros(0, dtype=np.float32)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Every whole window the buffered samples now fill, as one array (possibly empty)."""
        buffered = np.concatenate([self._rest, samples.astype(np.float32, copy=False)])
        whole = len(buffered) // self.window * self.window
        self._rest = buffered[whole:]
        return buffered[:whole]

    def drain(self) -> np.ndarray:
        """The samples short of a window, taken out."""
        rest, self._rest = self._rest, np.zeros(0, dtype=np.float32)
        return rest

    def clear(self) -> None:
        self._rest = np.zeros(0, dtype=np.float32)


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    """Signed 16-bit little-endian PCM to float32 samples in [-1, 1)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / _INT16_SCALE


def float_to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples to signed 16-bit little-endian PCM, clipped; the exact inverse of pcm16_to_float."""
    scaled = np.round(np.asarray(samples, dtype=np.float64) * _INT16_SCALE)
    return np.clip(scaled, -32768, 32767).astype("<i2").tobytes()


class InputConverter:
    """Turns a stream's PCM chunks into engine-rate float32 audio, keeping resampler state across chunks."""

    def __init__(self, input_sample_rate: int) -> None:
        self.input_sample_rate = input_sample_rate
        self._resampler = (
            None
            if input_sample_rate == ENGINE_SAMPLE_RATE
            else soxr.ResampleStream(input_sample_rate, ENGINE_SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        )

    def convert(self, pcm: bytes) -> np.ndarray:
        samples = pcm16_to_float(pcm)
        if self._resampler is None:
            return samples
        return self._resampler.resample_chunk(samples)

    def finish(self) -> np.ndarray:
        """Samples the resampler still holds at end of input."""
        if self._resampler is None:
            return np.zeros(0, dtype=np.float32)
        return self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)

    def reset(self) -> None:
        if self._resampler is not None:
            self._resampler.clear()


def split_samples(samples: np.ndarray, max_samples: int) -> list[np.ndarray]:
    """Cut samples into consecutive pieces of at most max_samples (one empty piece for empty input)."""
    if len(samples) == 0:
        return [samples]
    return [samples[start : start + max_samples] for start in range(0, len(samples), max_samples)]
