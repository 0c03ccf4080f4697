"""Voices whose synthesizer runs in a synthesis process (Piper, Kokoro): a bounded pool of threads
waits on those processes, so synthesis never holds the event loop nor the recogniser's thread."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from inference.engines.lite.voices.base import MAX_TEXT_CHARS, Voice
from inference.engines.lite.voices.process import SynthesisProcess



class NeuralVoice(Voice):
    """One language of a synthesis process; several languages may share a process (Kokoro)."""

    def __init__(self, language: str, kind: str, label: str, process: SynthesisProcess, process_language: str,
                 slots: ThreadPoolExecutor) -> None:
        self.language = language
        self.kind = kind
        self.label = label
        self._process = process
        self._process_language = process_language  # the synthesizer's own code for it (Kokoro: `es`, `pt-br`)
        self._slots = slots

    @property
    def pid(self) -> int | None:
        """The synthesis process now serving this voice (it changes when one is restarted)."""
        return self._process.pid

    async def speak(self, text: str) -> np.ndarray:
        if not text.strip():
            return np.zeros(0, dtype=np.float32)
        return await asyncio.get_running_loop().run_in_executor(
            self._slots, self._process.synthesize, text[:MAX_TEXT_CHARS], self._process_language)
