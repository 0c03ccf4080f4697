"""Fixtures of the suite on the real SeamlessStreaming pipeline (`make test-seamless`, its own venv).

Everything upstream is real (seamless_communication at 90e2b57, simuleval 1.1.4,
fairseq2 0.2.1, torch 2.2.2, Silero VAD from its package); only the weights are
TINY AND RANDOM (harness/tiny_models.py), so outputs are noise and
these tests check behaviour, never translation quality.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from inference.engines.seamless import SeamlessEngine
from inference.engines.seamless.settings import SeamlessSettings
from harness.servers import Worker, running, start_worker
from harness.speech import speak
from harness.tiny_models import TinyModels, make_tiny_models


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return make_tiny_models(tmp_path_factory.mktemp("tiny-seamless"))


@pytest.fixture(scope="session")
def tiny_engine(tiny_models: TinyModels) -> Iterator[SeamlessEngine]:
    """The production engine class, loaded in this process over the tiny models."""
    engine = SeamlessEngine(SeamlessSettings.from_environ(tiny_models.worker_environ()))
    engine.load()
    yield engine


@pytest.fixture(scope="session")
def seamless_worker(tiny_models: TinyModels, server_logs: Path) -> Iterator[Worker]:
    """`python -m inference` with S2ST_ENGINE=seamless on the tiny models: the worker as deployed, on the CPU."""
    with running(start_worker("seamless", env=tiny_models.worker_environ(), log_dir=server_logs)) as worker:
        yield worker


def _speech(path: Path, text: str, voice: str) -> np.ndarray:
    import wave

    with wave.open(str(speak(text, voice, path))) as reader:
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").astype(np.float32) / 32768


@pytest.fixture(scope="session")
def spanish(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """About 4 s of espeak-ng Spanish at 16 kHz, framed by 0.5 s and 1 s of silence (the VAD needs speech)."""
    return _speech(tmp_path_factory.mktemp("speech") / "spa.wav", "Buenos días. Muchas gracias por su ayuda, amigo.",
                   "es")


@pytest.fixture(scope="session")
def french(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    return _speech(tmp_path_factory.mktemp("speech") / "fra.wav", "Bonjour. Merci beaucoup pour votre aide.", "fr")
