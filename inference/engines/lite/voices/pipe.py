"""The wire between the engine and a synthesis process: JSON lines in, framed float32 PCM out.

A request is one line `{"text": ..., "language": ...}`; every answer is a frame: a header
(status, byte count) then the bytes: float32 little-endian mono at ENGINE_SAMPLE_RATE, or a
UTF-8 error message. The process announces it loaded with an empty OK frame.
"""

from __future__ import annotations

import json
import struct
from typing import BinaryIO

import numpy as np

HEADER = struct.Struct("<BI")
OK, ERROR = 0, 1


def request_line(text: str, language: str) -> bytes:
    return (json.dumps({"text": text, "language": language}) + "\n").encode()


def parse_request(line: bytes) -> tuple[str, str]:
    request = json.loads(line)
    return str(request["text"]), str(request["language"])


def write_frame(out: BinaryIO, status: int, payload: bytes) -> None:
    out.write(HEADER.pack(status, len(payload)) + payload)
    out.flush()


def audio_frame(audio: np.ndarray) -> bytes:
    return audio.astype("<f4", copy=False).tobytes()


def frame_audio(payload: bytes) -> np.ndarray:
    return np.frombuffer(payload, dtype="<f4").astype(np.float32)
