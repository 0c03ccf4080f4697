"""Latency of a running worker at 1, 4 and 16 concurrent sessions, over its gRPC API.

For a person with an NVIDIA GPU: start the seamless image, then run this from a
checkout (`pip install -e .` gives the stubs; nothing here needs torch):

    docker run --gpus all --rm -p 127.0.0.1:50051:50051 s2st/inference
    python bench/gpu_check.py speech.wav --worker 127.0.0.1:50051 --target spa

Each session streams the file in real time as 20 ms chunks, then ends its
input. Printed per level: first translated audio after the first chunk (client
clock), the worker's own per-segment figures (first-output latency, ending
offset, average lagging, real-time factor; SegmentStats), and the translation
the first session heard. Any engine works (`echo`, `lite` too), which makes
the same script a check of a fresh deployment.

Serial against batched on this machine's GPU, in process (no worker; needs the
seamless stack, as in the image, and its weights):

    python -m bench.gpu_check speech.wav --streams 1 4 16 32 --target spa

builds the seamless engine twice from the S2ST_SEAMLESS_* environment (defaults:
the real models, cuda, fp16), with batching off and on, feeds N streams of the WAV
at once and prints bench/seamless_batching.py's table: compute per stream-second,
serial against batched, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc

CHUNK_MS = 20


@dataclass
class SessionResult:
    first_audio_s: float | None = None
    text: str = ""
    stats: list[pb.SegmentStats] = field(default_factory=list)


def read_wav(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path)) as reader:
        if reader.getnchannels() != 1 or reader.getsampwidth() != 2:
            raise SystemExit("the WAV must be 16-bit mono")
        return reader.readframes(reader.getnframes()), reader.getframerate()


async def requests(pcm: bytes, rate: int, target: str, started: float):
    yield pb.TranslateRequest(config=pb.SessionConfig(target_language=target, sample_rate_hz=rate,
                                                      client_label="gpu_check"))
    step = rate * 2 * CHUNK_MS // 1000
    for index, offset in enumerate(range(0, len(pcm), step)):
        await asyncio.sleep(max(0.0, started + index * CHUNK_MS / 1000 - time.perf_counter()))
        yield pb.TranslateRequest(audio=pb.AudioChunk(pcm=pcm[offset : offset + step]))
    yield pb.TranslateRequest(control=pb.Control(action=pb.Control.END_OF_INPUT))


async def one_session(stub: pb_grpc.TranslatorStub, pcm: bytes, rate: int, target: str) -> SessionResult:
    result = SessionResult()
    started = time.perf_counter()
    async for response in stub.Translate(requests(pcm, rate, target, started)):
        event = response.WhichOneof("event")
        if event == "audio" and response.audio.pcm and result.first_audio_s is None:
            result.first_audio_s = time.perf_counter() - started
        elif event == "transcript" and response.transcript.side == pb.TARGET and response.transcript.is_final:
            result.text = f"{result.text} {response.transcript.text}".strip()
        elif event == "stats":
            result.stats.append(response.stats)
    return result


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "-"


async def run_level(worker: str, pcm: bytes, rate: int, target: str, sessions: int) -> list[SessionResult]:
    async with grpc.aio.insecure_channel(worker) as channel:
        stub = pb_grpc.TranslatorStub(channel)
        return await asyncio.gather(*(one_session(stub, pcm, rate, target) for _ in range(sessions)))


def report(level: int, results: list[SessionResult]) -> str:
    stats = [s for r in results for s in r.stats]
    first = [r.first_audio_s for r in results if r.first_audio_s is not None]
    worker_first = [s.first_output_latency_ms / 1000 for s in stats if s.HasField("first_output_latency_ms")]
    ending = [s.ending_offset_ms / 1000 for s in stats if s.HasField("ending_offset_ms")]
    lagging = [s.average_lagging_ms / 1000 for s in stats if s.HasField("average_lagging_ms")]
    rtf = [s.real_time_factor for s in stats]
    return (f"{level:>8} {median(first):>14} {median(worker_first):>14} {median(ending):>13} "
            f"{median(lagging):>8} {median(rtf):>6} {len(stats):>8}")


def compare_in_process(pcm: bytes, rate: int, target: str, counts: list[int]) -> None:
    """bench/seamless_batching.py's table on this machine, the engine's settings from the environment."""
    import os

    import numpy as np

    from bench.seamless_batching import compare
    from inference.audio import InputConverter
    from inference.engines.seamless.settings import SeamlessSettings

    converter = InputConverter(rate)
    samples = np.concatenate([converter.convert(pcm), converter.finish()])
    settings = SeamlessSettings.from_environ(os.environ)
    print(f"in process: {settings.device}, {settings.dtype}; input {len(samples) / 16_000:.1f} s; per stream-second")
    compare(settings, [samples], counts, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wav", type=Path, help="16-bit mono speech, any rate")
    parser.add_argument("--worker", default="127.0.0.1:50051", help="worker gRPC address (default %(default)s)")
    parser.add_argument("--target", default="spa", help="target language (ISO 639-3), default spa")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--streams", type=int, nargs="+",
                        help="instead of a worker: serial against batched in process at these stream counts")
    args = parser.parse_args()
    pcm, rate = read_wav(args.wav)
    if args.streams:
        compare_in_process(pcm, rate, args.target, args.streams)
        return
    print(f"worker {args.worker}; input {len(pcm) / 2 / rate:.1f} s; medians in seconds")
    print(f"{'sessions':>8} {'client 1st out':>14} {'worker 1st out':>14} {'ending offset':>13} "
          f"{'AL':>8} {'RTF':>6} {'segments':>8}")
    for level in args.levels:
        results = asyncio.run(run_level(args.worker, pcm, rate, args.target, level))
        print(report(level, results))
        if level == args.levels[0]:
            print(f"         translation: {results[0].text or '(none)'}")


if __name__ == "__main__":
    main()
