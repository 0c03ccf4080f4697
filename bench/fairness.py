"""Fairness: one speaker's first output while other sessions send audio faster than real time.

For each condition a fresh lite worker and gateway; one honest speaker streams
espeak-ng Spanish at real time (bench/load.py's `speech_session`) and its
first-output latency is measured (first frame sent to first translated audio),
alone, while --flooders other sessions speak at real time (the share a flood should
be held to), and while they send speech --speed times faster than real time.
The flood runs against a worker with pacing off (S2ST_AUDIO_BURST_SECONDS=0: the
code before) and with it on (--burst-s, the default 5): side by side, the rounds
alternating so that a machine's drift hits both alike. The flood starts
--head-start-s before the speaker, so that the paced flooders have spent their
burst: a sustained flood is measured, not its first seconds. Prints the medians.

Usage: `.venv/bin/python -m bench.fairness [--rounds 3] [--flooders 4]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path

import websockets

from bench.load import speech_session
from harness.servers import running, start_gateway, start_worker
from harness.speech import SENTENCES, read_pcm, speak
from harness.wsclient import open_session

FLOOD_FRAME_BYTES = 32_000  # 1 s of 16 kHz audio a frame: far below the gateway's frame-rate limit


async def flood(ws_url: str, pcm: bytes, speed: float, stop: asyncio.Event) -> float:
    """One session sending pcm over and over, `speed` times faster than real time (as far as the gateway takes
    it), reading what comes back; returns the seconds of audio it sent."""
    sent = 0
    async with websockets.connect(ws_url, max_size=2**21) as ws:
        await open_session(ws, source_language="spa")

        async def drain() -> None:
            async for _ in ws:
                pass

        reader = asyncio.create_task(drain())
        began = time.monotonic()
        try:
            while not stop.is_set():
                for offset in range(0, len(pcm), FLOOD_FRAME_BYTES):
                    frame = pcm[offset : offset + FLOOD_FRAME_BYTES]
                    await ws.send(frame)
                    sent += len(frame)
                    await asyncio.sleep(max(0.0, began + sent / 32_000 / speed - time.monotonic()))
        finally:
            reader.cancel()
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.send(json.dumps({"type": "stop"}))
    return sent / 32_000


async def one_round(ws_url: str, speech: bytes, flooders: int, speed: float, head_start_s: float,
                    ) -> tuple[float | None, float]:
    """The speaker's first-output latency with `flooders` sessions flooding meanwhile, and their audio sent (s)."""
    stop = asyncio.Event()
    floods = [asyncio.create_task(flood(ws_url, speech, speed, stop)) for _ in range(flooders)]
    if flooders:
        await asyncio.sleep(head_start_s)
    try:
        first, _ = await speech_session(ws_url, speech)
    finally:
        stop.set()
        flooded = await asyncio.gather(*floods, return_exceptions=True)
    failed = [error for error in flooded if isinstance(error, BaseException)]
    if failed:
        raise RuntimeError(f"{len(failed)} flooding sessions failed") from failed[0]
    return first, sum(flooded)  # type: ignore[arg-type]


def measure(burst_s: float, flooders: int, speed: float, args: argparse.Namespace, speech: bytes, logs: Path,
            ) -> tuple[float | None, float]:
    env = {"S2ST_LOG_LEVEL": "WARNING", "S2ST_AUDIO_BURST_SECONDS": str(burst_s)}
    with (running(start_worker("lite", env, log_dir=logs)) as worker,
          running(start_gateway(worker.address, {"S2ST_MAX_SESSIONS_PER_IP": "0"},
                                log_dir=logs, processes=1)) as gateway):
        asyncio.run(one_round(gateway.ws_url, speech, 0, 1, 0))  # warm-up: the models' first call
        return asyncio.run(one_round(gateway.ws_url, speech, flooders, speed, args.head_start_s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flooders", type=int, default=4)
    parser.add_argument("--burst-s", type=float, default=5.0, help="S2ST_AUDIO_BURST_SECONDS of the paced worker")
    parser.add_argument("--head-start-s", type=float, default=15.0, help="the flood's lead on the speaker")
    parser.add_argument("--speed", type=float, default=10.0, help="how much faster than real time a flooder sends")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-fairness-"))
    voice, text = SENTENCES["spa"]
    speech, _ = read_pcm(speak(text, voice, logs / "spa.wav", tail_silence_s=1.5))
    conditions = {"alone": (args.burst_s, 0, 1.0),
                  "others at real time (fair share)": (args.burst_s, args.flooders, 1.0),
                  "flood, pacing off (before)": (0.0, args.flooders, args.speed),
                  f"flood, pacing on ({args.burst_s:g} s burst)": (args.burst_s, args.flooders, args.speed)}
    results: dict[str, list[tuple[float | None, float]]] = {name: [] for name in conditions}
    for round_ in range(args.rounds):
        for name, (burst_s, flooders, speed) in conditions.items():
            results[name].append(measure(burst_s, flooders, speed, args, speech, logs))
            print(f"round {round_ + 1} {name}: first output {results[name][-1][0]}, flood audio sent "
                  f"{results[name][-1][1]:.0f} s", flush=True)
    print(f"\n{args.flooders} other sessions (flooding: at {args.speed:g}x real time), from {args.head_start_s:g} s "
          f"before; the speaker's first output, median of {args.rounds} rounds:")
    for name, runs in results.items():
        firsts = [first for first, _ in runs if first is not None]
        median = f"{statistics.median(firsts):.2f} s" if firsts else "none"
        print(f"  {name:<34} {median}  (others' audio sent: {statistics.median(s for _, s in runs):.0f} s)")


if __name__ == "__main__":
    main()
