"""ASR-BLEU's recogniser: Whisper transcribes the translated speech.

By default the Whisper base model the lite engine uses (inference/engines/lite/models.py finds it: PyPI's
packaged copy, or S2ST_LITE_WHISPER_DIR / S2ST_LITE_WHISPER_MODEL). Whisper base is weak and errs on
its own, which lowers ASR-BLEU; for figures to publish or compare with papers, point
S2ST_LITE_WHISPER_DIR at a stronger model (Whisper large, or the recogniser the paper you compare with names).
"""

from __future__ import annotations

import os

import numpy as np

from inference.engines.lite.models import whisper_model_source
from inference.engines.lite.settings import LiteSettings

WHISPER_SAMPLE_RATE = 16_000


class SpeechRecognizer:
    """Transcribes LINEAR16 speech in a known language; the model loads on first use."""

    def __init__(self, threads: int = 2) -> None:
        self._threads = threads
        self._model = None
        self.label = ""

    def transcribe(self, pcm: bytes, sample_rate_hz: int, whisper_language: str) -> str:
        if not pcm:
            return ""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
        if sample_rate_hz != WHISPER_SAMPLE_RATE:
            import soxr

            samples = soxr.resample(samples, sample_rate_hz, WHISPER_SAMPLE_RATE).astype(np.float32)
        segments, _ = self._whisper().transcribe(samples, language=whisper_language, beam_size=5,
                                                 vad_filter=False, condition_on_previous_text=False)
        return " ".join(segment.text.strip() for segment in segments).strip()

    def _whisper(self):
        if self._model is None:
            from faster_whisper import WhisperModel

            settings = LiteSettings.from_environ(os.environ)
            source, self.label = whisper_model_source(settings)
            self._model = WhisperModel(source, device="cpu", compute_type=settings.compute_type,
                                       cpu_threads=self._threads)
        return self._model
