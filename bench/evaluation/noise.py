"""Harder speech: background noise mixed into each utterance at a chosen signal-to-noise ratio.

The SNR is the speech's active power (mean square over its 10 ms frames louder than SPEECH_LEVEL: a level
meter's idea of talk, pauses excluded) over the noise's mean power across the whole file. The noise covers
the file from its first sample to its last, silences included, as a room's does. Every draw is seeded, so a
run can be repeated sample for sample.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.evaluation.builtin import builtin_sentences
from bench.evaluation.client import read_recording
from bench.evaluation.manifest import Utterance
from bench.evaluation.metrics import SPEECH_LEVEL, frame_levels, speech_span_ms
from harness.speech import below_clipping, colored_noise, sentence_babble, write_wav

NOISE_KINDS = ("babble", "pink", "brown")
BABBLE_TALKERS = 4  # other sentences of the built-in set, talking at once behind the speaker


def active_power(samples: np.ndarray, rate: int) -> float:
    """Mean square of the 10 ms frames louder than SPEECH_LEVEL (of all samples when none is)."""
    levels, _ = frame_levels(samples, rate)
    loud = levels[levels > SPEECH_LEVEL]
    return float(np.mean(loud**2)) if len(loud) else float(np.mean(samples**2))


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, rate: int, snr_db: float) -> np.ndarray:
    """speech plus noise scaled to snr_db below the speech's active power."""
    gain = np.sqrt(active_power(speech, rate) / 10 ** (snr_db / 10) / np.mean(noise**2))
    return below_clipping(speech + gain * noise)  # turned down as a whole: the SNR stays


def measured_snr_db(clean: np.ndarray, mixed: np.ndarray, rate: int) -> float:
    """The SNR of mixed, measured against the clean speech it was made from: the speech in the mix is
    clean's projection onto it (the mix may have been turned down as a whole), the noise what remains."""
    speech = clean * (np.dot(mixed, clean) / np.dot(clean, clean))
    return float(10 * np.log10(active_power(speech, rate) / np.mean((mixed - speech) ** 2)))


def noise_for(kind: str, utterance: Utterance, samples: int, rate: int, seed: int, workdir: Path) -> np.ndarray:
    """seed's noise of kind, as long as the utterance; babble speaks other sentences of the built-in set."""
    if kind == "babble":
        others = list(dict.fromkeys((row.voice, row.sentence) for row in builtin_sentences()  # one of each sentence
                                    if row.sentence != utterance.transcript))
        return sentence_babble(random.Random(seed).sample(others, BABBLE_TALKERS), samples, rate, seed, workdir)
    return colored_noise(kind, samples, rate, seed)


def noisy_utterances(utterances: list[Utterance], kind: str, snr_db: float, seed: int,
                     workdir: Path) -> list[Utterance]:
    """Each utterance with noise of kind mixed in at snr_db (seed + its index), written under workdir; the
    speech span is taken from the clean file, before noise hides it."""
    noisy = []
    for index, utterance in enumerate(utterances):
        recording = read_recording(Path(utterance.audio))
        rate = recording.sample_rate_hz
        clean = np.frombuffer(recording.pcm, dtype="<i2").astype(np.float64) / 32768
        noise = noise_for(kind, utterance, len(clean), rate, seed + index, workdir)
        path = write_wav(workdir / f"{Path(utterance.audio).stem}.{kind}-{snr_db:g}dB.wav",
                         mix_at_snr(clean, noise, rate, snr_db), rate)
        noisy.append(replace(utterance, audio=path, speech_span_ms=speech_span_ms(recording.pcm, rate)))
    return noisy
