"""A long-lived synthesis process, seen from the engine: start it, wait until its voice loaded, send it
a sentence and read the speech back, restart it when it crashes or hangs."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

import inference
from inference.engines.lite.voices.base import SynthesisFailed
from inference.engines.lite.voices.pipe import HEADER, OK, frame_audio, request_line

# The package root, so the process imports this very code (a checkout, not only an installed copy).
PACKAGE_ROOT = str(Path(inference.__file__).resolve().parent.parent)
STOP_GRACE_SECONDS = 2.0


class VoiceLoadFailed(RuntimeError):
    """The process could not load its voice (the message says why)."""


class SynthesisProcess:
    """`python -m MODULE ARGS...` serving one voice; one request at a time (the caller's lock)."""

    def __init__(self, module: str, args: list[str], load_timeout_s: float, synthesis_timeout_s: float,
                 environ: dict[str, str] | None = None) -> None:
        self.name = module.rsplit(".", 1)[-1]
        self._command = [sys.executable, "-m", module, *args]
        self._environ = {**os.environ, **(environ or {}),
                         "PYTHONPATH": os.pathsep.join(filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))}
        self._load_timeout_s = load_timeout_s
        self._synthesis_timeout_s = synthesis_timeout_s
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._closed = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._process = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         env=self._environ)
        self._ready = False

    def wait_ready(self) -> None:
        """Blocks until the voice loaded; VoiceLoadFailed (the process is stopped) when it did not."""
        try:
            status, payload = self._read_frame(time.monotonic() + self._load_timeout_s)
        except SynthesisFailed as exc:
            self._stop()
            raise VoiceLoadFailed(str(exc)) from exc
        if status != OK:
            self._stop()
            raise VoiceLoadFailed(payload.decode(errors="replace"))
        self._ready = True

    def synthesize(self, text: str, language: str) -> np.ndarray:
        """Blocking: float32 speech at the engine rate. SynthesisFailed when the process died or hung
        (it is restarted for the next request) or refused this text."""
        with self._lock:
            try:
                if not self._ready:
                    self.wait_ready()
                assert self._process is not None and self._process.stdin is not None
                self._process.stdin.write(request_line(text, language))
                self._process.stdin.flush()
                status, payload = self._read_frame(time.monotonic() + self._synthesis_timeout_s)
            except (OSError, SynthesisFailed, VoiceLoadFailed) as exc:
                self._restart()
                raise SynthesisFailed(f"the {self.name} synthesis process failed ({exc}); it was restarted") from exc
            if status != OK:
                raise SynthesisFailed(f"the {self.name} synthesis process refused the text: "
                                      f"{payload.decode(errors='replace')}")
            return frame_audio(payload)

    def close(self) -> None:
        self._closed = True
        process = self._process
        if process is not None:
            process.kill()  # a request in flight ends now, not at its timeout
        with self._lock:
            self._stop()

    def _restart(self) -> None:
        self._stop()
        if not self._closed:
            self.start()  # loads while the session goes on; the next request waits for it

    def _stop(self) -> None:
        process, self._process = self._process, None
        self._ready = False
        if process is None:
            return
        if process.stdin is not None:
            # A healthy process ends when its input does. A dead one's pipe refuses what is still buffered
            # (the request that found it dead): the close fails, yet closes the pipe all the same.
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _read_frame(self, deadline: float) -> tuple[int, bytes]:
        status, length = HEADER.unpack(self._read_exactly(HEADER.size, deadline))
        return status, self._read_exactly(length, deadline)

    def _read_exactly(self, count: int, deadline: float) -> bytes:
        if self._process is None or self._process.stdout is None:
            raise SynthesisFailed("not running")
        fd = self._process.stdout.fileno()
        chunks, missing = [], count
        while missing:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                self._process.kill()
                raise SynthesisFailed("no answer in time")
            chunk = os.read(fd, min(missing, 1 << 20))
            if not chunk:
                raise SynthesisFailed(f"it exited with status {self._process.wait()}")
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)
