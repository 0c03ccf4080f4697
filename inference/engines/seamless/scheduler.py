"""The two ways streams' jobs reach the model: one at a time (serial) or stepped together in rounds (batched).

A stream's job (a push, a flush) is a generator of pushpop ``Step``s (stream.py).
Each round takes the next step of every job in hand and runs them in one
``BatchedPushpop`` call; a job that arrives during a round joins the next one. So
no stream waits for more than the round in progress, and a stream whose audio is
late is simply not in the round: nobody waits for it. A step that fails ends
that stream's job with the error; the other streams' steps in the round go on.

Both runners measure what a stream-step costs (``cost``: each round's wall time over
its steps, engines/step_cost.py), which the worker's admission reads.

``SerialRunner`` is the path before batching, kept for comparison and as a fallback
(``S2ST_SEAMLESS_BATCHING=0``): each job runs alone to its end, in arrival order.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inference.engines.base import EngineEvent
from inference.engines.seamless.stream import Step, Steps, run_alone
from inference.engines.serial import InferenceThread
from inference.engines.step_cost import StepCost

PushpopMany = Callable[[list[Step]], list[Any]]  # each step's outputs, or the exception it raised


@dataclass
class _Job:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    steps: Steps | None = None  # a stream's job, stepped in rounds
    call: Callable[[], Any] | None = None  # or a plain function (a reset), run between rounds
    step: Step | None = field(default=None)

    def settle(self, value: Any = None, error: BaseException | None = None) -> None:
        self.loop.call_soon_threadsafe(_settle, self.future, value, error)


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class LockstepScheduler:
    """One thread that runs every stream's pushpops in rounds."""

    def __init__(self, name: str, pushpop_many: PushpopMany) -> None:
        self._pushpop_many = pushpop_many
        self.cost = StepCost()
        self._incoming: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def run(self, steps: Steps) -> list[EngineEvent]:
        """Run a stream's job to its end, its steps in rounds with every other stream's."""
        return await self._submit(_Job(asyncio.get_running_loop(), asyncio.get_running_loop().create_future(),
                                       steps=steps))

    async def call(self, function: Callable[[], Any]) -> Any:
        """Run a plain function on the thread, between two rounds."""
        return await self._submit(_Job(asyncio.get_running_loop(), asyncio.get_running_loop().create_future(),
                                       call=function))

    async def _submit(self, job: _Job) -> Any:
        self._incoming.put(job)
        return await job.future

    def close(self) -> None:
        self._incoming.put(None)

    def _serve(self) -> None:
        active: list[_Job] = []
        while True:
            arrived = [] if active else [self._incoming.get()]  # idle: sleep until work comes
            while not self._incoming.empty():
                arrived.append(self._incoming.get_nowait())
            for job in arrived:
                if job is None:
                    for left in active:
                        left.settle(error=RuntimeError("the seamless engine closed"))
                    return
                if self._start(job):
                    active.append(job)
            active = [job for job in active if not job.future.cancelled()]  # its stream is gone
            if not active:
                continue
            started = time.perf_counter()
            try:
                outcomes = self._pushpop_many([job.step for job in active])  # type: ignore[misc]
            except Exception as error:  # not one stream's fault: every stream in the round ends with it
                outcomes = [error] * len(active)
            self.cost.record(time.perf_counter() - started, len(active))
            active = [job for job, outcome in zip(active, outcomes) if self._advance(job, outcome)]

    def _start(self, job: _Job) -> bool:
        """Run a call, or take a job to its first step; True when it has a step for the next round."""
        if job.call is not None:
            try:
                job.settle(job.call())
            except Exception as error:
                job.settle(error=error)
            return False
        return self._advance(job, None)

    @staticmethod
    def _advance(job: _Job, outcome: Any) -> bool:
        """Hand a step's outcome to its job and take the job's next step; True while it has one."""
        assert job.steps is not None
        try:
            if outcome is None:
                job.step = next(job.steps)
            elif isinstance(outcome, Exception):
                job.step = job.steps.throw(outcome)
            else:
                job.step = job.steps.send(outcome)
            return True
        except StopIteration as done:
            job.settle(done.value)
        except Exception as error:
            job.settle(error=error)
        return False


class SerialRunner:
    """The serial path: each job alone on the model's one thread, one upstream pushpop at a time."""

    def __init__(self, name: str) -> None:
        self._thread = InferenceThread(name)
        self.cost = StepCost()

    async def run(self, steps: Steps) -> list[EngineEvent]:
        return await self._thread.run(functools.partial(run_alone, steps, self.cost.record))

    async def call(self, function: Callable[[], Any]) -> Any:
        return await self._thread.run(function)

    def close(self) -> None:
        self._thread.close()
