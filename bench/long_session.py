"""Does latency or memory drift over a long session? One lite-engine session of 30 minutes at real-time pace.

Streams espeak-ng utterances (bench/engine.py's) separated by pauses of 2 s to
2 minutes through one gRPC Translate stream, in 20 ms chunks at real-time pace,
and records each segment's first-output latency and ending offset (the worker's
own figures) against session time, and the worker's RSS every 5 s. Prints the
figures per 5-minute window and the least-squares slope of each series; writes
the series as JSON and, with matplotlib (`pip install -e ".[bench]"`), a plot.
Usage: `.venv/bin/python -m bench.long_session [--minutes 30] [--out bench-out/]`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.engine import UTTERANCES
from harness.grpc_client import translate_in_real_time
from harness.servers import rss_mb, running, start_worker
from harness.speech import read_pcm, speak

from s2st.v1 import translation_pb2 as pb

PAUSES_S = (2, 5, 2, 20, 3, 60, 2, 8, 120, 4)  # cycled: short turns, and long silences between them
RSS_EVERY_S = 5.0
WINDOW_MINUTES = 5


def session_audio(minutes: float, workdir: Path) -> bytes:
    """Utterances and pauses, in turn, until `minutes` of audio."""
    spoken = [read_pcm(speak(text, voice, workdir / f"u{i}.wav", lead_silence_s=0, tail_silence_s=0))[0]
              for i, (_, voice, text) in enumerate(UTTERANCES)]
    parts, total = [], 0
    for pcm, pause in zip(itertools.cycle(spoken), itertools.cycle(PAUSES_S)):
        parts += [pcm, bytes(2 * 16_000 * pause)]
        total += len(pcm) + 2 * 16_000 * pause
        if total >= minutes * 60 * 32_000:
            return b"".join(parts)
    raise AssertionError("unreachable")


async def sample_rss(pid: int, into: list[tuple[float, float]], done: asyncio.Event) -> None:
    start = time.monotonic()
    while not done.is_set():
        into.append((time.monotonic() - start, rss_mb(pid)))
        await asyncio.sleep(RSS_EVERY_S)


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return float("nan")
    x, y = np.array(points).T
    return float(np.polyfit(x / 60, y, 1)[0])


async def measure(minutes: float, workdir: Path) -> dict[str, list[tuple[float, float]]]:
    pcm = session_audio(minutes, workdir)
    env = {"S2ST_LOG_LEVEL": "WARNING", "S2ST_MAX_SESSION_SECONDS": str(minutes * 60 + 600),
           "S2ST_IDLE_SESSION_SECONDS": "0"}
    with running(start_worker("lite", env, log_dir=workdir)) as worker:
        rss: list[tuple[float, float]] = []
        done = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(worker.process.pid, rss, done))
        config = pb.SessionConfig(target_language="eng")  # the source language detected
        stats = [r.stats for r in await translate_in_real_time(worker.address, config, pcm) if r.HasField("stats")]
        done.set()
        await sampler
    return {
        "first_output_latency_ms": [(s.speech_start_ms / 1000, s.first_output_latency_ms) for s in stats
                                    if s.HasField("first_output_latency_ms")],
        "ending_offset_ms": [(s.speech_end_ms / 1000, s.ending_offset_ms) for s in stats
                             if s.HasField("ending_offset_ms")],
        "worker_rss_mb": rss,
    }


def report(series: dict[str, list[tuple[float, float]]], minutes: float) -> None:
    windows = range(0, int(minutes), WINDOW_MINUTES)
    print(f"{'minutes':>9} " + " ".join(f"{name:>24}" for name in series) + "   (medians)")
    for start in windows:
        cells = []
        for points in series.values():
            values = [v for t, v in points if start * 60 <= t < (start + WINDOW_MINUTES) * 60]
            cells.append(f"{statistics.median(values):>24.0f}" if values else f"{'-':>24}")
        print(f"{start:>3}-{start + WINDOW_MINUTES:<5} " + " ".join(cells))
    print(f"{'slope/min':>9} " + " ".join(f"{slope_per_minute(p):>24.2f}" for p in series.values()))
    print(f"segments: {len(series['ending_offset_ms'])}")


def plot(series: dict[str, list[tuple[float, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, memory) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for name, marker in (("first_output_latency_ms", "o"), ("ending_offset_ms", "s")):
        t, v = np.array(series[name]).T
        latency.plot(t / 60, v, marker, markersize=3, label=name.replace("_ms", "").replace("_", " "))
    latency.set_ylabel("ms")
    latency.legend()
    latency.grid(alpha=0.3)
    t, v = np.array(series["worker_rss_mb"]).T
    memory.plot(t / 60, v)
    memory.set_ylabel("worker RSS, MB")
    memory.set_xlabel("session time, minutes")
    memory.grid(alpha=0.3)
    figure.suptitle("One lite-engine session at real-time pace (bench/long_session.py)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    series = asyncio.run(measure(args.minutes, Path(tempfile.mkdtemp(prefix="bench-long-"))))
    (args.out / "long_session.json").write_text(json.dumps(series))
    report(series, args.minutes)
    try:
        plot(series, args.out / "long_session.png")
        print(f"plot: {args.out / 'long_session.png'}")
    except ImportError:
        print('no plot: matplotlib is missing (pip install -e ".[bench]")')


if __name__ == "__main__":
    main()
