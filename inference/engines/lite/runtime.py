"""What every lite session shares: the loaded models and the one inference thread they run on."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import onnxruntime

from inference.engines.lite.recognizer import Recognition, Recognizer
from inference.engines.lite.segmenter import SegmentPolicy
from inference.engines.lite.synth import Synthesizer


@dataclass
class LiteRuntime:
    """Models loaded once per worker. Whisper runs on a single thread: sessions queue in FIFO order,
    and since each session waits for its own call, the queue holds at most one job per session (fair)."""

    recognizer: Recognizer
    vad_model: onnxruntime.InferenceSession
    synthesizer: Synthesizer
    segment_policy: SegmentPolicy
    partial_interval_ms: int
    voice: str
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="lite-whisper"))
    _in_flight: int = 0

    @property
    def busy(self) -> bool:
        """True while a recognition of any session runs or waits: partials then yield to finals."""
        return self._in_flight > 0

    async def recognize(self, audio: np.ndarray, language: str | None, translate: bool) -> Recognition:
        self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self.executor, self.recognizer.recognize, audio, language, translate)
        finally:
            self._in_flight -= 1

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
