"""The loop of a synthesis process (`python -m inference.engines.lite.voices.piper_worker` and the like).

It runs in a process of its own because the synthesizers it drives (Piper, phonemizer) are GPL:
the engine talks to it over a pipe only (see README, Licenses). It loads the voice, says so, then
answers one request at a time until its input closes.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

import numpy as np

from inference.engines.lite.voices.audio import at_engine_rate, without_silent_tail
from inference.engines.lite.voices.pipe import ERROR, OK, audio_frame, parse_request, write_frame

# (text, language) -> (float32 mono audio, its sample rate)
Synthesize = Callable[[str, str], tuple[np.ndarray, int]]


def serve(load: Callable[[], Synthesize], niceness: int) -> None:
    # A synthesis yields the CPU to the engine's recogniser: another session's recognition must not wait
    # for this one's speech (bench/voices.py measures it).
    os.nice(niceness)
    # Frames go to the original stdout; anything a library prints (to fd 1 as well) goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        synthesize = load()
    except Exception as exc:  # the reason goes back to the engine, which falls back to eSpeak NG
        write_frame(out, ERROR, f"{type(exc).__name__}: {exc}".encode())
        sys.exit(1)
    write_frame(out, OK, b"")
    for line in sys.stdin.buffer:
        try:
            text, language = parse_request(line)
            audio, rate = synthesize(text, language)
            write_frame(out, OK, audio_frame(without_silent_tail(at_engine_rate(np.asarray(audio), rate))))
        except Exception as exc:  # one bad sentence is that request's error, not the process's end
            traceback.print_exc()
            write_frame(out, ERROR, f"{type(exc).__name__}: {exc}".encode())


def onnx_session(model_path: str, threads: int):
    """An ONNX Runtime session on `threads` CPU threads: a synthesis takes its share of the cores, no more,
    so the recogniser of other sessions keeps the rest."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model_path, sess_options=options, providers=["CPUExecutionProvider"])
