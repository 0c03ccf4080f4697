"""Load and soak through the full path: N real-time WebSocket sessions -> gateway -> worker.

Modes:
  --sessions N        one run of N concurrent sessions; prints latency, errors and RSS
  --find-max          the largest N whose p99 per-frame relay latency stays under --p99-ms (echo engine)
  --soak MINUTES      moderate load (--sessions, default 20) for that long, sessions restarting as they
                      end; RSS of both processes every 30 s and its trend after warm-up
  --rooms             room fan-out (bench/rooms.py): one speaker and --listeners N listeners (a comma list
                      of levels) on one gateway process, against a worker whose events carry their
                      emission time; latency from worker event to listener socket, cut-offs, losses, CPU
--engine echo (default) measures the transport; --engine lite streams espeak-ng Spanish speech and
reports first-output latency (first frame sent to first translated audio received).
Usage: `.venv/bin/python -m bench.load --find-max` or `... --rooms --listeners 1,100,1000`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import websockets

from bench.relay import FRAME_BYTES, FRAME_MS, gateway_session
from bench.rooms import run_rooms
from harness.servers import rss_mb, running, start_gateway, start_worker
from harness.speech import read_pcm, speak
from harness.wsclient import open_session

from gateway.protocol import AUDIO_HEADER

SEARCH_SECONDS = 8.0


async def speech_session(ws_url: str, pcm: bytes) -> tuple[float | None, int]:
    """Stream speech in real time; return (first-output latency in s, error events)."""
    errors = 0
    first_output = None
    async with websockets.connect(ws_url, max_size=2**21) as ws:
        await open_session(ws, source_language="spa")
        start = time.perf_counter()

        async def receive() -> None:
            nonlocal first_output, errors
            async for message in ws:
                if isinstance(message, bytes):
                    if first_output is None and len(message) > AUDIO_HEADER.size:
                        first_output = time.perf_counter() - start
                elif (event := json.loads(message))["type"] == "error":
                    errors += 1
                elif event["type"] == "ended":
                    return

        reader = asyncio.create_task(receive())
        for index, offset in enumerate(range(0, len(pcm), FRAME_BYTES)):
            await asyncio.sleep(max(0.0, start + index * FRAME_MS / 1000 - time.perf_counter()))
            await ws.send(pcm[offset : offset + FRAME_BYTES])
        await ws.send(json.dumps({"type": "stop"}))
        await asyncio.wait_for(reader, 120)
    return first_output, errors


async def run_sessions(ws_url: str, sessions: int, seconds: float, pcm: bytes | None) -> dict:
    """N sessions at once (starts spread over a second); latency figures and failures."""

    async def one(index: int):
        await asyncio.sleep(index / max(1, sessions))
        if pcm is None:
            return await gateway_session(ws_url, seconds)
        return await speech_session(ws_url, pcm)

    results = await asyncio.gather(*(one(i) for i in range(sessions)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    good = [r for r in results if not isinstance(r, BaseException)]
    report: dict = {"sessions": sessions, "failed": len(failures)}
    if pcm is None:
        frames = np.array([ms for timer in good for ms in timer.latencies_ms])
        report.update(p50=float(np.percentile(frames, 50)) if len(frames) else float("nan"),
                      p99=float(np.percentile(frames, 99)) if len(frames) else float("nan"))
    else:
        firsts = np.array([r[0] for r in good if r[0] is not None])
        report.update(first_p50=float(np.percentile(firsts, 50)) if len(firsts) else float("nan"),
                      first_p99=float(np.percentile(firsts, 99)) if len(firsts) else float("nan"),
                      errors=sum(r[1] for r in good))
    return report


def describe(report: dict) -> str:
    if "p50" in report:
        return (f"{report['sessions']:>5} sessions: relay p50 {report['p50']:7.2f} ms  p99 {report['p99']:8.2f} ms  "
                f"failed {report['failed']}")
    return (f"{report['sessions']:>5} sessions: first output p50 {report['first_p50']:5.2f} s  "
            f"p99 {report['first_p99']:5.2f} s  error events {report['errors']}  failed {report['failed']}")


def find_max(ws_url: str, p99_ms: float, budget_s: float) -> int:
    """Double until p99 breaks the bound, then bisect; stops when the time budget is spent."""
    started = time.monotonic()
    good, bad, n = 0, None, 10
    while time.monotonic() - started < budget_s:
        report = asyncio.run(run_sessions(ws_url, n, SEARCH_SECONDS, None))
        ok = report["p99"] < p99_ms and report["failed"] == 0
        print(describe(report), "ok" if ok else "over")
        good, bad = (n, bad) if ok else (good, n)
        if bad is None:
            n *= 2
        elif bad - good <= max(2, good // 10):
            break
        else:
            n = (good + bad) // 2
    return good


def describe_growth(rss: list[float]) -> str:
    """Trend of RSS samples: median of the last third against the first third.

    A process whose per-connection objects wait in reference cycles for a full garbage collection
    saw-tooths; a single first/last pair would measure where the tooth happened to be, not growth.
    """
    third = max(1, len(rss) // 3)
    early, late = float(np.median(rss[:third])), float(np.median(rss[-third:]))
    return (f"RSS {min(rss):.1f}..{max(rss):.1f} MB; median {early:.1f} MB (first third) -> {late:.1f} MB "
            f"(last third), growth {100 * (late - early) / early:+.1f}%")


def soak(ws_url: str, sessions: int, minutes: float, memory: dict[str, Callable[[], float]]) -> None:
    async def forever(index: int, stop_at: float) -> None:
        await asyncio.sleep(index * 30 / sessions)  # spread session starts and ends
        while time.monotonic() < stop_at:
            await gateway_session(ws_url, min(30.0, max(1.0, stop_at - time.monotonic())))

    async def watch(stop_at: float) -> None:
        samples: dict[str, list[float]] = {name: [] for name in memory}
        start = time.monotonic()
        while time.monotonic() < stop_at:
            await asyncio.sleep(30)
            line = []
            for name, rss in memory.items():
                samples[name].append(rss())
                line.append(f"{name} {samples[name][-1]:.1f} MB")
            print(f"t={time.monotonic() - start:5.0f} s  " + "  ".join(line), flush=True)
        for name, values in samples.items():
            if len(values) >= 4:
                print(f"{name}: " + describe_growth(values[1:]))  # the first 30 s are warm-up

    async def main() -> None:
        stop_at = time.monotonic() + minutes * 60
        await asyncio.gather(watch(stop_at), *(forever(i, stop_at) for i in range(sessions)))

    asyncio.run(main())


def levels(text: str) -> list[int]:
    """A comma list of counts: "1,100,1000"."""
    return [int(count) for count in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="echo", choices=["echo", "lite"])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each echo session, or of the speech in a room")
    parser.add_argument("--find-max", action="store_true")
    parser.add_argument("--p99-ms", type=float, default=50.0)
    parser.add_argument("--budget-s", type=float, default=240.0, help="time limit of --find-max")
    parser.add_argument("--soak", type=float, metavar="MINUTES")
    parser.add_argument("--rooms", action="store_true", help="room fan-out instead of sessions")
    parser.add_argument("--listeners", type=levels, default=[1, 100, 1000], help="--rooms: listener counts, e.g. 1,100,1000")
    parser.add_argument("--client-processes", type=int, default=4, help="--rooms: processes the listeners are spread over")
    parser.add_argument("--pin", action="store_true", help="--rooms: the gateway on a core of its own, the rest elsewhere")
    args = parser.parse_args()
    if args.rooms:
        run_rooms(args.listeners, args.seconds, args.client_processes, args.pin)
        return
    logs = Path(tempfile.mkdtemp(prefix="bench-load-"))
    quiet = {"S2ST_LOG_LEVEL": "WARNING"}
    with (running(start_worker(args.engine, {**quiet, "S2ST_MAX_SESSIONS": "2000"}, log_dir=logs)) as worker,
          running(start_gateway(worker.address, {"S2ST_MAX_CONNECTIONS_PER_IP": "0",
                                                 "S2ST_MAX_SESSIONS_PER_IP": "0"}, log_dir=logs))
          as gateway):
        memory = {"gateway": gateway.rss_mb, "worker": lambda: rss_mb(worker.process.pid)}
        before = {name: rss() for name, rss in memory.items()}
        print(f"engine {args.engine}; RSS before: " + ", ".join(f"{k} {v:.1f} MB" for k, v in before.items()))
        if args.soak:
            soak(gateway.ws_url, args.sessions, args.soak, memory)
        elif args.find_max:
            best = find_max(gateway.ws_url, args.p99_ms, args.budget_s)
            print(f"largest N with p99 relay latency under {args.p99_ms:g} ms: {best}")
        else:
            pcm = None
            if args.engine == "lite":
                wav = speak("Buenos días. Muchas gracias por su ayuda, amigo.", "es", logs / "es.wav",
                            tail_silence_s=1.5)
                pcm, _ = read_pcm(wav)
            print(describe(asyncio.run(run_sessions(gateway.ws_url, args.sessions, args.seconds, pcm))))
        after = {name: rss() for name, rss in memory.items()}
        print("RSS after: " + ", ".join(f"{k} {v:.1f} MB" for k, v in after.items()))


if __name__ == "__main__":
    main()
