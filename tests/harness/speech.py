"""Test speech made at test time with espeak-ng and sox (Debian packages)."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np

SENTENCES = {
    "spa": ("es", "Buenos días. Muchas gracias por su ayuda, amigo."),
    "fra": ("fr", "Bonjour. Merci beaucoup pour votre aide."),
    "deu": ("de", "Guten Morgen. Vielen Dank für Ihre Hilfe."),
}


def speak(text: str, voice: str, path: Path, rate: int = 16_000, lead_silence_s: float = 0.5,
          tail_silence_s: float = 1.0) -> Path:
    """A mono 16-bit WAV at `rate` of espeak-ng saying text, framed by silence; the same bytes every time."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True, capture_output=True)
    # -R: sox dithers with random noise when it converts; repeatable, the same speech every time.
    subprocess.run(["sox", "-R", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path),
                    "pad", str(lead_silence_s), str(tail_silence_s)], check=True, capture_output=True)
    raw.unlink()
    return path


NOISES = {
    # What a microphone hears when nobody speaks: sox synthesis, 16 kHz mono.
    "silence": ["trim", "0", "{seconds}"],
    "hiss": ["synth", "{seconds}", "whitenoise", "vol", "0.01"],
    "loud white noise": ["synth", "{seconds}", "whitenoise", "vol", "0.5"],
    "loud pink noise": ["synth", "{seconds}", "pinknoise", "vol", "0.5"],
    "brown noise": ["synth", "{seconds}", "brownnoise", "vol", "0.7"],
    "music-like tones": ["synth", "{seconds}", "sine", "220-880", "sine", "330", "sine", "392", "tremolo", "2", "80",
                         "vol", "0.4"],
    "pulsing noise": ["synth", "{seconds}", "pinknoise", "vol", "0.6", "tremolo", "4", "90"],
}


def noise(kind: str, seconds: float, path: Path) -> Path:
    """A mono 16-bit 16 kHz WAV of a NOISES kind, or of keyboard-like clicks (`clicks`); the same noise every
    time (sox -R), so a failure can be replayed."""
    if kind == "clicks":  # 8 ms bursts of noise every 150 ms, about a fast typist's rate
        click = path.with_suffix(".click.wav")
        subprocess.run(["sox", "-R", "-n", "-r", "16000", "-c", "1", "-b", "16", str(click), "synth", "0.008", "whitenoise",
                        "vol", "0.8", "pad", "0", "0.142"], check=True, capture_output=True)
        subprocess.run(["sox", "-R", str(click), str(path), "repeat", str(int(seconds / 0.15))], check=True,
                       capture_output=True)
        click.unlink()
        return path
    effects = [part.format(seconds=seconds) for part in NOISES[kind]]
    subprocess.run(["sox", "-R", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), *effects], check=True,
                   capture_output=True)
    return path


TWO_PHRASES = (  # Spanish; Whisper base transcribes both reliably ("días", "museo"), translates the second less so
    "Buenos días. Muchas gracias por su ayuda, amigo.",
    "Mañana por la tarde vamos a visitar el museo de la ciudad con mis padres.",
)


def two_phrases(path: Path, pause_s: float, rate: int = 48_000) -> Path:
    """TWO_PHRASES spoken in Spanish with pause_s of silence after each, as one WAV."""
    first, second = (speak(text, "es", path.with_suffix(f".{i}.wav"), rate=rate, lead_silence_s=0.3 if i == 0 else 0,
                           tail_silence_s=pause_s) for i, text in enumerate(TWO_PHRASES))
    subprocess.run(["sox", "-R", str(first), str(second), str(path)], check=True, capture_output=True)
    return path


def babble(seconds: float, path: Path) -> Path:
    """Speech-like sound in no language: espeak-ng voices saying a pangram, reversed, repeated."""
    parts = []
    for voice in ("en", "de", "fr"):
        parts.append(speak("the quick brown fox jumps over the lazy dog while seven wizards quietly hex the jovial "
                           "boxer near the old mill", voice, path.with_suffix(f".{voice}.wav"), 16_000, 0, 0))
    subprocess.run(["sox", "-R", *map(str, parts), str(path), "reverse", "repeat", "9", "trim", "0", str(seconds)],
                   check=True, capture_output=True)
    for part in parts:
        part.unlink()
    return path


def read_pcm(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path)) as reader:
        return reader.readframes(reader.getnframes()), reader.getframerate()


def rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0
