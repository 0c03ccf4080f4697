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
    """A mono 16-bit WAV at `rate` of espeak-ng saying text, framed by silence."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path),
                    "pad", str(lead_silence_s), str(tail_silence_s)], check=True, capture_output=True)
    raw.unlink()
    return path


def read_pcm(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path)) as reader:
        return reader.readframes(reader.getnframes()), reader.getframerate()


def rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0
