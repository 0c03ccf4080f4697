"""A session's translated speech, synthesized in order beside the session rather than inside it.

Each sentence goes to the voice as soon as its text is final; while it is spoken the session goes
on recognising. The session hands out what is ready with its next events (`take`, at every push: a
live client sends audio every few tens of ms) and waits for the rest at the end of input (`drain`).
A voice that fails (SynthesisFailed: its process is restarted) leaves that sentence as text, with a
SegmentWarning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import numpy as np

from inference.engines.base import EngineEvent, SegmentWarning, SpeechAudio
from inference.engines.lite.voices import SynthesisFailed, Voice

log = logging.getLogger("inference.engines.lite.speech")

_SILENCE = np.zeros(0, dtype=np.float32)


class SpeechQueue:
    """Texts to speak, in order; their SpeechAudio (and warnings) once ready."""

    def __init__(self, voice: Voice | None) -> None:
        self._voice = voice  # None: a text-only target, whose segments still end with an empty SpeechAudio
        self._texts: asyncio.Queue[tuple[int, str, bool]] = asyncio.Queue()
        self._ready: list[EngineEvent] = []
        self._task: asyncio.Task[None] | None = None

    def put(self, segment_id: int, text: str, is_last: bool = False) -> None:
        if not text.strip() and not is_last:
            return
        if self._task is None:
            self._task = asyncio.create_task(self._speak_all(), name="lite-speech")
        self._texts.put_nowait((segment_id, text, is_last))

    def take(self) -> list[EngineEvent]:
        """Events of the speech synthesized so far."""
        ready, self._ready = self._ready, []
        return ready

    async def drain(self) -> list[EngineEvent]:
        """Events of all the speech asked for, once it is synthesized."""
        if self._task is not None:
            await self._texts.join()
        return self.take()

    async def cancel(self) -> None:
        """Drop what waits or is being spoken (reset, close)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._texts = asyncio.Queue()
        self._ready = []

    async def _speak_all(self) -> None:
        while True:
            segment_id, text, is_last = await self._texts.get()
            try:
                self._ready += await self._speak(segment_id, text, is_last)
            except Exception:  # a fault of ours must not silence the rest of the session
                log.exception("speaking a sentence failed", extra={"segment_id": segment_id})
                self._ready += [SpeechAudio(segment_id, _SILENCE, is_last=True)] if is_last else []
            finally:
                self._texts.task_done()

    async def _speak(self, segment_id: int, text: str, is_last: bool) -> list[EngineEvent]:
        if self._voice is None or not text.strip():
            return [SpeechAudio(segment_id, _SILENCE, is_last=True)] if is_last else []
        try:
            return [SpeechAudio(segment_id, await self._voice.speak(text), is_last=is_last)]
        except SynthesisFailed as exc:
            warning = SegmentWarning(segment_id, "synthesis_failed",
                                     f"{self._voice.label} failed on this segment ({exc}); it is sent as text")
            return [warning, *([SpeechAudio(segment_id, _SILENCE, is_last=True)] if is_last else [])]
