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

from inference.engines.lite.voices.audio import at_engine_rate, without_silent_tail
from inference.engines.lite.voices.base import MAX_TEXT_CHARS, SynthesisFailed, Voice

SYNTH_TIMEOUT_SECONDS = 10.0
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

    def standing_in(self, reason: str) -> EspeakVoice:
        """This voice, speaking in place of a neural voice that failed to load for `reason`."""
        return EspeakVoice(self.language, self._voice, self._rate_wpm, fallback_reason=reason)

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
        return without_silent_tail(_decode_wav(wav_bytes))


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


def _decode_wav(wav_bytes: bytes) -> np.ndarray:
    # espeak-ng writes a streaming WAV whose size fields are unset; wave reads the frames regardless.
    with wave.open(io.BytesIO(wav_bytes)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes() or 1 << 30), dtype="<i2")
    return at_engine_rate(samples.astype(np.float32) / 32768.0, rate)
