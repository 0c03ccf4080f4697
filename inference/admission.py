"""Admission: whether the worker takes a stream now (its lifecycle state, the session cap, the cap on streams still
waiting for their config), and its id."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


class WorkerState(enum.Enum):
    """Where the worker is in its life: only SERVING takes streams."""

    LOADING = "loading"
    SERVING = "serving"
    DRAINING = "draining"
    FAILED = "failed"


class Busy(Exception):
    """The worker already serves its maximum number of streams, or has its maximum waiting for their config."""


class NotServing(Exception):
    """The worker is loading, draining or failed; the message says which."""


class Admission:
    """The worker's lifecycle state, and session ids handed out up to a hard cap while it serves."""

    def __init__(self, max_sessions: int, max_pending: int = 0) -> None:
        self.max_sessions = max_sessions
        self.max_pending = max_pending  # 0: no limit
        self.state = WorkerState.LOADING
        self._active: set[str] = set()  # session ids
        self._pending = 0  # streams that have not sent their config yet

    @property
    def active_count(self) -> int:
        return len(self._active)

    @contextmanager
    def pending(self) -> Iterator[None]:
        """Count one stream that has not sent its config yet, for the block; Busy when max_pending already wait.

        Such a stream holds no session slot, but memory until its config timeout: without
        a cap, thousands of them would grow the worker without bound.
        """
        if self.max_pending and self._pending >= self.max_pending:
            raise Busy(f"worker already has its maximum of {self.max_pending} streams waiting for their config; "
                       "send the config first, or try again later")
        self._pending += 1
        try:
            yield
        finally:
            self._pending -= 1

    @contextmanager
    def admit(self) -> Iterator[str]:
        """Reserve a slot for one stream for the duration of the block; yields its session id."""
        if self.state is not WorkerState.SERVING:
            raise NotServing(_NOT_SERVING_REASONS[self.state])
        if len(self._active) >= self.max_sessions:
            raise Busy(f"worker is serving its maximum of {self.max_sessions} sessions; try again later")
        session_id = uuid.uuid4().hex
        self._active.add(session_id)
        try:
            yield session_id
        finally:
            self._active.discard(session_id)


_NOT_SERVING_REASONS = {
    WorkerState.LOADING: "worker is loading its model; try again shortly",
    WorkerState.DRAINING: "worker is shutting down; try another worker",
    WorkerState.FAILED: "worker failed to load its model",
}
