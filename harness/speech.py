"""Test speech made at test time with espeak-ng and sox (Debian packages), and seeded noise to mix into it."""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Sequence
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


def phrases(spoken: Sequence[tuple[str, float]], voice: str, path: Path, rate: int = 48_000) -> Path:
    """Each (text, seconds of silence after it) spoken in turn by an espeak-ng voice, as one WAV."""
    parts = [speak(text, voice, path.with_suffix(f".{i}.wav"), rate=rate, lead_silence_s=0.3 if i == 0 else 0,
                   tail_silence_s=pause_s) for i, (text, pause_s) in enumerate(spoken)]
    subprocess.run(["sox", "-R", *map(str, parts), str(path)], check=True, capture_output=True)
    return path


def two_phrases(path: Path, pause_s: float, rate: int = 48_000) -> Path:
    """TWO_PHRASES spoken in Spanish with pause_s of silence after each, as one WAV."""
    return phrases([(text, pause_s) for text in TWO_PHRASES], "es", path, rate)


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


COLORED_NOISE_EXPONENTS = {"pink": 0.5, "brown": 1.0}  # amplitude falls as f^-exponent: power 1/f, 1/f^2
LOWEST_NOISE_HZ = 20  # a microphone's low cut; below it brown noise would be mostly inaudible rumble


def colored_noise(kind: str, samples: int, rate: int, seed: int) -> np.ndarray:
    """Pink or brown Gaussian noise (float64, RMS 1): white noise from a generator seeded with seed, shaped
    in the frequency domain; the same samples for the same arguments."""
    white = np.random.default_rng(seed).standard_normal(samples)
    spectrum = np.fft.rfft(white)
    frequencies = np.fft.rfftfreq(samples, 1 / rate)
    audible = frequencies >= LOWEST_NOISE_HZ
    spectrum[~audible] = 0
    spectrum[audible] /= frequencies[audible] ** COLORED_NOISE_EXPONENTS[kind]
    noise = np.fft.irfft(spectrum, n=samples)
    return noise / np.sqrt(np.mean(noise**2))


def sentence_babble(sentences: list[tuple[str, str]], samples: int, rate: int, seed: int, workdir: Path) -> np.ndarray:
    """Several talkers at once (float64, RMS 1): each (eSpeak voice, sentence) spoken, repeated to the length
    and started at a seeded offset, all summed; the crowd one hears behind a speaker in a cafe."""
    rng = np.random.default_rng(seed)
    crowd = np.zeros(samples)
    for index, (voice, sentence) in enumerate(sentences):
        talker, _ = read_samples(speak(sentence, voice, workdir / f"babble-{seed}-{index}.wav", rate, 0, 0))
        talker /= np.sqrt(np.mean(talker**2)) or 1.0
        crowd += np.roll(np.resize(talker, samples), int(rng.integers(len(talker))))
    return crowd / (np.sqrt(np.mean(crowd**2)) or 1.0)


def read_pcm(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path)) as reader:
        return reader.readframes(reader.getnframes()), reader.getframerate()


def read_samples(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit mono WAV as float64 samples (full scale 1.0) and its rate."""
    pcm, rate = read_pcm(path)
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768, rate


HEADROOM = 0.9  # the highest peak test speech is given: a voice or a mix louder than that is turned down


def below_clipping(samples: np.ndarray) -> np.ndarray:
    """samples turned down as a whole when they peak above HEADROOM (so nothing clips), else as they are."""
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    return samples * (HEADROOM / peak) if peak > HEADROOM else samples


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Float samples (full scale 1.0; clipped beyond it) as a 16-bit mono WAV."""
    pcm = np.round(np.clip(samples, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return path


def rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0
