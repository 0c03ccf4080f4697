"""Waiting for a condition that other processes make true."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(condition: Callable[[], object], timeout: float = 10.0, what: str = "condition not reached in time",
                interval: float = 0.1) -> None:
    """Poll condition every interval seconds; AssertionError(what) once timeout seconds have passed."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(interval)
