"""Translation quality and latency of a worker per language pair: BLEU, chrF, ASR-BLEU, source WER, AL, LAAL,
ending offset.

Streams each utterance of a manifest (or of the built-in set, spoken by eSpeak NG or the lite engine's neural
voices, optionally with a pause mid-sentence and noise mixed in) through a worker's gRPC Translate API at
real-time pace (--speed for faster), scores what comes back as SimulEval and the SeamlessStreaming paper do,
prints a table per pair and writes JSON. Definitions: docs/evaluation.md.
Usage:
  python -m bench.evaluate --start-worker lite --builtin --pairs spa-eng,eng-spa --per-pair 5
  python -m bench.evaluate --start-worker lite --builtin --speech neural --noise babble --snr-db 15
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
from bench.evaluation.builtin import builtin_pairs, builtin_utterances
from bench.evaluation.client import read_recording, stream
from bench.evaluation.manifest import Utterance, read_manifest
from bench.evaluation.noise import NOISE_KINDS, noisy_utterances
from bench.evaluation.report import table, write_json
from bench.evaluation.scoring import UtteranceScore, score_corpus, score_pairs, score_utterance
from bench.evaluation.speakers import SPEAKERS, make_speaker


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--address", help="a running worker's gRPC address, host:port")
    where.add_argument("--start-worker", metavar="ENGINE", help="start a worker of this engine on a free port")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--manifest", type=Path, help="TSV: audio, source language, reference[, transcript]")
    what.add_argument("--builtin", action="store_true", help="the built-in set (builtin.tsv)")
    parser.add_argument("--pairs", default=",".join(builtin_pairs()),
                        help="built-in set: language pairs to take, source-target (default: all: %(default)s)")
    parser.add_argument("--per-pair", type=int, help="built-in set: first N sentences of each pair")
    parser.add_argument("--speech", choices=SPEAKERS, default="espeak",
                        help="built-in set: who speaks it (neural: the lite engine's voices, eSpeak NG where none)")
    parser.add_argument("--pause-ms", type=int, default=0, help="built-in set: silence in the middle of each sentence")
    parser.add_argument("--target-language", default="eng", help="manifest: the language to translate into")
    parser.add_argument("--snr-db", type=float, help="mix noise into every utterance at this signal-to-noise ratio")
    parser.add_argument("--noise", choices=NOISE_KINDS, default="babble", help="the noise --snr-db mixes in")
    parser.add_argument("--seed", type=int, default=27, help="noise seed (utterance i gets seed + i)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="times real time to send audio (1: real time; 0: as fast as the worker takes it)")
    parser.add_argument("--out", type=Path, default=Path("bench-out/evaluation.json"))
    args = parser.parse_args(argv)
    unknown = set(args.pairs.split(",")) - set(builtin_pairs())
    if args.builtin and unknown:
        parser.error(f"--pairs: the built-in set has no {', '.join(sorted(unknown))}; "
                     f"it has {', '.join(builtin_pairs())}")
    return args


def evaluate(address: str, utterances: list[Utterance], speed: float) -> list[UtteranceScore]:
    recognizer = SpeechRecognizer()
    scores = []
    for number, utterance in enumerate(utterances, start=1):
        print(f"[{number}/{len(utterances)}] {utterance.audio.name}", file=sys.stderr, flush=True)
        recording = read_recording(utterance.audio)
        result = asyncio.run(stream(address, recording, utterance.source_language, utterance.target_language, speed))
        scores.append(score_utterance(utterance, recording, result, recognizer))
    return scores


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="evaluate-"))
    voices: dict[str, str] = {}
    if args.builtin:
        pairs = set(args.pairs.split(","))
        speaker = make_speaker(args.speech, {pair.split("-")[0] for pair in pairs})
        try:
            utterances = builtin_utterances(workdir, speaker, pairs, args.per_pair, args.pause_ms)
            voices = {u.source_language: speaker.label(u.source_language) for u in utterances}
        finally:
            speaker.close()
    else:
        utterances = read_manifest(args.manifest, args.target_language)
    if args.snr_db is not None:
        utterances = noisy_utterances(utterances, args.noise, args.snr_db, args.seed, workdir)
    if args.start_worker:
        from harness.servers import running, start_worker

        context = running(start_worker(args.start_worker, {"S2ST_LOG_LEVEL": "WARNING"}, log_dir=workdir))
    else:
        context = nullcontext()
    with context as worker:
        address = worker.address if worker else args.address
        scores = evaluate(address, utterances, args.speed)
    summary, by_pair = score_corpus(scores), score_pairs(scores)
    print(table(scores, summary, by_pair))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, scores, summary, by_pair, {
        "date": datetime.date.today().isoformat(), "address": args.address, "engine": args.start_worker,
        "set": "builtin" if args.builtin else str(args.manifest), "speed": args.speed,
        "speech": args.speech if args.builtin else "recorded", "voices": voices,
        "pause_ms": args.pause_ms if args.builtin else 0,
        "noise": None if args.snr_db is None else {"kind": args.noise, "snr_db": args.snr_db, "seed": args.seed},
    })
    print(f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
