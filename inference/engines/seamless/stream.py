"""Driving one stream through the shared SeamlessStreaming agent with its own agent states.

The agent is a SimulEval TreeAgentPipeline: ``build_states()`` gives a dict of
per-module states, ``pushpop(segment, states)`` returns one output segment per
leaf module (detokenizer text, and vocoder speech unless the session is text
only). Audio goes in as whole ``--chunk-size-samples`` chunks (320 ms), as
upstream's streaming evaluation pushes it: the encoder re-encodes the whole
segment and the feature extractor re-reads the last chunk on every call, so
smaller pushes would repeat audio and multiply the work.

The pipeline's own Silero VAD (the source module) cuts segments: once it has
heard ``--silence-limit-ms`` of silence it says ``source_finished``; then the
outputs are drained, the segment is closed and every state is reset for the
next one. The drain is bounded (random or confused weights may never say
``finished``), and a segment longer than the cap is ended the same way. All
calls happen on the model's inference thread, and the drivers run every pushpop under
``torch.inference_mode`` (Silero's recurrent state would otherwise carry an autograd
graph from call to call).

The stream never calls the agent itself: each public method is a generator of
``Step``s (one pushpop each) that is sent the pushpop's outputs back, so that one
driver can run a stream alone (``run_alone``, the serial path) and another can
step many streams together (scheduler.py, the batched path) with the same logic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from inference.audio import WindowBuffer, ms_to_samples, samples_to_ms
from inference.engines.base import (
    ENGINE_SAMPLE_RATE,
    EngineEvent,
    Side,
    SpeechAudio,
    SpeechEnded,
    SpeechStarted,
    TranscriptUpdate,
)

MAX_DRAIN_STEPS = 64  # pops that may finish a segment once its input ended, before it is closed anyway


@dataclass(frozen=True)
class Step:
    """One pushpop a stream asks for: the agent tree it uses, its input segment and its own agent states."""

    agent: Any
    segment: Any
    states: dict[Any, Any]


# A stream's job: it yields the pushpops it needs, is sent each one's outputs, and returns its events.
Steps = Generator[Step, list[Any], list[EngineEvent]]


def run_alone(steps: Steps, record: Callable[[float, int], None] | None = None) -> list[EngineEvent]:
    """Drive one stream's job to its end, one upstream pushpop at a time (the serial path).

    ``record``: told each pushpop's wall seconds, as a round of one step (engines/step_cost.py).
    """
    import torch

    try:
        step = next(steps)
        while True:
            started = time.perf_counter()
            with torch.inference_mode():
                outputs = step.agent.pushpop(step.segment, step.states)
            if record is not None:
                record(time.perf_counter() - started, 1)
            step = steps.send(outputs)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


class SegmentClasses:
    """SimulEval's segment classes (simuleval.data.segments)."""

    def __init__(self, speech_segment: type, text_segment: type, empty_segment: type) -> None:
        self.speech = speech_segment
        self.text = text_segment
        self.empty = empty_segment


@dataclass(frozen=True)
class StreamSettings:
    """What a stream needs from the engine's settings and the session's request."""

    tgt_lang: str
    speech_output: bool
    chunk_samples: int  # --chunk-size-samples
    silence_limit_ms: int  # --silence-limit-ms
    max_segment_samples: int


class SeamlessStream:
    """Per-stream agent states plus the bookkeeping that turns agent outputs into engine events."""

    def __init__(self, agent: Any, segment_types: SegmentClasses, settings: StreamSettings) -> None:
        self._agent = agent
        self._segment_types = segment_types
        self._settings = settings
        self._states: dict[Any, Any] | None = None  # built on the inference thread: each has its own VAD model
        self._chunks = WindowBuffer(settings.chunk_samples)
        self._consumed = 0  # samples handed to the agent
        self._segment_id = 0  # the open segment's; every segment gets a new one, a reset never reuses it
        self._speaking = False
        self._speech_ended = False
        self._segment_samples = 0
        self._text = ""

    # Each public method is a job for the inference thread; its value is the events it produced.

    def push(self, audio: np.ndarray) -> Steps:
        """Hand every whole chunk to the agent; keep the rest for the next push."""
        whole, chunk = self._chunks.push(audio), self._settings.chunk_samples
        events: list[EngineEvent] = []
        for start in range(0, len(whole), chunk):
            events += yield from self._step(whole[start : start + chunk])
        return events

    def flush(self) -> Steps:
        """End of input: the VAD only ends a segment on silence, so pad with silence until the segment closes."""
        events: list[EngineEvent] = []
        rest = self._chunks.drain()
        if len(rest):
            padded = np.zeros(self._settings.chunk_samples, dtype=np.float32)
            padded[: len(rest)] = rest
            events += yield from self._step(padded)
        silence = np.zeros(self._settings.chunk_samples, dtype=np.float32)
        chunks_to_end = -(-ms_to_samples(self._settings.silence_limit_ms) // len(silence)) + 1
        for _ in range(chunks_to_end):
            if not self._speaking:
                break
            events += yield from self._step(silence, counts_as_input=False)
        if self._speaking:  # the VAD never heard the speech end: close the segment as the cap does
            events += yield from self._end_segment_now()
        return events

    def reset(self) -> None:
        """Drop the utterance: every module's states reset, nothing heard so far kept anywhere."""
        if self._states is not None:
            for module, states in self._states.items():
                if module is self._agent.source_module:
                    states.drop_everything()
                else:
                    states.reset()
        self._chunks.clear()
        self._speaking = self._speech_ended = False
        self._text = ""
        self._segment_samples = 0

    def _step(self, chunk: np.ndarray, counts_as_input: bool = True) -> Steps:
        outputs = yield self._pushpop(chunk)
        if counts_as_input:
            self._consumed += len(chunk)
        events = self._voice_activity(len(chunk))
        events += self._outputs(outputs)
        if self._speaking and self._speech_ended:
            events += yield from self._drain_and_close(outputs)
        elif self._speaking and self._segment_samples >= self._settings.max_segment_samples:
            events += yield from self._end_segment_now()
        return events

    def _pushpop(self, samples: np.ndarray) -> Step:
        if self._states is None:
            self._states = self._agent.build_states()
        segment = self._segment_types.speech(
            content=samples, sample_rate=ENGINE_SAMPLE_RATE, finished=False, tgt_lang=self._settings.tgt_lang,
            config={"expressive": False},
        )
        return Step(self._agent, segment, self._states)

    def _vad(self) -> Any:
        assert self._states is not None
        return self._states[self._agent.source_module]

    def _voice_activity(self, chunk_samples: int) -> list[EngineEvent]:
        vad = self._vad()
        events: list[EngineEvent] = []
        if not self._speaking and not vad.is_fresh_state:
            self._speaking = True
            self._segment_id += 1
            self._segment_samples = 0
            events.append(SpeechStarted(self._segment_id, samples_to_ms(self._consumed - chunk_samples)))
        if self._speaking:
            self._segment_samples += chunk_samples
        if self._speaking and not self._speech_ended and vad.source_finished:
            self._speech_ended = True
            end_ms = max(0, samples_to_ms(self._consumed) - self._settings.silence_limit_ms)
            events.append(SpeechEnded(self._segment_id, end_ms))
        return events

    def _outputs(self, outputs: list[Any]) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        for output in outputs:
            if isinstance(output, self._segment_types.text) and output.content:
                # The detokenizer's output starts with a space where a word starts (detokenizer.py).
                self._text += output.content
                events.append(TranscriptUpdate(Side.TARGET, self._segment_id, self._text.strip(), is_final=False,
                                               language=self._settings.tgt_lang))
            elif isinstance(output, self._segment_types.speech) and len(output.content):
                events.append(SpeechAudio(self._segment_id, np.asarray(output.content, dtype=np.float32)))
        return events

    def _drain_and_close(self, outputs: list[Any] | None) -> Steps:
        """The source of this segment ended: pop until the outputs finish or stall (bounded), then close it.

        ``outputs``: those of the step that ended the source, if any. When every one of
        them already says finished, as upstream's own loop does, no further pop runs: it
        would make the feature extractor re-read the last chunk and the encoder re-encode
        the whole segment for nothing. Once the source has ended no input is left to wait
        for, so a pop that writes nothing means nothing more will come (a decoder that
        reached its length limit without end-of-sentence never says finished).
        """
        events: list[EngineEvent] = []
        nothing = np.zeros(0, dtype=np.float32)
        for _ in range(MAX_DRAIN_STEPS):
            if outputs is not None and all(output.finished for output in outputs):
                break
            outputs = yield self._pushpop(nothing)
            written = self._outputs(outputs)
            events += written
            if not written:
                break
        return events + self._close_segment()

    def _end_segment_now(self) -> Steps:
        """End the source now, as the VAD does after silence, then drain (the segment cap and end of input).

        The w2v-BERT encoder re-reads the whole segment at every step, so an endless
        segment would make every step slower.
        """
        vad = self._vad()
        if len(vad.input_chunk):
            vad.input_queue.put_nowait(self._segment_types.speech(
                content=vad.input_chunk, finished=True, tgt_lang=self._settings.tgt_lang))
            vad.input_chunk = np.empty(0, dtype=np.int16)
        vad.input_queue.put_nowait(self._segment_types.empty(finished=True))
        vad.source_finished = True
        vad.silence_acc_ms = vad.speech_acc_ms = 0
        self._speech_ended = True
        ended: list[EngineEvent] = [SpeechEnded(self._segment_id, samples_to_ms(self._consumed))]
        return ended + (yield from self._drain_and_close(None))

    def _close_segment(self) -> list[EngineEvent]:
        events: list[EngineEvent] = [
            TranscriptUpdate(Side.TARGET, self._segment_id, self._text.strip(), is_final=True,
                             language=self._settings.tgt_lang),
        ]
        if self._settings.speech_output:
            events.append(SpeechAudio(self._segment_id, np.zeros(0, dtype=np.float32), is_last=True))
        # Upstream's reset keeps what the VAD heard after the segment ended: the next segment starts with it.
        for states in (self._states or {}).values():
            states.reset()
        self._speaking = self._speech_ended = False
        self._text = ""
        self._segment_samples = 0
        return events
