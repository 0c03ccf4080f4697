"""A Piper voice (piper-tts, GPL-3.0+) in a synthesis process of its own.

`python -m inference.engines.lite.voices.piper_worker MODEL.onnx MODEL.onnx.json THREADS NICENESS`
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from inference.engines.lite.voices.worker import Synthesize, onnx_session, serve

WARM_UP_TEXT = "Ready."  # the first synthesis pays for allocations: pay it before the first listener


def load(model: str, config: str, threads: int) -> Synthesize:
    from piper import PiperVoice
    from piper.config import PiperConfig

    voice = PiperVoice(config=PiperConfig.from_dict(json.loads(Path(config).read_text(encoding="utf-8"))),
                       session=onnx_session(model, threads))

    def synthesize(text: str, language: str) -> tuple[np.ndarray, int]:
        chunks = [chunk.audio_float_array for chunk in voice.synthesize(text)]  # one chunk per sentence
        return np.concatenate(chunks) if chunks else np.zeros(0, np.float32), voice.config.sample_rate

    synthesize(WARM_UP_TEXT, "")
    return synthesize


if __name__ == "__main__":
    model_path, config_path, thread_count, niceness = sys.argv[1:5]
    serve(lambda: load(model_path, config_path, int(thread_count)), int(niceness))
