"""Streams one audio file through a worker's Translate API, as a microphone would, and keeps every output
with the input offset at which the worker produced it."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from bench.evaluation.timeline import TimedText
from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc

DEFAULT_CHUNK_MS = 20  # when the worker states no input step of its own
SAMPLE_BYTES = 2


@dataclass(frozen=True)
class Recording:
    """LINEAR16 mono audio and its rate, as the worker takes it."""

    pcm: bytes
    sample_rate_hz: int

    @property
    def duration_ms(self) -> float:
        return 1000 * len(self.pcm) / SAMPLE_BYTES / self.sample_rate_hz


@dataclass(frozen=True)
class SpeechChunk:
    """Translated speech as it came: its PCM, the worker's input offset on it, and when it reached the
    client (ms of client clock since the first audio was sent, times the sending speed: at real-time
    pace, the point of the input a listener was at when the chunk arrived)."""

    pcm: bytes
    input_offset_ms: float
    arrived_ms: float


@dataclass
class StreamResult:
    """What came back from one stream: transcripts, output speech, worker figures."""

    source: list[TimedText] = field(default_factory=list)
    target: list[TimedText] = field(default_factory=list)
    speech: list[SpeechChunk] = field(default_factory=list)
    output_sample_rate_hz: int = 16_000
    speech_starts_ms: list[float] = field(default_factory=list)
    error: str | None = None


def read_recording(path: Path) -> Recording:
    """A WAV file that is 16-bit mono as it is; anything else sox can read converted to 16 kHz 16-bit mono."""
    try:
        with wave.open(str(path)) as reader:
            if reader.getsampwidth() == SAMPLE_BYTES and reader.getnchannels() == 1:
                return Recording(reader.readframes(reader.getnframes()), reader.getframerate())
    except (wave.Error, EOFError):
        pass
    with tempfile.NamedTemporaryFile(suffix=".wav") as converted:
        subprocess.run(["sox", str(path), "-r", "16000", "-c", "1", "-b", "16", converted.name], check=True,
                       capture_output=True)
        with wave.open(converted.name) as reader:
            return Recording(reader.readframes(reader.getnframes()), reader.getframerate())


async def stream(address: str, recording: Recording, source_language: str, target_language: str,
                 speed: float = 1.0) -> StreamResult:
    """One Translate stream: config, the recording in the worker's input step (speed times real time;
    0: as fast as flow control allows), end of input; every response read while sending."""
    result = StreamResult()
    config = pb.SessionConfig(target_language=target_language, source_language=source_language,
                              sample_rate_hz=recording.sample_rate_hz, client_label="bench.evaluate")
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            call = pb_grpc.TranslatorStub(channel).Translate()
            await call.write(pb.TranslateRequest(config=config))
            first = await call.read()
            if first is grpc.aio.EOF or not first.HasField("accepted"):
                raise RuntimeError(f"no session accepted, got {first}")
            result.output_sample_rate_hz = first.accepted.output_sample_rate_hz or result.output_sample_rate_hz
            step_ms = first.accepted.input_step_ms or DEFAULT_CHUNK_MS
            start = time.perf_counter()
            sender = asyncio.create_task(_send(call, recording, step_ms, speed, start))
            while (response := await call.read()) is not grpc.aio.EOF:
                _record(response, result, (time.perf_counter() - start) * 1000 * (speed or 1.0))
            await sender
    except grpc.aio.AioRpcError as error:
        result.error = f"{error.code().name}: {error.details()}"
    except (RuntimeError, OSError) as error:
        result.error = str(error)
    return result


async def _send(call: grpc.aio.StreamStreamCall, recording: Recording, step_ms: int, speed: float,
                start: float) -> None:
    chunk_bytes = recording.sample_rate_hz * step_ms // 1000 * SAMPLE_BYTES
    for index, offset in enumerate(range(0, len(recording.pcm), chunk_bytes)):
        if speed > 0:
            await asyncio.sleep(max(0.0, start + index * step_ms / 1000 / speed - time.perf_counter()))
        await call.write(pb.TranslateRequest(audio=pb.AudioChunk(pcm=recording.pcm[offset: offset + chunk_bytes])))
    await call.write(pb.TranslateRequest(control=pb.Control(action=pb.Control.END_OF_INPUT)))
    await call.done_writing()


def _record(response: pb.TranslateResponse, result: StreamResult, arrived_ms: float) -> None:
    offset = float(response.input_offset_ms)
    kind = response.WhichOneof("event")
    if kind == "transcript":
        event = response.transcript
        timed = TimedText(event.segment_id, event.is_final, event.text, offset)
        (result.source if event.side == pb.SOURCE else result.target).append(timed)
    elif kind == "audio" and response.audio.pcm:
        result.speech.append(SpeechChunk(response.audio.pcm, offset, arrived_ms))
    elif kind == "speech" and response.speech.kind == pb.SpeechActivity.STARTED:
        result.speech_starts_ms.append(offset)
