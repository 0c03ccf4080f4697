"""Admission: whether the worker takes a stream now (its lifecycle state, the session cap, the cap on streams still
waiting for their config, its step time), and its id.

Step time: every live stream costs the model compute each step (320 ms of audio for
seamless). With the engine's measured seconds per stream-step (engines/step_cost.py),
``(streams served + 1) x cost`` is the step time one more stream would bring; past
the budget, every stream would fall behind real time, so the new one is refused. An
idle worker always takes one stream: refusing it would leave the cost never measured again.
"""

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

    def __init__(self, max_sessions: int, max_pending: int = 0, step_budget_seconds: float = 0.0) -> None:
        self.max_sessions = max_sessions
        self.max_pending = max_pending  # 0: no limit
        self.step_budget_seconds = step_budget_seconds  # 0: no admission by step time
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
    def admit(self, step_cost_seconds: float | None = None) -> Iterator[str]:
        """Reserve a slot for one stream for the duration of the block; yields its session id.

        ``step_cost_seconds``: the engine's measured compute per stream-step, if it measures one.
        """
        if self.state is not WorkerState.SERVING:
            raise NotServing(_NOT_SERVING_REASONS[self.state])
        if len(self._active) >= self.max_sessions:
            raise Busy(f"worker is serving its maximum of {self.max_sessions} sessions; try again later")
        streams = len(self._active) + 1
        if self._active and step_cost_seconds and self.step_budget_seconds and \
                streams * step_cost_seconds > self.step_budget_seconds:
            raise Busy(f"worker is at its compute budget: {streams} streams x {step_cost_seconds * 1000:.0f} ms "
                       f"measured per stream-step would pass its {self.step_budget_seconds * 1000:.0f} ms step; "
                       "try again later")
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
