"""Room fan-out on one gateway process: worker event to listener socket, for N listeners.

A stamping worker (bench/stamping_worker.py, standing in for the model) and one
gateway serving process; per level a speaker creates a room on /ws, N listeners
(spread over several client processes) join it on /ws/rooms/ID, then the speaker
talks in real time for --seconds and ends the room. Printed per level: latency
from the worker's stamp to each listener's socket over every listener (p50, p99,
max; spread: how long one event takes from the first listener to the last,
median over events), listeners cut off (1008) and messages lost, the gateway's
CPU (busy share of one core, and µs per message delivered, marginal against the
first level) and RSS, and the client processes' CPU, so a reader sees which side
saturated.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.relay import split_cores
from bench.room_clients import ListenerTally, Speaker, listen
from bench.stamping_worker import start_stamping_worker, stamps_emitted
from harness.servers import Gateway, Worker, running, start_gateway
from harness.wsclient import ProtocolClient, connect

MESSAGES_PER_STAMP = 2  # a stamped transcript and its audio chunk


@dataclass
class FanOut:
    """One level's figures."""

    listeners: int
    joined: int
    stamps: int
    stamps_ns: np.ndarray  # per stamped transcript received: the worker's stamp
    latencies_ms: np.ndarray  # and its latency to the listener's socket
    delivered: int  # transcripts and audio frames that reached listeners
    lost: int  # of those expected by listeners that stayed to the end
    cut_off: int
    failed: int
    gateway_cpu_seconds: float
    wall_seconds: float
    gateway_rss_mb: float  # with every listener joined
    client_cpu_seconds: float
    client_wall_seconds: float


def shares(listeners: int, processes: int) -> list[int]:
    """Listeners per client process, as even as they come."""
    processes = max(1, min(processes, listeners))
    return [listeners // processes + (i < listeners % processes) for i in range(processes)]


async def run_room(gateway: Gateway, worker: Worker, listeners: int, seconds: float,
                   pool: ProcessPoolExecutor, client_processes: int) -> FanOut:
    """One room: N listeners (in client processes of the pool) join, the speaker talks for `seconds`, then ends it."""
    loop = asyncio.get_running_loop()
    async with connect(gateway.ws_url) as ws:
        speaker = Speaker(ProtocolClient(ws))
        room = await speaker.create_room()
        url = f"{gateway.ws_url}/rooms/{room['room_id']}"
        listening = asyncio.gather(*(loop.run_in_executor(pool, listen, url, room["listener_key"], share)
                                     for share in shares(listeners, client_processes)))
        joined = await speaker.wait_for_listeners(listeners)
        rss, stamps_before = gateway.rss_mb(), stamps_emitted(worker.log())
        cpu_before, started = gateway.cpu_seconds(), time.perf_counter()
        await speaker.talk(seconds)
        await speaker.end_room()
        tallies: list[ListenerTally] = await listening  # every listener's queue drained: room_ended came
        gateway_cpu, wall = gateway.cpu_seconds() - cpu_before, time.perf_counter() - started
    stamps = stamps_emitted(worker.log()) - stamps_before
    received = [count for tally in tallies for count in tally.received]
    return FanOut(
        listeners=listeners, joined=joined, stamps=stamps,
        stamps_ns=np.concatenate([tally.stamps_ns for tally in tallies]),
        latencies_ms=np.concatenate([tally.latencies_ms for tally in tallies]),
        delivered=sum(received), lost=sum(MESSAGES_PER_STAMP * stamps - count for count in received),
        cut_off=sum(tally.cut_off for tally in tallies), failed=sum(tally.failed for tally in tallies),
        gateway_cpu_seconds=gateway_cpu, wall_seconds=wall, gateway_rss_mb=rss,
        client_cpu_seconds=sum(tally.cpu_seconds for tally in tallies),
        client_wall_seconds=max(tally.wall_seconds for tally in tallies))


HEADER = (f"{'listeners':>9} {'joined':>6} | {'events':>6} {'delivered':>9} | {'p50 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7} {'spread ms':>9} | {'p50 x':>6} {'p99 x':>6} | {'cut off':>7} {'lost':>5} | {'gw CPU %':>8} "
          f"{'gw us/msg':>9} {'marginal':>8} | {'gw RSS MB':>9} | {'client CPU %':>12}")


def percentiles(latencies_ms: np.ndarray) -> tuple[float, float, float]:
    """p50, p99 and max (NaN when nothing arrived)."""
    if not len(latencies_ms):
        return np.nan, np.nan, np.nan
    p50, p99 = np.percentile(latencies_ms, [50, 99])
    return float(p50), float(p99), float(latencies_ms.max())


def spread_ms(stamps_ns: np.ndarray, latencies_ms: np.ndarray) -> float:
    """Median over events of the time from the first listener receiving one to the last receiving it:
    how long the gateway takes to walk every listener's socket."""
    if not len(stamps_ns):
        return np.nan
    order = np.argsort(stamps_ns, kind="stable")
    stamps, latencies = stamps_ns[order], latencies_ms[order]
    starts = np.flatnonzero(np.r_[True, stamps[1:] != stamps[:-1]])
    return float(np.median(np.maximum.reduceat(latencies, starts) - np.minimum.reduceat(latencies, starts)))


def describe(level: FanOut, first: FanOut) -> str:
    """A table row; `x` columns and the marginal CPU per message are against the first level."""
    (p50, p99, worst), (first50, first99, _) = percentiles(level.latencies_ms), percentiles(first.latencies_ms)
    per_message = 1e6 * level.gateway_cpu_seconds / max(level.delivered, 1)
    extra = level.delivered - first.delivered
    marginal = 1e6 * (level.gateway_cpu_seconds - first.gateway_cpu_seconds) / extra if extra > 0 else np.nan
    return (f"{level.listeners:>9} {level.joined:>6} | {MESSAGES_PER_STAMP * level.stamps:>6} {level.delivered:>9} | "
            f"{p50:>7.2f} {p99:>7.2f} {worst:>7.1f} "
            f"{spread_ms(level.stamps_ns, level.latencies_ms):>9.1f} | {p50 / first50:>6.1f} "
            f"{p99 / first99:>6.1f} | {level.cut_off:>7} {level.lost:>5} | "
            f"{100 * level.gateway_cpu_seconds / level.wall_seconds:>8.0f} {per_message:>9.1f} {marginal:>8.1f} | "
            f"{level.gateway_rss_mb:>9.1f} | {100 * level.client_cpu_seconds / level.client_wall_seconds:>12.0f}"
            + (f"  ({level.failed} failed to join)" if level.failed else ""))


def run_rooms(levels: list[int], seconds: float, client_processes: int, pin: bool) -> None:
    """Start the stamping worker and one gateway process, run each level, print the table."""
    gateway_cpus, other_cpus = split_cores(1) if pin else (None, None)
    if other_cpus:
        os.sched_setaffinity(0, other_cpus)  # the speaker, the client processes and the worker inherit it
    logs = Path(tempfile.mkdtemp(prefix="bench-rooms-"))
    env = {"S2ST_MAX_CONNECTIONS_PER_IP": "0", "S2ST_MAX_SESSIONS_PER_IP": "0",
           "S2ST_ROOM_MAX_LISTENERS": str(max(levels)), "S2ST_WORKER_TIMEOUT_SECONDS": "30"}
    with (running(start_stamping_worker(logs)) as worker,
          running(start_gateway(worker.address, env, log_dir=logs, processes=1, cpus=gateway_cpus)) as gateway,
          ProcessPoolExecutor(client_processes, mp_context=multiprocessing.get_context("spawn")) as pool):
        print(f"cores: {os.cpu_count()}  speaker: {seconds:g} s in 20 ms frames  stamps: every 100 ms  "
              f"client processes: {client_processes}  gateway processes: 1  "
              + (f"pinned: gateway on {sorted(gateway_cpus)}, clients and worker on {sorted(other_cpus)}"
                 if pin else "not pinned (gateway, clients and worker share every core)"))
        print(HEADER)
        print("-" * len(HEADER))
        first = None
        for listeners in levels:
            level = asyncio.run(run_room(gateway, worker, listeners, seconds, pool, client_processes))
            first = first or level
            print(describe(level, first), flush=True)
    print(f"logs: {logs}")
