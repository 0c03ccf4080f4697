"""The stream pump between servicer and engine, driven by a scripted stand-in engine session."""

from __future__ import annotations

import numpy as np

from inference.audio import InputConverter
from inference.engines.base import EngineEvent, EngineSession, Side, SpeechAudio, SpeechEnded, SpeechStarted, \
    TranscriptUpdate
from inference.latency import SegmentReport
from inference.metrics import WorkerMetrics
from inference.stream import AudioIn, AudioOut, ResetDone, StreamEnded, StreamPump
from prometheus_client import CollectorRegistry


class ScriptedEngineSession(EngineSession):
    """Fake engine (model boundary): a 1 s segment per second of audio, text at once, speech on segment end."""

    def __init__(self) -> None:
        self.samples = 0
        self.resets = 0

    async def push(self, audio: np.ndarray) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        before, self.samples = self.samples, self.samples + len(audio)
        if before == 0:
            events.append(SpeechStarted(1, 0))
        events.append(TranscriptUpdate(Side.TARGET, 1, "hello " * (self.samples // 8000), is_final=False))
        if before < 16000 <= self.samples:
            events += [TranscriptUpdate(Side.TARGET, 1, "hello hello", is_final=True), SpeechEnded(1, 1000),
                       SpeechAudio(1, np.full(12000, 0.25, np.float32)), SpeechAudio(1, np.zeros(0, np.float32), True)]
        return events

    async def flush(self) -> list[EngineEvent]:
        return []

    async def reset(self) -> None:
        self.resets += 1

    async def close(self) -> None:
        pass


def pump(speech_output: bool = True, rate: int = 16000) -> tuple[StreamPump, ScriptedEngineSession]:
    session = ScriptedEngineSession()
    metrics = WorkerMetrics.create(CollectorRegistry())
    return StreamPump(session, InputConverter(rate), 16000, speech_output, metrics), session


def second_of_audio(rate: int = 16000) -> list[AudioIn]:
    return [AudioIn(b"\x00\x01" * (rate // 50), arrived_at=float(i) / 50) for i in range(50)]


async def test_speech_is_cut_into_short_chunks_with_gapless_sequence_numbers():
    stream, _ = pump()
    outputs = await stream.on_audio(second_of_audio())
    audio = [o.item for o in outputs if isinstance(o.item, AudioOut)]
    assert [a.sequence for a in audio] == list(range(len(audio)))
    assert max(len(a.pcm) for a in audio) <= 16000 * 2 // 4  # 250 ms
    assert sum(len(a.pcm) for a in audio) == 12000 * 2
    assert audio[-1].segment_end and not any(a.segment_end for a in audio[:-1])


async def test_a_finished_segment_is_reported_once_with_average_lagging():
    stream, _ = pump()
    outputs = await stream.on_audio(second_of_audio())
    reports = [o.item for o in outputs if isinstance(o.item, SegmentReport)]
    assert len(reports) == 1
    assert reports[0].average_lagging_ms is not None and reports[0].first_output_latency_ms is not None
    assert isinstance(outputs[-1].item, SegmentReport)


async def test_text_only_sessions_send_no_audio_and_report_on_the_final_text():
    stream, _ = pump(speech_output=False)
    outputs = await stream.on_audio(second_of_audio())
    assert not [o for o in outputs if isinstance(o.item, AudioOut)]
    report = next(o.item for o in outputs if isinstance(o.item, SegmentReport))
    assert report.first_output_latency_ms is None


async def test_reset_reaches_the_engine_and_end_closes_the_stream():
    stream, session = pump()
    await stream.on_audio(second_of_audio()[:10])
    assert isinstance((await stream.on_reset())[-1].item, ResetDone)
    assert session.resets == 1
    ending = await stream.on_end()
    assert isinstance(ending[-1].item, StreamEnded)


async def test_offsets_count_input_time_at_the_input_rate():
    stream, _ = pump(rate=48000)
    outputs = await stream.on_audio(second_of_audio(48000))
    assert outputs[-1].input_offset_ms == 1000
