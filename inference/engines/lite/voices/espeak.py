"""eSpeak NG voices (Debian's `espeak-ng`, GPL-3.0, run as a separate program for each sentence).

Robotic but fast (13-17 ms a sentence) and in about a hundred languages: the voice of every
language no neural voice speaks, and the stand-in when a neural voice fails to load.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import wave
from collections.abc import Iterator

import numpy as np
import pycountry
import soxr

from inference.engines.base import ENGINE_SAMPLE_RATE
from inference.engines.lite.voices.base import SynthesisFailed, Voice

SYNTH_TIMEOUT_SECONDS = 10.0
MAX_TEXT_CHARS = 2000
SILENCE_LEVEL = 0.01  # -40 dBFS: below any voiced sound eSpeak NG makes
KEPT_TAIL_SECONDS = 0.05
# Where a language has several eSpeak NG voices and none is named plainly after it (`es`, `de`).
PREFERRED = {"eng": "en-us", "fra": "fr-fr"}


class SynthesisUnavailable(RuntimeError):
    """espeak-ng is not installed."""


def espeak_binary() -> str:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise SynthesisUnavailable("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    return binary


class EspeakVoice(Voice):
    """Text to float32 speech at ENGINE_SAMPLE_RATE; runs espeak-ng without blocking the event loop."""

    kind = "espeak"

    def __init__(self, language: str, espeak_voice: str, rate_wpm: int, fallback_reason: str = "") -> None:
        self._binary = espeak_binary()
        self._voice = espeak_voice
        self._rate_wpm = rate_wpm
        self.language = language
        self.label = f"eSpeak NG {espeak_voice}"
        self.fallback_reason = fallback_reason

    async def speak(self, text: str) -> np.ndarray:
        if not text.strip():
            return np.zeros(0, dtype=np.float32)
        process = await asyncio.create_subprocess_exec(
            self._binary, "-v", self._voice, "-s", str(self._rate_wpm), "--stdout", text[:MAX_TEXT_CHARS],
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            wav_bytes, _ = await asyncio.wait_for(process.communicate(), SYNTH_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            process.kill()
            raise SynthesisFailed(f"espeak-ng took over {SYNTH_TIMEOUT_SECONDS:.0f} s") from exc
        except BaseException:
            process.kill()
            raise
        if process.returncode != 0:
            raise SynthesisFailed(f"espeak-ng exited with status {process.returncode}")
        return _without_silent_tail(_decode_wav(wav_bytes))


def espeak_voices(rate_wpm: int, english_voice: str = "") -> dict[str, EspeakVoice]:
    """An eSpeak NG voice for each ISO 639-3 language it speaks (its plainly named voice, or PREFERRED's)."""
    by_language: dict[str, list[str]] = {}
    for code in _installed_voice_codes():
        iso3 = _iso3(code.split("-")[0])
        if iso3:
            by_language.setdefault(iso3, []).append(code)
    chosen = {language: _pick(language, codes) for language, codes in by_language.items()}
    if english_voice:
        chosen["eng"] = english_voice
    return {language: EspeakVoice(language, code, rate_wpm) for language, code in chosen.items()}


def _installed_voice_codes() -> Iterator[str]:
    listing = subprocess.run([espeak_binary(), "--voices"], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 1:
            yield fields[1]


def _iso3(primary: str) -> str | None:
    language = pycountry.languages.get(**{"alpha_2" if len(primary) == 2 else "alpha_3": primary})
    return getattr(language, "alpha_3", None)


def _pick(language: str, codes: list[str]) -> str:
    if language in PREFERRED and PREFERRED[language] in codes:
        return PREFERRED[language]
    plain = [code for code in codes if "-" not in code]
    return (plain or codes)[0]


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
