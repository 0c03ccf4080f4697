"""One inference thread per model: sessions' compute runs there in arrival order, off the event loop.

Each session awaits its own job before it submits the next, so the queue holds
at most one job per session and FIFO order is round-robin across sessions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class InferenceThread:
    """A single worker thread, and how many jobs wait for or run on it."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.pending = 0

    async def run(self, function: Callable[..., T], *args: object) -> T:
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
        finally:
            self.pending -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
