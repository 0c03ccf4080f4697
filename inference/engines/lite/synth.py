"""Speech synthesis with eSpeak NG (Debian's `espeak-ng`, run as a separate program)."""

from __future__ import annotations

import asyncio
import io
import shutil
import wave

import numpy as np
import soxr

from inference.engines.base import ENGINE_SAMPLE_RATE

SYNTH_TIMEOUT_SECONDS = 10.0
MAX_TEXT_CHARS = 2000
SILENCE_LEVEL = 0.01  # -40 dBFS: below any voiced sound eSpeak NG makes
KEPT_TAIL_SECONDS = 0.05


class SynthesisUnavailable(RuntimeError):
    """espeak-ng is not installed."""


def espeak_binary() -> str:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise SynthesisUnavailable("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    return binary


class Synthesizer:
    """Text to float32 speech at ENGINE_SAMPLE_RATE; runs espeak-ng without blocking the event loop."""

    def __init__(self, rate_wpm: int) -> None:
        self._binary = espeak_binary()
        self._rate_wpm = rate_wpm

    async def speak(self, text: str, voice: str) -> np.ndarray:
        if not text.strip():
            return np.zeros(0, dtype=np.float32)
        process = await asyncio.create_subprocess_exec(
            self._binary, "-v", voice, "-s", str(self._rate_wpm), "--stdout", text[:MAX_TEXT_CHARS],
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            wav_bytes, _ = await asyncio.wait_for(process.communicate(), SYNTH_TIMEOUT_SECONDS)
        except BaseException:
            process.kill()
            raise
        return _without_silent_tail(_decode_wav(wav_bytes))


def _without_silent_tail(audio: np.ndarray) -> np.ndarray:
    """eSpeak NG ends every utterance with 230-250 ms of silence: dead air the listener waits through
    after the last word before the speech counts as over. Keep 50 ms."""
    loud = np.flatnonzero(np.abs(audio) > SILENCE_LEVEL)
    end = loud[-1] + 1 + int(KEPT_TAIL_SECONDS * ENGINE_SAMPLE_RATE) if len(loud) else 0
    return audio[:end]


def _decode_wav(wav_bytes: bytes) -> np.ndarray:
    # espeak-ng writes a streaming WAV whose size fields are unset; wave reads the frames regardless.
    with wave.open(io.BytesIO(wav_bytes)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes() or 1 << 30), dtype="<i2")
    audio = samples.astype(np.float32) / 32768.0
    return soxr.resample(audio, rate, ENGINE_SAMPLE_RATE).astype(np.float32) if rate != ENGINE_SAMPLE_RATE else audio
