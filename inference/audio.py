"""Conversions between wire PCM and the float32 arrays engines use."""

from __future__ import annotations

import numpy as np
import soxr

from inference.engines.base import ENGINE_SAMPLE_RATE

_INT16_SCALE = 32768.0


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
