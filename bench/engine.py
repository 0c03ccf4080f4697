"""Latency and cost of an engine on real speech: real-time factor, first-output latency, ending offset, RSS.

Starts a real worker (default: the lite engine), streams each utterance (espeak-ng
speech, 3-8 s, several languages) in real time as 20 ms gRPC chunks, and prints
the worker's own per-segment figures, their medians and the worker's peak RSS.
Usage: `.venv/bin/python -m bench.engine [--engine lite]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path


from harness.grpc_client import translate_in_real_time
from harness.servers import rss_mb, running, start_worker
from harness.speech import read_pcm, speak

from s2st.v1 import translation_pb2 as pb

UTTERANCES = [
    ("spa", "es", "Buenos días. Muchas gracias por su ayuda, amigo."),
    ("spa", "es", "Mañana por la tarde vamos a visitar el museo de la ciudad con mis padres."),
    ("fra", "fr", "Bonjour. Merci beaucoup pour votre aide."),
    ("fra", "fr", "Le train pour Paris part à huit heures demain matin, n'oubliez pas vos billets."),
    ("deu", "de", "Guten Morgen. Vielen Dank für Ihre Hilfe."),
    ("deu", "de", "Das Wetter ist heute sehr schön, deshalb gehen wir am Nachmittag im Park spazieren."),
]


async def stream_utterance(address: str, pcm: bytes, language: str) -> list[pb.SegmentStats]:
    """Send pcm at real-time pace, end input, and return the worker's segment figures."""
    config = pb.SessionConfig(target_language="eng", source_language=language)
    return [r.stats for r in await translate_in_real_time(address, config, pcm) if r.HasField("stats")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="lite")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    with running(start_worker(args.engine, {"S2ST_LOG_LEVEL": "WARNING"}, log_dir=workdir)) as worker:
        rows = []
        print(f"{'utterance':<58} {'dur s':>5} {'segs':>4} {'first out ms':>12} {'ending off ms':>13} "
              f"{'AL ms':>7} {'RTF':>5}")
        for language, voice, text in UTTERANCES:
            pcm, _ = read_pcm(speak(text, voice, workdir / f"{len(rows)}.wav", lead_silence_s=0.3,
                                    tail_silence_s=1.5))
            stats = asyncio.run(stream_utterance(worker.address, pcm, language))
            speech_s = sum((s.speech_end_ms - s.speech_start_ms) for s in stats) / 1000
            first = min((s.first_output_latency_ms for s in stats if s.HasField("first_output_latency_ms")),
                        default=float("nan"))
            ending = stats[-1].ending_offset_ms if stats and stats[-1].HasField("ending_offset_ms") else float("nan")
            lagging = statistics.fmean(s.average_lagging_ms for s in stats if s.HasField("average_lagging_ms")) \
                if any(s.HasField("average_lagging_ms") for s in stats) else float("nan")
            rtf = sum(s.real_time_factor * (s.speech_end_ms - s.speech_start_ms) for s in stats) / 1000 / speech_s \
                if speech_s else float("nan")
            rows.append((first, ending, rtf))
            label = f"[{language}] {text}"[:58]
            print(f"{label:<58} {len(pcm) / 32000:>5.1f} {len(stats):>4} {first:>12.0f} {ending:>13.0f} "
                  f"{lagging:>7.0f} {rtf:>5.2f}")
        print(f"{'median':<58} {'':>5} {'':>4} {statistics.median(r[0] for r in rows):>12.0f} "
              f"{statistics.median(r[1] for r in rows):>13.0f} {'':>7} {statistics.median(r[2] for r in rows):>5.2f}")
        print(f"worker peak RSS: {rss_mb(worker.process.pid, 'VmHWM'):.0f} MB")


if __name__ == "__main__":
    main()
