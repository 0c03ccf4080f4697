"""One translation stream: input audio and control in, engine events and latency reports out.

The servicer turns wire requests into ``AudioIn`` / ``ResetIn`` / ``EndIn`` and
wire responses out of ``Output``; this module knows nothing of protobuf. Input is
read by its own task into a bounded queue, so a slow engine step never stops the
stream from accepting audio, and audio that queued up meanwhile reaches the
engine in one call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np

from inference.audio import InputConverter, float_to_pcm16, ms_to_samples, samples_to_ms, split_samples
from inference.engines.base import (
    EngineEvent,
    EngineSession,
    SegmentWarning,
    Side,
    SpeechAudio,
    SpeechEnded,
    SpeechStarted,
    TranscriptUpdate,
)
from inference.latency import InputClock, SegmentReport, SegmentTracker
from inference.metrics import WorkerMetrics

OUTPUT_CHUNK_MS = 250
"""Translated speech is sent in chunks of at most this length."""

MAX_COALESCED_INPUT_MS = 2_000
"""When a stream falls behind, queued audio is handed to the engine in one call of at most this length."""


class SessionExpired(Exception):
    """The session reached its maximum length."""


class InputIdle(Exception):
    """No audio arrived for the idle limit: the client holds a slot it does not use."""


@contextlib.asynccontextmanager
async def within(deadline: float, sooner_at: float, sooner: type[Exception]) -> AsyncIterator[None]:
    """Run the block until the session's deadline (SessionExpired) or sooner_at (sooner), whichever comes first."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(min(deadline, sooner_at)):
            yield
    except TimeoutError:
        raise (SessionExpired if loop.time() >= deadline else sooner)() from None


@dataclass(frozen=True)
class StreamLimits:
    """How long and how big one stream may get (the worker's S2ST_* settings)."""

    max_session_seconds: float
    input_queue_chunks: int
    config_timeout_seconds: float
    idle_session_seconds: float  # 0: no idle limit
    client_stall_seconds: float


@dataclass(frozen=True)
class AudioIn:
    pcm: bytes
    arrived_at: float


@dataclass(frozen=True)
class ResetIn:
    pass


@dataclass(frozen=True)
class EndIn:
    pass


StreamInput = AudioIn | ResetIn | EndIn


@dataclass(frozen=True)
class AudioOut:
    """A chunk of translated speech as wire PCM."""

    segment_id: int
    pcm: bytes
    sequence: int
    segment_end: bool


@dataclass(frozen=True)
class ResetDone:
    pass


@dataclass(frozen=True)
class StreamEnded:
    pass


OutputItem = (SpeechStarted | SpeechEnded | TranscriptUpdate | AudioOut | SegmentReport | SegmentWarning | ResetDone
              | StreamEnded)


@dataclass(frozen=True)
class Output:
    """An event and how much input (ms) had been consumed when it was made."""

    input_offset_ms: int
    item: OutputItem


class StreamPump:
    """Drives one engine session and keeps the stream's offsets, sequence numbers and latency figures."""

    def __init__(
        self,
        engine_session: EngineSession,
        converter: InputConverter,
        output_sample_rate: int,
        speech_output: bool,
        metrics: WorkerMetrics,
    ) -> None:
        self._engine = engine_session
        self._converter = converter
        self._output_rate = output_sample_rate
        self._speech_output = speech_output
        self._metrics = metrics
        self._clock = InputClock()
        self._segments: dict[int, SegmentTracker] = {}
        self._input_samples = 0  # at the input sample rate
        self._engine_samples = 0  # at ENGINE_SAMPLE_RATE
        self._sequence = 0

    @property
    def max_coalesced_bytes(self) -> int:
        """Most queued input handed to the engine in one call."""
        return ms_to_samples(MAX_COALESCED_INPUT_MS, self._converter.input_sample_rate) * 2

    @property
    def input_offset_ms(self) -> int:
        return samples_to_ms(self._input_samples, self._converter.input_sample_rate)

    async def on_audio(self, chunks: list[AudioIn]) -> list[Output]:
        for chunk in chunks:
            self._input_samples += len(chunk.pcm) // 2
            self._clock.record(self.input_offset_ms, chunk.arrived_at)
        self._metrics.audio_in_seconds.inc(sum(len(c.pcm) for c in chunks) / 2 / self._converter.input_sample_rate)
        samples = np.concatenate([self._converter.convert(c.pcm) for c in chunks])
        return await self._step(self._engine.push(samples), len(samples))

    async def on_reset(self) -> list[Output]:
        await self._engine.reset()
        self._converter.reset()
        self._segments.clear()
        return [self._output(ResetDone())]

    async def on_end(self) -> list[Output]:
        outputs = []
        tail = self._converter.finish()
        if len(tail):
            outputs += await self._step(self._engine.push(tail), len(tail))
        outputs += await self._step(self._engine.flush(), 0)
        # Whatever the engine left open ends with the input.
        outputs += [self._output(self._report(segment_id)) for segment_id in list(self._segments)]
        outputs.append(self._output(StreamEnded()))
        return outputs

    async def _step(self, engine_call, new_samples: int) -> list[Output]:
        started = time.perf_counter()
        events = await engine_call
        elapsed = time.perf_counter() - started
        self._metrics.engine_step_seconds.observe(elapsed)
        self._engine_samples += new_samples
        for tracker in self._segments.values():
            tracker.compute_seconds += elapsed
        outputs: list[Output] = []
        for event in events:
            outputs += self._on_event(event)
        return outputs

    def _on_event(self, event: EngineEvent) -> list[Output]:
        if isinstance(event, SpeechStarted):
            self._segments[event.segment_id] = SegmentTracker(event.segment_id, event.at_ms)
            return [self._output(event)]
        if isinstance(event, SegmentWarning):
            return [self._output(event)]
        tracker = self._segments.get(event.segment_id)
        if isinstance(event, SpeechEnded):
            if tracker:
                tracker.speech_end_ms = event.at_ms
            return [self._output(event)] + self._report_if_done(event.segment_id)
        if isinstance(event, TranscriptUpdate):
            if tracker and event.side is Side.TARGET:
                tracker.on_target_text(event.text, self._engine_offset_ms())
                tracker.text_done = event.is_final
            return [self._output(event)] + self._report_if_done(event.segment_id)
        return self._audio_outputs(event, tracker) + self._report_if_done(event.segment_id)

    def _audio_outputs(self, event: SpeechAudio, tracker: SegmentTracker | None) -> list[Output]:
        if not self._speech_output:
            if tracker:
                tracker.audio_done = tracker.audio_done or event.is_last
            return []
        pieces = split_samples(event.samples, ms_to_samples(OUTPUT_CHUNK_MS, self._output_rate))
        outputs = []
        for index, piece in enumerate(pieces):
            is_last = event.is_last and index == len(pieces) - 1
            if len(piece) == 0 and not is_last:
                continue
            duration = len(piece) / self._output_rate
            self._metrics.audio_out_seconds.inc(duration)
            if tracker:
                tracker.on_audio(time.monotonic(), duration)
                tracker.audio_done = tracker.audio_done or is_last
            outputs.append(self._output(AudioOut(event.segment_id, float_to_pcm16(piece), self._sequence, is_last)))
            self._sequence += 1
        return outputs

    def _report_if_done(self, segment_id: int) -> list[Output]:
        tracker = self._segments.get(segment_id)
        if tracker is None or tracker.speech_end_ms is None:
            return []
        done = tracker.audio_done if self._speech_output else tracker.text_done
        return [self._output(self._report(segment_id))] if done else []

    def _report(self, segment_id: int) -> SegmentReport:
        report = self._segments.pop(segment_id).report(self._clock)
        self._metrics.observe_segment(report)
        return report

    def _engine_offset_ms(self) -> int:
        return samples_to_ms(self._engine_samples)

    def _output(self, item: OutputItem) -> Output:
        return Output(self.input_offset_ms, item)


_END_OF_REQUESTS = object()


async def run_stream(
    requests: AsyncIterator[StreamInput],
    pump: StreamPump,
    queue_size: int,
    deadline: float,
    idle_seconds: float,
) -> AsyncIterator[Output]:
    """Feed requests to the pump and yield its outputs until EndIn or the end of requests.

    Raises SessionExpired once the event loop's clock passes ``deadline``,
    InputIdle when no audio has arrived for ``idle_seconds`` (0: never), and
    whatever reading the requests raised (a contract breach), in order with them. The
    limits wrap only the waits and engine calls, never a yield, so they cannot
    fire inside the consumer's code; the idle limit wraps only the wait for input.
    """
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=queue_size)
    loop = asyncio.get_running_loop()
    last_audio = loop.time()

    async def read_requests() -> None:
        try:
            async for request in requests:
                await queue.put(request)
            await queue.put(_END_OF_REQUESTS)
        except Exception as error:  # a request that breaks the contract, say: raised where outputs are read
            await queue.put(error)

    reader = asyncio.create_task(read_requests(), name="stream-reader")
    pending: object | None = None
    try:
        while True:
            if pending is None:
                idle_at = last_audio + idle_seconds if idle_seconds > 0 else deadline
                async with within(deadline, idle_at, InputIdle):
                    item = await queue.get()
            else:
                item, pending = pending, None
            if isinstance(item, Exception):
                raise item
            async with within(deadline, deadline, SessionExpired):
                if isinstance(item, AudioIn):
                    last_audio = loop.time()
                    chunks, pending = _take_queued_audio(item, queue, pump.max_coalesced_bytes)
                    outputs = await pump.on_audio(chunks)
                elif isinstance(item, ResetIn):
                    outputs = await pump.on_reset()
                else:  # EndIn or the client closed its side: both mean no more audio.
                    outputs = await pump.on_end()
            for output in outputs:
                yield output
            if isinstance(item, EndIn) or item is _END_OF_REQUESTS:
                return
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


def _take_queued_audio(
    first: AudioIn, queue: asyncio.Queue[object], max_bytes: int
) -> tuple[list[AudioIn], object | None]:
    """The first chunk plus the audio queued right behind it (up to max_bytes), and the non-audio item that stopped it."""
    chunks = [first]
    size = len(first.pcm)
    while size < max_bytes and not queue.empty():
        item = queue.get_nowait()
        if not isinstance(item, AudioIn):
            return chunks, item
        chunks.append(item)
        size += len(item.pcm)
    return chunks, None
