"""Serial against batched: compute per stream-second of speech at N live streams (real pipeline, tiny weights, CPU).

    .venv-seamless/bin/python -m bench.seamless_batching [--streams 1 4 16 32]   # after `make test-seamless`

Builds the seamless engine twice over harness/tiny_models.py, with
``S2ST_SEAMLESS_BATCHING`` off (upstream's pushpop, one stream at a time) and on
(every stream with a step in hand stepped together: the encoder, the text decoder's
token steps, the T2U and the vocoder batched), and feeds N streams of espeak-ng speech at
once, each in whole 320 ms chunks as fast as the engine takes them (a saturated
worker: its capacity, not a real-time load). Prints, side by side, wall and CPU
seconds per stream-second of speech, the w2v-BERT encoder's time and runs per
stream-second and its mean batch size, the text decoder's mean token-step batch
(rows of its vocabulary projection on one-token steps; the prefills run one stream
each), the T2U's and the vocoder's mean batch (streams with as many new units in a
round share a vocoder call), the 95th percentile of the time a 320 ms push takes to come back (saturated:
every stream waits for the others' work), and the serial-to-batched ratio; each the
best of two runs. On the tiny model on a CPU every part is small and compute bound,
and the VAD and the agents' Python still run per stream: the ratio here is a floor,
not the GPU figure (docs/capacity.md models the real sizes; ``bench/gpu_check.py
--streams`` prints this table on a GPU with the real models).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from inference.engines.base import SessionSettings
from inference.engines.seamless import SeamlessEngine, batched
from inference.engines.seamless.settings import SAMPLE_RATE, SeamlessSettings

CHUNK = 5120
unwrapped_encode_each = batched.encode_each


def stream_audio(voices: list[np.ndarray], index: int) -> np.ndarray:
    """Each stream its own utterance and phase: a different lead-in, then a second of silence that ends it."""
    lead_in = np.zeros(SAMPLE_RATE * 80 * (index % 4) // 1000, dtype=np.float32)
    return np.concatenate([lead_in, voices[index % len(voices)], np.zeros(SAMPLE_RATE, dtype=np.float32)])


async def run_streams(engine: SeamlessEngine, audios: list[np.ndarray], target: str) -> list[float]:
    """Feed every stream at once; the seconds each 320 ms push took to come back."""
    waits: list[float] = []

    async def one(audio: np.ndarray) -> None:
        session = engine.open_session(SessionSettings(target_language=target))
        for start in range(0, len(audio), CHUNK):
            started = time.perf_counter()
            await session.push(audio[start : start + CHUNK])
            waits.append(time.perf_counter() - started)
        await session.flush()

    await asyncio.gather(*(one(audio) for audio in audios))
    return waits


class Timed:
    """Wall seconds spent in the outermost of the wrapped calls (the serial encode, or the batched one)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = 0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            self._depth += 1
            started = time.perf_counter()
            try:
                return function(*args)
            finally:
                self._depth -= 1
                if not self._depth:
                    self.seconds += time.perf_counter() - started

        return timed


def measure(engine: SeamlessEngine, audios: list[np.ndarray], target: str) -> dict[str, float]:
    modules = {type(module).__name__: module for module in engine._agents.speech.module_dict}
    encoder = modules["OfflineWav2VecBertEncoderAgent"]
    rows: list[int] = []
    token_rows: list[int] = []
    vocoder_rows: list[int] = []
    unit_rows: list[int] = []
    hooks = [encoder.model.speech_encoder_frontend.register_forward_pre_hook(
                 lambda _module, inputs: rows.append(int(inputs[0].shape[0]))),
             modules["UnitYMMATextDecoderAgent"].model.final_proj.register_forward_pre_hook(
                 lambda _module, inputs: token_rows.extend([int(inputs[0].shape[0])] * (inputs[0].shape[1] == 1))),
             modules["VocoderAgent"].vocoder.code_generator.dict.register_forward_pre_hook(
                 lambda _module, inputs: vocoder_rows.append(int(inputs[0].shape[0]))),
             modules["NARUnitYUnitDecoderAgent"].model.register_forward_pre_hook(
                 lambda _module, _inputs, kwargs: unit_rows.append(int(kwargs["text_decoder_output"].shape[0])),
                 with_kwargs=True)]
    encoding = Timed()
    encoder.model.encode_speech = encoding.wrap(encoder.model.encode_speech)
    batched.encode_each = encoding.wrap(unwrapped_encode_each)
    wall, cpu = time.perf_counter(), time.process_time()
    waits = asyncio.run(run_streams(engine, audios, target))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for hook in hooks:
        hook.remove()
    del encoder.model.encode_speech
    batched.encode_each = unwrapped_encode_each
    stream_seconds = sum(len(audio) for audio in audios) / SAMPLE_RATE
    return {"wall": wall / stream_seconds, "cpu": cpu / stream_seconds, "runs": len(rows) / stream_seconds,
            "rows": float(np.mean(rows)) if rows else 0.0, "encoder": encoding.seconds / stream_seconds,
            "tokens": float(np.mean(token_rows)) if token_rows else 0.0,
            "vocoder": float(np.mean(vocoder_rows)) if vocoder_rows else 0.0,
            "units": float(np.mean(unit_rows)) if unit_rows else 0.0,
            "p95": float(np.percentile(waits, 95)) * 1000}


def best_of(engine: SeamlessEngine, audios: list[np.ndarray], target: str, runs: int = 2) -> dict[str, float]:
    """The run with the least wall time: the machine is shared, and others' load only ever adds."""
    return min((measure(engine, audios, target) for _ in range(runs)), key=lambda figures: figures["wall"])


def compare(settings: SeamlessSettings, voices: list[np.ndarray], counts: list[int], target: str = "eng") -> None:
    """Print the serial-against-batched table for each stream count, both engines built from ``settings``."""
    engines = {}
    for batching in (False, True):
        engines[batching] = SeamlessEngine(dataclasses.replace(settings, batching=batching))
        engines[batching].load()
    for engine in engines.values():  # first-call costs out of the figures
        measure(engine, [stream_audio(voices, index) for index in range(2)], target)
    print("| streams | serial wall s / stream-s | batched wall s / stream-s | serial / batched | "
          "serial CPU s / stream-s | batched CPU s / stream-s | encoder wall s / stream-s serial, batched "
          "(ratio) | encoder runs / stream-s serial, batched | mean encoder batch | mean token-step batch | "
          "mean T2U batch | mean vocoder batch | push p95 ms serial, batched |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for count in counts:
        audios = [stream_audio(voices, index) for index in range(count)]
        serial, together = best_of(engines[False], audios, target), best_of(engines[True], audios, target)
        print(f"| {count} | {serial['wall']:.3f} | {together['wall']:.3f} | {serial['wall'] / together['wall']:.2f} "
              f"| {serial['cpu']:.3f} | {together['cpu']:.3f} "
              f"| {serial['encoder']:.4f}, {together['encoder']:.4f} ({serial['encoder'] / together['encoder']:.1f}) "
              f"| {serial['runs']:.1f}, {together['runs']:.1f} | {together['rows']:.1f} | {together['tokens']:.1f} "
              f"| {together['units']:.1f} | {together['vocoder']:.2f} "
              f"| {serial['p95']:.0f}, {together['p95']:.0f} |", flush=True)


def main() -> None:
    from bench.seamless_chunking import UTTERANCES, utterance
    from harness.tiny_models import make_tiny_models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 4, 16, 32])
    counts = parser.parse_args().streams
    with tempfile.TemporaryDirectory() as directory:
        models = make_tiny_models(Path(directory) / "models")
        voices = [utterance(voice, text, Path(directory)) for voice, text in UTTERANCES]
        compare(SeamlessSettings.from_environ(models.worker_environ()), voices, counts)


if __name__ == "__main__":
    main()
