"""Where upstream's Silero VAD agent cuts segments, with one Silero model or another, on espeak-ng speech.

    .venv-seamless/bin/python -m bench.seamless_vad_versions [MODEL.jit ...]   # after `make test-seamless`

Upstream's VAD thresholds (--silence-limit-ms 700, --init-speech-prob 0.15,
--speech-soft-limit-ms 12000) were set for the Silero model of late 2023 (v4).
This feeds ten espeak-ng sentences (en, es, fr, de) separated by pauses of
0.3 to 2 s, in 320 ms chunks, through the seamless engine (upstream's agents
over harness/tiny_models.py) once per Silero TorchScript model: the
pinned silero-vad package's, then each file named. It prints, per model, how
many segments the VAD made, which pauses it cut at (every pause of 0.7 s and
more should be a cut, shorter ones should not), and how far each segment's
start and end fall from the nearest sentence start and end (from the
espeak-ng audio's level). Segment ends are the engine's SpeechEnded offsets
(input consumed minus --silence-limit-ms), so they move in 320 ms steps.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import wave
from pathlib import Path
from statistics import median

import numpy as np

from harness.speech import speak
from harness.tiny_models import make_tiny_models

from inference.engines.base import SessionSettings, SpeechEnded, SpeechStarted
from inference.engines.seamless import SeamlessEngine
from inference.engines.seamless.settings import SAMPLE_RATE, SeamlessSettings

SENTENCES = [("en", "Good morning, thank you very much for your help."),
             ("es", "Buenos días. Muchas gracias por su ayuda, amigo."),
             ("fr", "Le train pour Paris part à huit heures demain matin."),
             ("de", "Das Wetter ist heute sehr schön, deshalb gehen wir spazieren."),
             ("en", "The quick brown fox jumps over the lazy dog."),
             ("es", "Mañana por la tarde vamos a visitar el museo."),
             ("fr", "Bonjour, merci beaucoup pour votre aide, mon ami."),
             ("de", "Guten Morgen, vielen Dank für Ihre Hilfe."),
             ("en", "We are going to the park this afternoon."),
             ("es", "La reunión empieza a las nueve en punto.")]
PAUSES_S = [0.3, 1.0, 0.5, 2.0, 0.8, 0.4, 1.5, 0.6, 1.2]  # after each sentence but the last
CHUNK = 5120  # 320 ms, as upstream's streaming evaluation pushes


def sentence(voice: str, text: str, directory: Path) -> np.ndarray:
    path = speak(text, voice, directory / "s.wav", lead_silence_s=0, tail_silence_s=0)
    with wave.open(str(path)) as reader:
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").astype(np.float32) / 32768


def speech_span(audio: np.ndarray) -> tuple[int, int]:
    """First and last sample above -40 dBFS in 10 ms frames: espeak-ng pads its own output a little."""
    frame = SAMPLE_RATE // 100
    loud = [i for i in range(0, len(audio) - frame, frame) if np.sqrt(np.mean(audio[i : i + frame] ** 2)) > 0.01]
    return loud[0], loud[-1] + frame


def programme(directory: Path) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The whole input and the speech span (ms) of each sentence in it."""
    parts, spans, at = [np.zeros(SAMPLE_RATE // 2, np.float32)], [], SAMPLE_RATE // 2
    for index, (voice, text) in enumerate(SENTENCES):
        audio = sentence(voice, text, directory)
        start, end = speech_span(audio)
        spans.append(((at + start) * 1000 // SAMPLE_RATE, (at + end) * 1000 // SAMPLE_RATE))
        parts.append(audio)
        at += len(audio)
        pause = np.zeros(int(SAMPLE_RATE * (PAUSES_S[index] if index < len(PAUSES_S) else 2.0)), np.float32)
        parts.append(pause)
        at += len(pause)
    return np.concatenate(parts), spans


async def segments(engine: SeamlessEngine, audio: np.ndarray) -> list[tuple[int, int]]:
    session = engine.open_session(SessionSettings(target_language="eng", speech_output=False))
    events = []
    for start in range(0, len(audio), CHUNK):
        events += await session.push(audio[start : start + CHUNK])
    events += await session.flush()
    starts = {e.segment_id: e.at_ms for e in events if isinstance(e, SpeechStarted)}
    return [(starts[e.segment_id], e.at_ms) for e in events if isinstance(e, SpeechEnded)]


def report(name: str, cuts: list[tuple[int, int]], spans: list[tuple[int, int]]) -> None:
    pauses = [(spans[i][1], spans[i + 1][0]) for i in range(len(spans) - 1)]
    cut_at = [any(a <= end <= b + 700 for _, end in cuts) for a, b in pauses]
    long_cut = sum(c for c, p in zip(cut_at, PAUSES_S) if p >= 0.7)
    short_cut = sum(c for c, p in zip(cut_at, PAUSES_S) if p < 0.7)
    # Each segment's start against the nearest sentence start, its end against the nearest sentence end.
    starts = [s - min((span[0] for span in spans), key=lambda t: abs(t - s)) for s, _ in cuts]
    ends = [e - min((span[1] for span in spans), key=lambda t: abs(t - e)) for _, e in cuts]
    print(f"{name}: {len(cuts)} segments; cut at {long_cut}/{sum(p >= 0.7 for p in PAUSES_S)} pauses of 0.7 s or more,"
          f" {short_cut}/{sum(p < 0.7 for p in PAUSES_S)} shorter; segment start - speech start: median"
          f" {median(starts):+.0f} ms; segment end - speech end: median {median(ends):+.0f} ms,"
          f" range {min(ends):+d} to {max(ends):+d} ms")
    print("   segments (ms):", " ".join(f"{s}-{e}" for s, e in cuts))


def main() -> None:
    import torch

    from inference.engines.seamless.vad import PinnedSileroVADAgent, load_pinned_silero_model

    models = {"silero-vad package (pinned)": load_pinned_silero_model()}
    models |= {path: torch.jit.load(path) for path in sys.argv[1:]}
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        engine = SeamlessEngine(SeamlessSettings.from_environ(make_tiny_models(directory / "models").worker_environ()))
        engine.load()
        audio, spans = programme(directory)
        print(f"{len(audio) / SAMPLE_RATE:.1f} s; speech (ms):", " ".join(f"{s}-{e}" for s, e in spans))
        vad = next(m for m in engine._agents.text.module_dict if isinstance(m, PinnedSileroVADAgent))
        for name, model in models.items():
            vad._model = model
            report(name, asyncio.run(segments(engine, audio)), spans)


if __name__ == "__main__":
    main()
