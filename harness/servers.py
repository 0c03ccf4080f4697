"""Real worker and gateway processes on free loopback ports, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
GATEWAY_PROCESSES = 2  # the suite runs the multi-process gateway (a supervisor and two serving processes)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of a process now (VmHWM: its peak so far), in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no {field} for {pid}")


def alive(pid: int) -> bool:
    """The process runs (an exited one that nobody reaped yet is a zombie: not alive)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def process_tree(pid: int) -> list[int]:
    """pid and every process below it."""
    below = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):  # the children of each of its threads
        with contextlib.suppress(OSError):  # the thread just ended
            below += [int(child) for child in children.read_text().split()]
    return [pid, *(descendant for child in below for descendant in process_tree(child))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


@dataclass
class ServerProcess:
    """A started server and where it logs."""

    process: subprocess.Popen
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the process and wait for it; if it lingers, kill it and every process below it (as a
        container runtime kills the container). Returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                for pid in reversed(process_tree(self.process.pid)):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


@dataclass
class MeteredProcess(ServerProcess):
    """A server that exports Prometheus metrics on a port of its own."""

    metrics_port: int

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as reply:
            return reply.read().decode()

    def metric(self, name: str) -> float:
        """The value of an unlabelled metric, e.g. s2st_worker_active_sessions."""
        for line in self.metrics_text().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise KeyError(name)


@dataclass
class Worker(MeteredProcess):
    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Gateway(MeteredProcess):
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """Resident memory of the whole gateway: the supervisor and its serving processes."""
        return sum(rss_mb(pid) for pid in process_tree(self.process.pid))

    def cpu_seconds(self) -> float:
        """CPU time the gateway's processes now alive have used."""
        return sum(cpu_seconds(pid) for pid in process_tree(self.process.pid))

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


def spawn_server(module: str, env: Mapping[str, str], log_dir: Path,
                 cpus: set[int] | None = None) -> tuple[subprocess.Popen, Path]:
    """Start `python -m module` (on the given CPUs only, with its threads and children, when cpus is set)."""
    log_path = Path(tempfile.mkstemp(prefix=f"{module}-", suffix=".log", dir=log_dir)[1])
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
    return process, log_path


def wait_until_ready(ready, server: ServerProcess, what: str, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
    """Wait until ready() holds, failing with the server's log when it exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{what} exited with {server.process.returncode}:\n{server.log()[-4000:]}")
        if ready():
            return
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{what} not ready after {timeout_s:.0f} s:\n{server.log()[-4000:]}")


def worker_serving(address: str, tls_ca: Path | None = None, client_cert: tuple[Path, Path] | None = None) -> bool:
    """True when the worker at address answers its health check with SERVING (over TLS when tls_ca is given,
    presenting client_cert, a (certificate, key) pair, when given)."""
    key, chain = (client_cert[1].read_bytes(), client_cert[0].read_bytes()) if client_cert else (None, None)
    channel = (grpc.insecure_channel(address) if tls_ca is None else grpc.secure_channel(
        address, grpc.ssl_channel_credentials(tls_ca.read_bytes(), key, chain)))
    with channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.RpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def start_worker(engine: str = "echo", env: Mapping[str, str] | None = None,
                 log_dir: Path | None = None, port: int | None = None, tls_ca: Path | None = None,
                 client_cert: tuple[Path, Path] | None = None, wait: bool = True, cpus: set[int] | None = None) -> Worker:
    """Start `python -m inference` and (unless wait is False) wait until it serves, over TLS if tls_ca is given."""
    port = port or free_port()
    metrics_port = free_port()
    process, log_path = spawn_server("inference", {
        "S2ST_ENGINE": engine,
        "S2ST_GRPC_PORT": str(port),
        "S2ST_WORKER_METRICS_PORT": str(metrics_port),
        "S2ST_SHUTDOWN_GRACE_SECONDS": "2",
        # Tests and benches feed recordings as fast as the worker takes them: pacing is on only where asked for.
        "S2ST_AUDIO_BURST_SECONDS": "0",
        **(env or {}),
    }, log_dir or Path(tempfile.gettempdir()), cpus)
    worker = Worker(process, port, log_path, metrics_port)
    if wait:
        wait_until_ready(lambda: worker_serving(worker.address, tls_ca, client_cert), worker, f"worker ({engine})")
    return worker


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            return reply.status == 200
    except OSError:
        return False


def start_gateway(worker_target: str, env: Mapping[str, str] | None = None,
                  log_dir: Path | None = None, port: int | None = None,
                  processes: int = GATEWAY_PROCESSES, cpus: set[int] | None = None) -> Gateway:
    """Start `python -m gateway` relaying to worker_target; wait until it answers /healthz and each of its
    serving processes has logged "gateway ready" (at INFO, the default level)."""
    port = port or free_port()
    metrics_port = free_port()
    process, log_path = spawn_server("gateway", {
        "S2ST_GATEWAY_PORT": str(port),
        "S2ST_GATEWAY_METRICS_PORT": str(metrics_port),
        "S2ST_GATEWAY_PROCESSES": str(processes),
        "S2ST_WORKER_TARGET": worker_target,
        **(env or {}),
    }, log_dir or Path(tempfile.gettempdir()), cpus)
    gateway = Gateway(process, port, log_path, metrics_port)
    wait_until_ready(lambda: _http_ok(f"{gateway.base_url}/healthz")
                and gateway.log().count('"msg": "gateway ready"') >= processes, gateway, "gateway")
    return gateway


@contextlib.contextmanager
def running(server: ServerProcess) -> Iterator[ServerProcess]:
    """Stop the server when the block ends, whatever happens."""
    try:
        yield server
    finally:
        server.stop()
