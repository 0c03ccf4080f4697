"""A gateway on every core: a supervisor and S2ST_GATEWAY_PROCESSES serving processes on one port.

The supervisor binds the port once and hands the listening socket to each serving
process (the kernel gives each new connection to one of them); it keeps the per-IP
limits for all of them (gateway/serving/shared_limits.py), serves /metrics summed across
them (prometheus_client's multiprocess mode), restarts a process that dies, and on
SIGTERM or SIGINT lets every process drain its sessions (gateway/serving/server.py) before
it exits; if it dies without that (kill -9), the kernel kills its processes at once
(a parent-death signal), so the port is free for the next gateway. What stays per
process: open sockets and their sessions, rooms (a room socket that reaches another
process is relayed to the room's: gateway/rooms/routing.py), the worker channel, the
audio rate limit of each socket (which is per socket anyway).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
from multiprocessing.process import BaseProcess
from pathlib import Path

from prometheus_client import CollectorRegistry, multiprocess, start_http_server

from gateway.config import GatewayConfig
from gateway.rooms.routing import RoomRouting
from gateway.serving.server import listen_tcp, serve
from gateway.serving.shared_limits import LimitsTable, SharedClientLimits
from gateway.sockets import CLOSE_WAIT_SECONDS
from s2st.runtime.logs import configure_logging
from s2st.runtime.tracing import configure_tracing

log = logging.getLogger("gateway.serving.processes")

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for it
RESTART_DELAY_SECONDS = 1.0  # a process that keeps dying is restarted at most this often
STOP_MARGIN_SECONDS = 10.0  # beyond the drain, for uvicorn's own shutdown
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>: a signal the kernel sends this process when its parent dies


def run_processes(config: GatewayConfig) -> None:
    """Serve with config.process_count processes until SIGTERM or SIGINT."""
    metrics_dir, own_dir = _metrics_dir()
    try:
        asyncio.run(Supervisor(config, metrics_dir).run())
    finally:
        if own_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_dir() -> tuple[Path, bool]:
    """Where the processes keep their metric values: PROMETHEUS_MULTIPROC_DIR (emptied) or a new temporary one."""
    given = os.environ.get(MULTIPROC_DIR_VARIABLE)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # values of an earlier run would be added to this one's
            stale.unlink()
        return path, False
    path = Path(tempfile.mkdtemp(prefix="s2st-gateway-metrics-"))
    os.environ[MULTIPROC_DIR_VARIABLE] = str(path)  # the serving processes inherit it
    return path, True


def _serve_one(config: GatewayConfig, listener: socket.socket, limits_link: socket.socket,
               routing: RoomRouting, supervisor_pid: int) -> None:
    """A serving process (spawned: a fresh interpreter)."""
    _die_with_supervisor(supervisor_pid)
    configure_logging(config.log_level)
    configure_tracing("s2st-gateway")
    serve(config, listener, SharedClientLimits(limits_link), routing)


def _die_with_supervisor(supervisor_pid: int) -> None:
    """Be killed the moment the supervisor dies, however it dies (kill -9, out of memory): without it a serving
    process has no per-IP limits to ask (its handshakes would fail) and would keep the port from a new gateway."""
    if sys.platform != "linux":  # the parent-death signal is Linux's; elsewhere a supervisor's crash leaves them
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != supervisor_pid:  # it died before the signal was armed
        os._exit(1)


class Supervisor:
    """Starts, watches and stops the serving processes."""

    def __init__(self, config: GatewayConfig, metrics_dir: Path) -> None:
        self._config = config
        self._metrics_dir = metrics_dir
        self._limits = LimitsTable(config.max_connections_per_ip, config.max_sessions_per_ip)
        self._spawn = multiprocessing.get_context("spawn")  # no fork after threads and gRPC
        self._processes: dict[int, BaseProcess] = {}  # by slot
        self._links: set[asyncio.Task[None]] = set()
        self._exits: asyncio.Queue[int] = asyncio.Queue()  # slots whose process ended
        self._room_sockets = Path(tempfile.mkdtemp(prefix="s2st-gateway-rooms-"))  # private (0700): room_routing.py

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        listener = listen_tcp(self._config.host, self._config.port)
        if self._config.metrics_port:
            self._serve_metrics()
        for slot in range(self._config.process_count):
            self._start(slot, listener)
        log.info("gateway processes started", extra={"processes": self._config.process_count,
                                                      "url": f"http://{self._config.host}:{self._config.port}"})
        stopping = asyncio.create_task(stop.wait())
        while True:
            ended = asyncio.create_task(self._exits.get())
            await asyncio.wait([stopping, ended], return_when=asyncio.FIRST_COMPLETED)
            if stopping.done():
                ended.cancel()
                break
            slot = ended.result()
            process = self._processes[slot]
            self._forget(process)
            log.error("a gateway process ended; starting another", extra={"pid": process.pid,
                                                                          "exitcode": process.exitcode})
            await asyncio.sleep(RESTART_DELAY_SECONDS)
            if not stop.is_set():
                self._start(slot, listener)
        await self._stop_all()
        listener.close()
        shutil.rmtree(self._room_sockets, ignore_errors=True)

    def _start(self, slot: int, listener: socket.socket) -> None:
        ours, theirs = socket.socketpair()
        routing = RoomRouting.of(self._config, slot, self._room_sockets)
        process = self._spawn.Process(target=_serve_one, args=(self._config, listener, theirs, routing, os.getpid()),
                                      name=f"gateway-{slot}", daemon=False)
        process.start()
        theirs.close()
        self._processes[slot] = process
        link = asyncio.create_task(self._limits.serve(ours), name=f"limits-{slot}")
        self._links.add(link)
        link.add_done_callback(self._links.discard)
        loop = asyncio.get_running_loop()

        def on_exit() -> None:
            loop.remove_reader(process.sentinel)
            self._exits.put_nowait(slot)

        loop.add_reader(process.sentinel, on_exit)

    def _forget(self, process: BaseProcess) -> None:
        process.join()
        multiprocess.mark_process_dead(process.pid, str(self._metrics_dir))  # its live gauges no longer count

    async def _stop_all(self) -> None:
        """SIGTERM to each process (each drains its sessions), then wait; SIGKILL what outlives the drain."""
        log.info("stopping the gateway processes", extra={"processes": len(self._processes)})
        for process in self._processes.values():
            if process.is_alive():
                process.terminate()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.shutdown_grace_seconds + CLOSE_WAIT_SECONDS + STOP_MARGIN_SECONDS
        while any(process.is_alive() for process in self._processes.values()) and loop.time() < deadline:
            await asyncio.sleep(0.1)
        for process in self._processes.values():
            if process.is_alive():
                log.error("a gateway process did not stop in time; killing it", extra={"pid": process.pid})
                process.kill()
            process.join()

    def _serve_metrics(self) -> None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(self._metrics_dir))
        start_http_server(self._config.metrics_port, addr=self._config.host, registry=registry)
