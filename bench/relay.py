"""Added latency of the gateway: WebSocket -> gateway -> gRPC -> echo versus gRPC -> echo directly.

Starts a real echo worker and gateway on loopback, then for each level of
concurrency runs that many real-time sessions (frames of --frame-ms: 20 ms, or
320 ms as the web client sends to SeamlessStreaming) for a while, first as
direct gRPC clients of the worker, then as WebSocket clients of the gateway, and
prints per-frame round-trip p50 / p99 for both, the added latency and the ratio,
the gateway's RSS, the CPU time the gateway and the worker spent per relayed
frame, and how busy the gateway's cores were. With --pin the gateway runs on
its own cores (--gateway-cores of them) and this client and the worker on the
rest, so the gateway's figures are its own. A level keeps up when the direct
baseline does (p99 under --baseline-bound-ms: the client and the worker are not
saturated, or the difference means nothing) and the gateway adds less than
--p99-bound-ms at p99. Also printed: the sessions one gateway core could carry
by CPU alone (one second of CPU over the CPU a session-second of frames costs).
Usage: `.venv/bin/python -m bench.relay [--seconds 10] [--levels 1 50 200] [--frame-ms 320] [--pin]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
import numpy as np
import websockets

from harness.servers import Gateway, cpu_seconds, running, start_gateway, start_worker
from harness.wsclient import open_session

from gateway.protocol import AUDIO_HEADER
from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc

FRAME_MS = 20
FRAME_BYTES = 16_000 * 2 * FRAME_MS // 1000


class FrameTimer:
    """Round trip of each sent frame, matched by byte position (the worker may merge frames)."""

    def __init__(self, frame_ms: int = FRAME_MS) -> None:
        self.frame_ms = frame_ms
        self.frame_bytes = 16_000 * 2 * frame_ms // 1000
        self.sent_at: list[float] = []
        self.received_bytes = 0
        self.latencies_ms: list[float] = []

    def sent(self) -> None:
        self.sent_at.append(time.perf_counter())

    def received(self, n_bytes: int) -> None:
        now = time.perf_counter()
        before = self.received_bytes // self.frame_bytes
        self.received_bytes += n_bytes
        for index in range(before, min(self.received_bytes // self.frame_bytes, len(self.sent_at))):
            self.latencies_ms.append((now - self.sent_at[index]) * 1000)


async def paced(timer: FrameTimer, send: Callable[[bytes], Awaitable[None]], seconds: float) -> None:
    """Send one frame every frame_ms on the wall clock, like a microphone."""
    frame = np.random.default_rng().integers(-3000, 3000, timer.frame_bytes // 2, dtype=np.int16).tobytes()
    start = time.perf_counter()
    for index in range(int(seconds * 1000 / timer.frame_ms)):
        await asyncio.sleep(max(0.0, start + index * timer.frame_ms / 1000 - time.perf_counter()))
        timer.sent()
        await send(frame)


async def direct_session(address: str, seconds: float, frame_ms: int = FRAME_MS) -> FrameTimer:
    timer = FrameTimer(frame_ms)
    async with grpc.aio.insecure_channel(address) as channel:
        call = pb_grpc.TranslatorStub(channel).Translate()
        await call.write(pb.TranslateRequest(config=pb.SessionConfig(target_language="eng")))

        async def send(frame: bytes) -> None:
            await call.write(pb.TranslateRequest(audio=pb.AudioChunk(pcm=frame)))

        async def receive() -> None:
            while (response := await call.read()) is not grpc.aio.EOF:
                if response.HasField("audio"):
                    timer.received(len(response.audio.pcm))

        reader = asyncio.create_task(receive())
        await paced(timer, send, seconds)
        await call.write(pb.TranslateRequest(control=pb.Control(action=pb.Control.END_OF_INPUT)))
        await call.done_writing()
        await reader
    return timer


async def gateway_session(ws_url: str, seconds: float, frame_ms: int = FRAME_MS) -> FrameTimer:
    timer = FrameTimer(frame_ms)
    async with websockets.connect(ws_url, max_size=2**21) as ws:
        await open_session(ws)

        async def receive() -> None:
            async for message in ws:
                if isinstance(message, bytes):
                    timer.received(len(message) - AUDIO_HEADER.size)
                elif json.loads(message)["type"] == "ended":
                    return

        reader = asyncio.create_task(receive())
        await paced(timer, ws.send, seconds)
        await ws.send(json.dumps({"type": "stop"}))
        await reader
    return timer


@dataclass
class Level:
    """One level's figures: round trips of every frame, and what the watched gateway used meanwhile."""

    latencies_ms: np.ndarray
    peak_rss_mb: float
    cpu_seconds: float
    wall_seconds: float


async def run_level(make_session: Callable[[], Awaitable[FrameTimer]], sessions: int,
                    gateway: Gateway) -> Level:
    """Run `sessions` sessions at once (starts spread over one second)."""
    peak, cpu_before, started = gateway.rss_mb(), gateway.cpu_seconds(), time.perf_counter()

    async def staggered(index: int) -> FrameTimer:
        await asyncio.sleep(index / max(sessions, 1))
        return await make_session()

    tasks = [asyncio.create_task(staggered(i)) for i in range(sessions)]
    while not all(task.done() for task in tasks):
        peak = max(peak, gateway.rss_mb())
        await asyncio.sleep(0.25)
    timers = [task.result() for task in tasks]
    return Level(np.array([ms for timer in timers for ms in timer.latencies_ms]), peak,
                 gateway.cpu_seconds() - cpu_before, time.perf_counter() - started)


def split_cores(gateway_cores: int) -> tuple[set[int], set[int]]:
    """The gateway's cores, and the rest (this client and the worker)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) <= gateway_cores:
        raise SystemExit(f"--pin needs more than {gateway_cores} cores (this machine lets us use {len(cores)})")
    return set(cores[:gateway_cores]), set(cores[gateway_cores:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each session")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 50, 200], help="concurrent sessions")
    parser.add_argument("--frame-ms", type=int, default=FRAME_MS, help="audio per frame (the web client: the engine's step)")
    parser.add_argument("--gateway-processes", type=int, default=1, help="S2ST_GATEWAY_PROCESSES")
    parser.add_argument("--pin", action="store_true", help="gateway on cores of its own, the rest elsewhere")
    parser.add_argument("--gateway-cores", type=int, default=1, help="cores the gateway gets with --pin")
    parser.add_argument("--p99-bound-ms", type=float, default=5.0, help="added p99 that counts as keeping up")
    parser.add_argument("--baseline-bound-ms", type=float, default=50.0,
                        help="direct p99 beyond which the client and worker are saturated (no reading)")
    args = parser.parse_args()
    gateway_cpus, other_cpus = split_cores(args.gateway_cores) if args.pin else (None, None)
    if other_cpus:
        os.sched_setaffinity(0, other_cpus)  # this client; the worker and the gateway get theirs at start
    env = {"S2ST_MAX_SESSIONS": str(max(args.levels) + 10), "S2ST_LOG_LEVEL": "WARNING"}
    with (running(start_worker("echo", env, cpus=other_cpus)) as worker,
          running(start_gateway(worker.address, {"S2ST_MAX_CONNECTIONS_PER_IP": "0", "S2ST_MAX_SESSIONS_PER_IP": "0",
                                                 "S2ST_WORKER_TIMEOUT_SECONDS": "30"},  # hundreds of starts at once
                                processes=args.gateway_processes, cpus=gateway_cpus)) as gateway):
        idle_rss = gateway.rss_mb()
        gateway_cores = len(gateway_cpus) if gateway_cpus else len(os.sched_getaffinity(0))
        print(f"cores: {os.cpu_count()}  session length: {args.seconds:g} s  frame: {args.frame_ms} ms  "
              f"gateway processes: {args.gateway_processes}  "
              + (f"pinned: gateway on {sorted(gateway_cpus)}, client and worker on {sorted(other_cpus)}"
                 if args.pin else "not pinned"))
        print(f"gateway idle RSS: {idle_rss:.1f} MB")
        header = (f"{'sessions':>8} | {'direct p50':>10} {'p99':>8} | {'gateway p50':>11} {'p99':>8} | "
                  f"{'added p50':>9} {'added p99':>9} | {'p99 ratio':>9} | {'gw RSS MB':>9} {'KB/session':>10} | "
                  f"{'gw CPU/frame':>12} {'worker CPU/frame':>16} | {'gw cores busy':>13} | {'per core by CPU':>15}")
        print(header)
        print("-" * len(header))
        kept_up = 0
        for sessions in args.levels:
            direct = asyncio.run(run_level(lambda: direct_session(worker.address, args.seconds, args.frame_ms),
                                           sessions, gateway))
            worker_before = cpu_seconds(worker.process.pid)
            relayed = asyncio.run(run_level(lambda: gateway_session(gateway.ws_url, args.seconds, args.frame_ms),
                                            sessions, gateway))
            frames = len(relayed.latencies_ms)
            gateway_us = 1e6 * relayed.cpu_seconds / frames
            worker_us = 1e6 * (cpu_seconds(worker.process.pid) - worker_before) / frames
            d50, d99 = np.percentile(direct.latencies_ms, [50, 99])
            g50, g99 = np.percentile(relayed.latencies_ms, [50, 99])
            per_session_kb = (relayed.peak_rss_mb - idle_rss) * 1024 / sessions
            busy = relayed.cpu_seconds / relayed.wall_seconds
            by_cpu = 1 / (1000 / args.frame_ms * relayed.cpu_seconds / frames)  # sessions one core's second pays for
            if d99 < args.baseline_bound_ms and g99 - d99 < args.p99_bound_ms:
                kept_up = max(kept_up, sessions)
            print(f"{sessions:>8} | {d50:>8.2f}ms {d99:>6.2f}ms | {g50:>9.2f}ms {g99:>6.2f}ms | "
                  f"{g50 - d50:>7.2f}ms {g99 - d99:>7.2f}ms | {g99 / d99:>9.2f} | {relayed.peak_rss_mb:>9.1f} "
                  f"{per_session_kb:>10.1f} | {gateway_us:>10.0f}us {worker_us:>14.0f}us | {busy:>13.2f} | {by_cpu:>15.0f}"
                  + ("  (baseline saturated: no reading)" if d99 >= args.baseline_bound_ms else ""))
        print(f"largest level that kept up (added p99 under {args.p99_bound_ms:g} ms, baseline unsaturated): "
              f"{kept_up} sessions on {gateway_cores} "
              f"gateway core(s) = {kept_up / gateway_cores:.0f} per core"
              + ("" if args.pin else " (not pinned: the client and the worker shared those cores)"))


if __name__ == "__main__":
    main()
