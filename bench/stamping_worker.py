"""A fake worker for fan-out benchmarks: its events carry the time they were emitted.

`StampingTranslator` stands in for the model. It accepts any config, then for every
100 ms of audio that arrives emits a target-side partial `transcript` whose text is
`time.time_ns()` at emission, and those 100 ms back as translated audio. A client
that receives the transcript subtracts the stamp from its own clock (same machine)
and gets the latency from the worker's event to its socket. When a stream ends the
worker prints how many stamps it emitted, so a benchmark can count lost events.
Run it with `python -m bench.stamping_worker` (port from S2ST_GRPC_PORT, read as the worker reads it), or start
it with `start_stamping_worker`.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from harness.servers import Worker, free_port, spawn_server, wait_until_ready, worker_serving

from gateway.worker.client import SERVICE_NAME
from inference.config import WorkerConfig

from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc

SAMPLE_RATE = 16_000
STAMP_MS = 100  # one stamped transcript and one audio chunk per 100 ms of input
STAMP_BYTES = SAMPLE_RATE * 2 * STAMP_MS // 1000
LANGUAGES = ("eng",)
STREAM_ENDED = re.compile(r"stream ended: (\d+) stamps")


class StampingTranslator(pb_grpc.TranslatorServicer):
    """Stands in for the model: a stamped transcript plus the input audio back, every STAMP_MS of input."""

    async def ListLanguages(self, request: pb.ListLanguagesRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListLanguagesResponse:
        listed = [pb.Language(code=code, name=code) for code in LANGUAGES]
        return pb.ListLanguagesResponse(engine="echo", source_languages=listed, target_languages=listed,
                                        speech_output_languages=listed, source_language_selectable=True)

    async def Translate(self, request_iterator: AsyncIterator[pb.TranslateRequest],
                        context: grpc.aio.ServicerContext) -> AsyncIterator[pb.TranslateResponse]:
        first = await anext(request_iterator)
        target = first.config.target_language
        yield pb.TranslateResponse(accepted=pb.SessionAccepted(
            session_id=f"stamp-{time.time_ns()}", engine="echo", model="stamping fake (no model)",
            output_sample_rate_hz=SAMPLE_RATE, target_language=target))
        pending, consumed_ms, stamps = b"", 0, 0
        async for request in request_iterator:
            if request.WhichOneof("request") == "control":
                if request.control.action == pb.Control.END_OF_INPUT:
                    break
                yield pb.TranslateResponse(input_offset_ms=consumed_ms, reset_done=pb.ResetDone())
                continue
            pending += request.audio.pcm
            while len(pending) >= STAMP_BYTES:
                chunk, pending = pending[:STAMP_BYTES], pending[STAMP_BYTES:]
                consumed_ms += STAMP_MS
                yield pb.TranslateResponse(input_offset_ms=consumed_ms, transcript=pb.TranscriptEvent(
                    side=pb.TARGET, segment_id=1, text=str(time.time_ns()), language=target))
                yield pb.TranslateResponse(input_offset_ms=consumed_ms, audio=pb.AudioOutput(
                    pcm=chunk, segment_id=1, sequence=stamps))
                stamps += 1
        print(f"stream ended: {stamps} stamps", flush=True)  # before `end`: in the log when the client hears it
        yield pb.TranslateResponse(input_offset_ms=consumed_ms, end=pb.EndOfStream())


def stamps_emitted(log: str) -> int:
    """Stamps of every stream that ended, from the worker's log."""
    return sum(int(count) for count in STREAM_ENDED.findall(log))


async def serve(port: int) -> None:
    """Serve StampingTranslator and health (SERVING) on loopback until cancelled."""
    server = grpc.aio.server()
    pb_grpc.add_TranslatorServicer_to_server(StampingTranslator(), server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    for service in ("", SERVICE_NAME):  # the gateway's channel watches the Translator's health
        await health.set(service, health_pb2.HealthCheckResponse.SERVING)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def start_stamping_worker(log_dir: Path | None = None) -> Worker:
    """Start `python -m bench.stamping_worker` on a free port and wait until it serves."""
    port = free_port()
    process, log_path = spawn_server("bench.stamping_worker", {"S2ST_GRPC_PORT": str(port)},
                                     log_dir or Path(tempfile.gettempdir()))
    worker = Worker(process, port, log_path, metrics_port=0)
    wait_until_ready(lambda: worker_serving(worker.address), worker, "stamping worker")
    return worker


if __name__ == "__main__":
    asyncio.run(serve(WorkerConfig.from_environ(os.environ).grpc_port))
