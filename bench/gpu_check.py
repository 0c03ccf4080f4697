"""Translate a WAV file through the real SeamlessStreaming model and report latency for 1, 4 and 16 sessions.

For a person with an NVIDIA GPU and the seamless image (or its packages):

    docker run --gpus all --rm -v $PWD:/data s2st/inference python bench/gpu_check.py /data/speech.wav --target spa

It loads the engine in-process (no gRPC: this measures the model and the
scheduler), streams the file in real time as 20 ms chunks from N concurrent
sessions, and prints per-session first-output latency, ending offset (end of
input speech to end of the translated speech, played as it arrives), real-time
factor, the translation of the first session, GPU memory and load time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from inference.engines.base import ENGINE_SAMPLE_RATE, SessionSettings, Side, SpeechAudio, TranscriptUpdate  # noqa: E402
from inference.engines.seamless import SeamlessEngine  # noqa: E402

CHUNK = ENGINE_SAMPLE_RATE * 20 // 1000


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as reader:
        if reader.getnchannels() != 1 or reader.getsampwidth() != 2:
            raise SystemExit("the WAV must be 16-bit mono")
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").astype(np.float32) / 32768
    if rate != ENGINE_SAMPLE_RATE:
        import soxr

        samples = soxr.resample(samples, rate, ENGINE_SAMPLE_RATE).astype(np.float32)
    return samples


async def one_session(engine: SeamlessEngine, audio: np.ndarray, target: str) -> dict:
    session = engine.open_session(SessionSettings(target_language=target))
    start = time.perf_counter()
    first_audio = None
    playout_end = start
    compute = 0.0
    text = ""
    for index in range(0, len(audio), CHUNK):
        await asyncio.sleep(max(0.0, start + index / ENGINE_SAMPLE_RATE - time.perf_counter()))
        step = time.perf_counter()
        events = await session.push(audio[index : index + CHUNK])
        compute += time.perf_counter() - step
        now = time.perf_counter()
        for event in events:
            if isinstance(event, SpeechAudio) and len(event.samples):
                first_audio = first_audio or now
                playout_end = max(playout_end, now) + len(event.samples) / ENGINE_SAMPLE_RATE
            if isinstance(event, TranscriptUpdate) and event.side is Side.TARGET:
                text = event.text
    input_end = time.perf_counter()
    for event in await session.flush():
        now = time.perf_counter()
        if isinstance(event, SpeechAudio) and len(event.samples):
            first_audio = first_audio or now
            playout_end = max(playout_end, now) + len(event.samples) / ENGINE_SAMPLE_RATE
        if isinstance(event, TranscriptUpdate) and event.side is Side.TARGET:
            text = event.text or text
    await session.close()
    return {
        "first_output_s": (first_audio - start) if first_audio else float("nan"),
        "ending_offset_s": playout_end - input_end,
        "rtf": compute / (len(audio) / ENGINE_SAMPLE_RATE),
        "text": text,
    }


async def run_level(engine: SeamlessEngine, audio: np.ndarray, target: str, sessions: int) -> list[dict]:
    return await asyncio.gather(*(one_session(engine, audio, target) for _ in range(sessions)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wav", type=Path, help="16-bit mono speech, any rate")
    parser.add_argument("--target", default="spa", help="target language (ISO 639-3), default spa")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    audio = read_wav(args.wav)
    engine = SeamlessEngine.from_environ(os.environ)
    started = time.perf_counter()
    engine.load()
    print(f"model: {engine.model_id}; load {time.perf_counter() - started:.1f} s; input {len(audio) / 16000:.1f} s")
    print(f"{'sessions':>8} {'first out p50 s':>15} {'p90':>6} {'ending off p50 s':>16} {'p90':>6} {'RTF p50':>8}")
    for level in args.levels:
        results = asyncio.run(run_level(engine, audio, args.target, level))
        first = [r["first_output_s"] for r in results]
        ending = [r["ending_offset_s"] for r in results]
        rtf = [r["rtf"] for r in results]
        q = lambda values, p: float(np.nanpercentile(values, p))  # noqa: E731
        print(f"{level:>8} {q(first, 50):>15.2f} {q(first, 90):>6.2f} {q(ending, 50):>16.2f} {q(ending, 90):>6.2f} "
              f"{statistics.median(rtf):>8.2f}")
        if level == args.levels[0]:
            print(f"         translation: {results[0]['text']}")
    try:
        import torch

        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    except Exception as error:  # the report still stands without it
        print(f"GPU memory unknown: {error}")


if __name__ == "__main__":
    main()
