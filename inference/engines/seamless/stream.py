"""Driving one stream through the shared SeamlessStreaming agent with its own agent states.

The agent is a SimulEval TreeAgentPipeline: ``build_states()`` gives a dict of
per-module states, ``pushpop(segment, states)`` returns one output segment per
leaf module (detokenizer text, vocoder speech). The pipeline's own Silero VAD
(the source module) cuts segments: once it has heard ``--silence-limit-ms`` of
silence its states say ``source_finished``, the outputs drain and come out
``finished``; then every state is reset for the next segment, as the upstream
demo does. All calls happen on the model's inference thread.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from inference.engines.base import (
    ENGINE_SAMPLE_RATE,
    EngineEvent,
    Side,
    SpeechAudio,
    SpeechEnded,
    SpeechStarted,
    TranscriptUpdate,
)
from inference.engines.seamless.settings import VAD_WINDOW_SAMPLES

MAX_DRAIN_STEPS = 200  # pops to wait for a segment's outputs once its input ended; a safety bound


class SegmentClasses:
    """SimulEval's segment classes (simuleval.data.segments), passed in so tests can use them directly."""

    def __init__(self, speech_segment: type, text_segment: type, empty_segment: type) -> None:
        self.speech = speech_segment
        self.text = text_segment
        self.empty = empty_segment


class SeamlessStream:
    """Per-stream agent states plus the bookkeeping that turns agent outputs into engine events."""

    def __init__(self, agent: Any, segments: SegmentClasses, tgt_lang: str, silence_limit_ms: int,
                 max_segment_seconds: float) -> None:
        self._agent = agent
        self._segments = segments
        self._tgt_lang = tgt_lang
        self._silence_limit_ms = silence_limit_ms
        self._max_segment_samples = int(max_segment_seconds * ENGINE_SAMPLE_RATE)
        self._states: dict[Any, Any] | None = None  # built on the inference thread: each has its own VAD model
        self._buffer = np.zeros(0, dtype=np.float32)
        self._consumed = 0  # samples handed to the agent
        self._segment_id = 1
        self._speaking = False
        self._speech_ended = False
        self._segment_samples = 0
        self._text = ""

    # Each public method runs on the inference thread and returns the events it produced.

    def push(self, audio: np.ndarray) -> list[EngineEvent]:
        """Hand whole VAD windows to the agent (Silero skips a trailing partial window)."""
        self._ensure_states()
        self._buffer = np.concatenate([self._buffer, audio.astype(np.float32, copy=False)])
        whole = len(self._buffer) // VAD_WINDOW_SAMPLES * VAD_WINDOW_SAMPLES
        if whole == 0:
            return []
        chunk, self._buffer = self._buffer[:whole], self._buffer[whole:]
        return self._step(chunk)

    def flush(self) -> list[EngineEvent]:
        """End of input: the VAD only ends a segment on silence, so feed it silence until the segment drains."""
        self._ensure_states()
        events: list[EngineEvent] = []
        if len(self._buffer):
            padded = np.zeros(VAD_WINDOW_SAMPLES, dtype=np.float32)
            padded[: len(self._buffer)] = self._buffer
            self._buffer = np.zeros(0, dtype=np.float32)
            events += self._step(padded)
        silence = np.zeros(ENGINE_SAMPLE_RATE * (self._silence_limit_ms + 400) // 1000 // VAD_WINDOW_SAMPLES
                           * VAD_WINDOW_SAMPLES, dtype=np.float32)
        for _ in range(MAX_DRAIN_STEPS):
            if not self._speaking:
                break
            events += self._step(silence, counts_as_input=False)
        return events

    def reset(self) -> None:
        """Drop the utterance: fresh states for every module, nothing buffered."""
        self._reset_states()
        self._buffer = np.zeros(0, dtype=np.float32)
        self._speaking = False
        self._speech_ended = False
        self._text = ""
        self._segment_samples = 0

    def _step(self, chunk: np.ndarray, counts_as_input: bool = True) -> list[EngineEvent]:
        segment = self._segments.speech(
            content=chunk, sample_rate=ENGINE_SAMPLE_RATE, finished=False, tgt_lang=self._tgt_lang,
            config={"expressive": False},
        )
        outputs = self._agent.pushpop(segment, self._states)
        if counts_as_input:
            self._consumed += len(chunk)
        events = self._voice_activity(len(chunk))
        events += self._outputs(outputs)
        if self._speaking and not self._speech_ended and self._segment_samples >= self._max_segment_samples:
            events += self._end_long_segment()
        return events

    def _voice_activity(self, chunk_samples: int) -> list[EngineEvent]:
        assert self._states is not None
        vad_states = self._states[self._agent.source_module]
        events: list[EngineEvent] = []
        if not self._speaking and not vad_states.is_fresh_state:
            self._speaking = True
            self._segment_samples = 0
            events.append(SpeechStarted(self._segment_id, self._ms(self._consumed - chunk_samples)))
        if self._speaking:
            self._segment_samples += chunk_samples
        if self._speaking and not self._speech_ended and vad_states.source_finished:
            self._speech_ended = True
            end_ms = max(0, self._ms(self._consumed) - self._silence_limit_ms)
            events.append(SpeechEnded(self._segment_id, end_ms))
        return events

    def _outputs(self, outputs: list[Any]) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        finished = bool(outputs) and all(output.finished for output in outputs)
        for output in outputs:
            if isinstance(output, self._segments.text) and output.content:
                self._text = f"{self._text} {output.content}".strip()
                events.append(TranscriptUpdate(Side.TARGET, self._segment_id, self._text, is_final=False,
                                               language=self._tgt_lang))
            elif isinstance(output, self._segments.speech) and len(output.content):
                events.append(SpeechAudio(self._segment_id, np.asarray(output.content, dtype=np.float32)))
        if finished and self._speaking:
            events += self._close_segment()
        return events

    def _close_segment(self) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        if not self._speech_ended:
            events.append(SpeechEnded(self._segment_id, self._ms(self._consumed)))
        events += [
            TranscriptUpdate(Side.TARGET, self._segment_id, self._text, is_final=True, language=self._tgt_lang),
            SpeechAudio(self._segment_id, np.zeros(0, dtype=np.float32), is_last=True),
        ]
        self._reset_states()
        self._segment_id += 1
        self._speaking = self._speech_ended = False
        self._text = ""
        return events

    def _end_long_segment(self) -> list[EngineEvent]:
        """A monologue past the cap: end the source now, as the VAD does on silence, then let outputs drain.

        The w2v-BERT encoder re-reads the whole segment at every step, so an endless
        segment would make every step slower.
        """
        vad_states = self._states[self._agent.source_module]
        if len(vad_states.input_chunk):
            vad_states.input_queue.put_nowait(self._segments.speech(
                content=vad_states.input_chunk, finished=True, tgt_lang=self._tgt_lang))
            vad_states.input_chunk = np.empty(0, dtype=np.int16)
        vad_states.input_queue.put_nowait(self._segments.empty(finished=True))
        vad_states.source_finished = True
        vad_states.silence_acc_ms = vad_states.speech_acc_ms = 0
        events: list[EngineEvent] = [SpeechEnded(self._segment_id, self._ms(self._consumed))]
        self._speech_ended = True
        nothing = np.zeros(0, dtype=np.float32)
        for _ in range(MAX_DRAIN_STEPS):
            if not self._speaking:
                break
            events += self._outputs(self._agent.pushpop(self._segments.speech(
                content=nothing, sample_rate=ENGINE_SAMPLE_RATE, finished=False, tgt_lang=self._tgt_lang,
                config={"expressive": False}), self._states))
        return events

    def _ensure_states(self) -> None:
        if self._states is None:
            self._states = self._agent.build_states()

    def _reset_states(self) -> None:
        for states in (self._states or {}).values():
            states.reset()

    @staticmethod
    def _ms(samples: int) -> int:
        return samples * 1000 // ENGINE_SAMPLE_RATE
