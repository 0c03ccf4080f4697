"""Translation quality and latency of a worker: BLEU, chrF, ASR-BLEU, source WER, AL, LAAL, ending offset.

Streams each utterance of a manifest (or of the built-in set, spoken by espeak-ng) through a worker's gRPC
Translate API at real-time pace (--speed for faster), scores what comes back as SimulEval and the
SeamlessStreaming paper do, prints a table and writes JSON. Definitions: docs/evaluation.md.
Usage:
  python -m bench.evaluate --start-worker lite --builtin --languages spa --per-language 5
  python -m bench.evaluate --address 10.0.0.5:50051 --manifest fleurs-es.tsv --out eval.json
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

from bench.evaluation.asr import SpeechRecognizer
from bench.evaluation.builtin import builtin_utterances
from bench.evaluation.client import read_recording, stream
from bench.evaluation.manifest import Utterance, read_manifest
from bench.evaluation.report import table, write_json
from bench.evaluation.scoring import UtteranceScore, score_corpus, score_utterance


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--address", help="a running worker's gRPC address, host:port")
    where.add_argument("--start-worker", metavar="ENGINE", help="start a worker of this engine on a free port")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--manifest", type=Path, help="TSV: audio, source language, reference[, transcript]")
    what.add_argument("--builtin", action="store_true", help="the built-in Spanish/French/German set")
    parser.add_argument("--languages", default="spa,fra,deu", help="built-in set: languages to take")
    parser.add_argument("--per-language", type=int, help="built-in set: first N sentences of each language")
    parser.add_argument("--target-language", default="eng")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="times real time to send audio (1: real time; 0: as fast as the worker takes it)")
    parser.add_argument("--out", type=Path, default=Path("bench-out/evaluation.json"))
    return parser.parse_args(argv)


def evaluate(address: str, utterances: list[Utterance], target_language: str, speed: float) -> list[UtteranceScore]:
    recognizer = SpeechRecognizer()
    scores = []
    for number, utterance in enumerate(utterances, start=1):
        print(f"[{number}/{len(utterances)}] {utterance.audio.name}", file=sys.stderr, flush=True)
        recording = read_recording(utterance.audio)
        result = asyncio.run(stream(address, recording, utterance.source_language, target_language, speed))
        scores.append(score_utterance(utterance, recording, result, target_language, recognizer))
    return scores


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="evaluate-"))
    if args.builtin:
        utterances = builtin_utterances(workdir, set(args.languages.split(",")), args.per_language)
    else:
        utterances = read_manifest(args.manifest)
    if args.start_worker:
        from tests.harness.servers import running, start_worker

        context = running(start_worker(args.start_worker, {"S2ST_LOG_LEVEL": "WARNING"}, log_dir=workdir))
    else:
        context = nullcontext()
    with context as worker:
        address = worker.address if worker else args.address
        scores = evaluate(address, utterances, args.target_language, args.speed)
    summary = score_corpus(scores)
    by_language = {language: score_corpus([s for s in scores if s.source_language == language])
                   for language in sorted({s.source_language for s in scores})}
    print(table(scores, summary, by_language))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, scores, summary, by_language, {
        "date": datetime.date.today().isoformat(), "address": args.address, "engine": args.start_worker,
        "set": "builtin" if args.builtin else str(args.manifest), "speed": args.speed,
        "target_language": args.target_language,
    })
    print(f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
