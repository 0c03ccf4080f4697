"""Streaming voice activity detection with Silero VAD (the ONNX model faster-whisper ships), on onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime

from inference.audio import SILERO_WINDOW_SAMPLES as WINDOW_SAMPLES

CONTEXT_SAMPLES = 64  # the model sees the end of the previous frame too
STATE_SHAPE = (1, 1, 128)


def silero_model_path() -> Path:
    import faster_whisper

    return Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx"


def load_vad_model(path: Path | None = None) -> onnxruntime.InferenceSession:
    """One ONNX session, shared by every stream (each keeps its own recurrent state)."""
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(str(path or silero_model_path()), sess_options=options,
                                        providers=["CPUExecutionProvider"])


class StreamingVad:
    """Speech probability of each 32 ms frame of a stream, fed whole frames (the session's WindowBuffer)."""

    def __init__(self, model: onnxruntime.InferenceSession) -> None:
        self._model = model
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    def probabilities(self, frames_audio: np.ndarray) -> np.ndarray:
        """The probability of each frame of audio made of whole frames."""
        frames = len(frames_audio) // WINDOW_SAMPLES
        if frames * WINDOW_SAMPLES != len(frames_audio):
            raise ValueError(f"the VAD takes whole {WINDOW_SAMPLES}-sample frames")
        if frames == 0:
            return np.zeros(0, dtype=np.float32)
        windows = frames_audio.astype(np.float32, copy=False).reshape(frames, WINDOW_SAMPLES)
        contexts = np.concatenate([self._context[None], windows[:-1, -CONTEXT_SAMPLES:]])
        self._context = windows[-1, -CONTEXT_SAMPLES:].copy()
        batch = np.ascontiguousarray(np.concatenate([contexts, windows], axis=1))
        output, self._h, self._c = self._model.run(None, {"input": batch, "h": self._h, "c": self._c})
        return output.reshape(-1)
