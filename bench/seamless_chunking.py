"""Cost of the push size on the real SeamlessStreaming pipeline (tiny random weights, CPU), per second of speech.

    .venv-seamless/bin/python bench/seamless_chunking.py      # after `make test-seamless`

Feeds the same espeak-ng utterances through upstream's joint-VAD S2ST agent
(built by the engine, over harness/tiny_models.py) twice: in 512-sample
pushes (one Silero window each: what the adapter did before) and in whole
5120-sample chunks (320 ms: what upstream's streaming evaluation pushes, and
the adapter now). Prints pushpop calls, encoder runs, encoder feature frames
and CPU seconds per second of input, and the ratio of the two. Counts hold for
any model size; CPU time is the tiny model's (on a GPU the encoder dominates).
"""

from __future__ import annotations

import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from harness.speech import speak
from harness.tiny_models import make_tiny_models

from inference.engines.seamless import SeamlessEngine
from inference.engines.seamless.settings import SAMPLE_RATE, SeamlessSettings

UTTERANCES = [("es", "Buenos días. Muchas gracias por su ayuda, amigo."),
              ("fr", "Le train pour Paris part à huit heures demain matin."),
              ("de", "Das Wetter ist heute sehr schön, deshalb gehen wir spazieren.")]


def utterance(voice: str, text: str, directory: Path) -> np.ndarray:
    with wave.open(str(speak(text, voice, directory / f"{voice}.wav"))) as reader:
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").astype(np.float32) / 32768


def measure(engine: SeamlessEngine, audio: np.ndarray, push: int) -> dict[str, float]:
    from simuleval.data.segments import SpeechSegment

    agent = engine._agents.speech
    encoder = next(m for m in agent.module_dict if type(m).__name__ == "OfflineWav2VecBertEncoderAgent")
    counts = {"pushpop": 0, "encoder runs": 0, "encoder frames": 0}

    def count(_module, inputs) -> None:
        counts["encoder runs"] += 1
        counts["encoder frames"] += int(inputs[0].shape[1])

    hook = encoder.model.speech_encoder_frontend.register_forward_pre_hook(count)
    states = agent.build_states()
    started = time.process_time()
    import torch

    with torch.inference_mode():
        for start in range(0, len(audio), push):
            agent.pushpop(SpeechSegment(content=audio[start : start + push], sample_rate=SAMPLE_RATE,
                                        finished=False, tgt_lang="eng", config={"expressive": False}), states)
            counts["pushpop"] += 1
    hook.remove()
    seconds = len(audio) / SAMPLE_RATE
    return {**{name: value / seconds for name, value in counts.items()},
            "CPU s": (time.process_time() - started) / seconds}


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        tiny = make_tiny_models(directory / "tiny")
        engine = SeamlessEngine(SeamlessSettings.from_environ(tiny.worker_environ()))
        engine.load()
        audio = np.concatenate([utterance(voice, text, directory) for voice, text in UTTERANCES])
        measure(engine, audio[: SAMPLE_RATE * 2], 5120)  # warm-up
        before, after = measure(engine, audio, 512), measure(engine, audio, 5120)
    print(f"{len(audio) / SAMPLE_RATE:.1f} s of espeak-ng speech (es, fr, de); figures per second of input")
    print(f"{'':16} {'512-sample pushes':>18} {'320 ms chunks':>14} {'ratio':>6}")
    for name in before:
        print(f"{name:16} {before[name]:>18.2f} {after[name]:>14.2f} {before[name] / after[name]:>6.1f}")


if __name__ == "__main__":
    main()
