"""Added latency of the gateway: WebSocket -> gateway -> gRPC -> echo versus gRPC -> echo directly.

Starts a real echo worker and gateway on loopback, then for each level of
concurrency runs that many real-time sessions (20 ms frames) for a while, first
as direct gRPC clients of the worker, then as WebSocket clients of the gateway,
and prints per-frame round-trip p50 / p99 for both, the added latency and the
ratio, the gateway's RSS, and the CPU time the gateway and the worker spent per
relayed frame (client, gateway and worker share the machine's cores: once they
saturate, queueing swamps the latency figures, and CPU per frame says what a
machine of its own would sustain). Usage: `.venv/bin/python -m bench.relay [--seconds 10] [--levels 1 50 200]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable

import grpc
import numpy as np
import websockets

from tests.harness.servers import cpu_seconds, rss_mb, running, start_gateway, start_worker
from tests.harness.wsclient import open_session

from gateway.protocol import AUDIO_HEADER
from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc

FRAME_MS = 20
FRAME_BYTES = 16_000 * 2 * FRAME_MS // 1000


class FrameTimer:
    """Round trip of each sent frame, matched by byte position (the worker may merge frames)."""

    def __init__(self) -> None:
        self.sent_at: list[float] = []
        self.received_bytes = 0
        self.latencies_ms: list[float] = []

    def sent(self) -> None:
        self.sent_at.append(time.perf_counter())

    def received(self, n_bytes: int) -> None:
        now = time.perf_counter()
        before = self.received_bytes // FRAME_BYTES
        self.received_bytes += n_bytes
        for index in range(before, min(self.received_bytes // FRAME_BYTES, len(self.sent_at))):
            self.latencies_ms.append((now - self.sent_at[index]) * 1000)


async def paced(timer: FrameTimer, send: Callable[[bytes], Awaitable[None]], seconds: float) -> None:
    """Send one frame every 20 ms on the wall clock, like a microphone."""
    frame = np.random.default_rng().integers(-3000, 3000, FRAME_BYTES // 2, dtype=np.int16).tobytes()
    start = time.perf_counter()
    for index in range(int(seconds * 1000 / FRAME_MS)):
        await asyncio.sleep(max(0.0, start + index * FRAME_MS / 1000 - time.perf_counter()))
        timer.sent()
        await send(frame)


async def direct_session(address: str, seconds: float) -> FrameTimer:
    timer = FrameTimer()
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


async def gateway_session(ws_url: str, seconds: float) -> FrameTimer:
    timer = FrameTimer()
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


async def run_level(make_session: Callable[[], Awaitable[FrameTimer]], sessions: int,
                    watch_pid: int) -> tuple[np.ndarray, float]:
    """Run `sessions` sessions at once (starts spread over one second); return latencies and peak RSS."""
    peak = rss_mb(watch_pid)

    async def staggered(index: int) -> FrameTimer:
        await asyncio.sleep(index / max(sessions, 1))
        return await make_session()

    tasks = [asyncio.create_task(staggered(i)) for i in range(sessions)]
    while not all(task.done() for task in tasks):
        peak = max(peak, rss_mb(watch_pid))
        await asyncio.sleep(0.25)
    timers = [task.result() for task in tasks]
    return np.array([ms for timer in timers for ms in timer.latencies_ms]), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each session")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 50, 200], help="concurrent sessions")
    args = parser.parse_args()
    env = {"S2ST_MAX_SESSIONS": str(max(args.levels) + 10), "S2ST_LOG_LEVEL": "WARNING"}
    with (running(start_worker("echo", env)) as worker,
          running(start_gateway(worker.address, {"S2ST_LOG_LEVEL": "WARNING", "S2ST_MAX_CONNECTIONS_PER_IP": "0",
                                                 "S2ST_MAX_SESSIONS_PER_IP": "0"})) as gateway):
        idle_rss = rss_mb(gateway.process.pid)
        print(f"cores: {os.cpu_count()}  session length: {args.seconds:g} s  frame: {FRAME_MS} ms")
        print(f"gateway idle RSS: {idle_rss:.1f} MB")
        header = (f"{'sessions':>8} | {'direct p50':>10} {'p99':>8} | {'gateway p50':>11} {'p99':>8} | "
                  f"{'added p50':>9} {'added p99':>9} | {'p99 ratio':>9} | {'gw RSS MB':>9} {'KB/session':>10} | "
                  f"{'gw CPU/frame':>12} {'worker CPU/frame':>16}")
        print(header)
        print("-" * len(header))
        for sessions in args.levels:
            direct, _ = asyncio.run(run_level(lambda: direct_session(worker.address, args.seconds), sessions,
                                              gateway.process.pid))
            cpu_before = cpu_seconds(gateway.process.pid), cpu_seconds(worker.process.pid)
            relayed, peak = asyncio.run(run_level(lambda: gateway_session(gateway.ws_url, args.seconds), sessions,
                                                  gateway.process.pid))
            gateway_us, worker_us = (1e6 * (cpu_seconds(process.pid) - before) / len(relayed)
                                     for process, before in zip((gateway.process, worker.process), cpu_before))
            d50, d99 = np.percentile(direct, [50, 99])
            g50, g99 = np.percentile(relayed, [50, 99])
            per_session_kb = (peak - idle_rss) * 1024 / sessions
            print(f"{sessions:>8} | {d50:>8.2f}ms {d99:>6.2f}ms | {g50:>9.2f}ms {g99:>6.2f}ms | "
                  f"{g50 - d50:>7.2f}ms {g99 - d99:>7.2f}ms | {g99 / d99:>9.2f} | {peak:>9.1f} {per_session_kb:>10.1f} | "
                  f"{gateway_us:>10.0f}us {worker_us:>14.0f}us")


if __name__ == "__main__":
    main()
