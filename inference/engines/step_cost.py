"""The measured compute an engine spends per stream per step, for admission by step time (inference/admission.py).

The model's thread reports each round it runs (its wall seconds and how many
streams' steps it held; the serial path reports each pushpop as a round of one).
The cost of one stream-step is the round's seconds over its steps, smoothed over
rounds as an exponential moving average: batched rounds of many streams cost less
per stream, and the average follows the batch sizes the worker really runs.
"""

from __future__ import annotations

SMOOTHING = 0.2  # weight of the newest round: about the last ten rounds count


class StepCost:
    """Seconds of compute per stream-step, an exponential moving average over rounds."""

    def __init__(self) -> None:
        self._seconds: float | None = None  # written on the model's thread, read on the event loop (one float)

    def record(self, seconds: float, steps: int) -> None:
        """One round of ``steps`` streams' steps that took ``seconds``."""
        if steps <= 0:
            return
        per_step = seconds / steps
        self._seconds = per_step if self._seconds is None else self._seconds + SMOOTHING * (per_step - self._seconds)

    @property
    def seconds(self) -> float | None:
        """None until a round has run."""
        return self._seconds
