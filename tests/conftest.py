"""Shared fixtures: real workers and gateways on free loopback ports, always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.servers import Gateway, Worker, running, start_gateway, start_worker


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory where every test server writes its log."""
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def echo_worker(server_logs: Path) -> Iterator[Worker]:
    with running(start_worker("echo", log_dir=server_logs)) as worker:
        yield worker


@pytest.fixture(scope="session")
def echo_gateway(echo_worker: Worker, server_logs: Path) -> Iterator[Gateway]:
    with running(start_gateway(echo_worker.address, log_dir=server_logs)) as gateway:
        yield gateway


@pytest.fixture(scope="session")
def lite_worker(server_logs: Path) -> Iterator[Worker]:
    """A worker on the real CPU engine; loaded once per test session."""
    with running(start_worker("lite", log_dir=server_logs)) as worker:
        yield worker


@pytest.fixture(scope="session")
def lite_gateway(lite_worker: Worker, server_logs: Path) -> Iterator[Gateway]:
    with running(start_gateway(lite_worker.address, log_dir=server_logs)) as gateway:
        yield gateway
