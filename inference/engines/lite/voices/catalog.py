"""Which voice speaks each language, picked once at load: a Piper voice from S2ST_LITE_VOICES_DIR, else
the built-in neural voice (Piper joe for English, Kokoro where configured), else eSpeak NG."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from inference.engines.lite.settings import LiteSettings
from inference.engines.lite.voices.base import Voice
from inference.engines.lite.voices.espeak import EspeakVoice, espeak_voices
from inference.engines.lite.voices.kokoro import KOKORO_WORKER, kokoro_installed, kokoro_languages
from inference.engines.lite.voices.neural import NeuralVoice
from inference.engines.lite.voices.piper import PIPER_WORKER, PiperVoiceFile, joe_voice, voices_in
from inference.engines.lite.voices.process import SynthesisProcess, VoiceLoadFailed

log = logging.getLogger("inference.engines.lite.voices")


@dataclass(frozen=True)
class _Planned:
    """A synthesis process to start and the languages it will speak: (ISO 639-3, its own code)."""

    kind: str
    label: str
    process: SynthesisProcess
    languages: tuple[tuple[str, str], ...]


class VoiceCatalog:
    """The voice of each language that has speech; owns the synthesis processes."""

    def __init__(self, voices: dict[str, Voice], processes: list[SynthesisProcess] = (),
                 slots: ThreadPoolExecutor | None = None) -> None:
        self._voices = voices
        self._processes = list(processes)
        self._slots = slots

    def voice_for(self, language: str) -> Voice | None:
        """The voice of an ISO 639-3 language; None: no voice for it (text only)."""
        return self._voices.get(language)

    def languages(self) -> tuple[str, ...]:
        """ISO 639-3 codes that have speech."""
        return tuple(sorted(self._voices))

    def close(self) -> None:
        for process in self._processes:
            process.close()
        if self._slots is not None:
            self._slots.shutdown(wait=False, cancel_futures=True)


def load_voices(settings: LiteSettings) -> VoiceCatalog:
    """A voice for every language some installed synthesizer speaks; a neural voice that fails to load
    leaves its languages to eSpeak NG, with one warning and the reason on the voice."""
    voices: dict[str, Voice] = dict(espeak_voices(settings.speech_rate, settings.voice))
    planned = _plan(settings)
    for plan in planned:
        plan.process.start()  # they load side by side
    slots = ThreadPoolExecutor(settings.synthesis_slots, thread_name_prefix="lite-voice")
    running = []
    for plan in planned:
        try:
            plan.process.wait_ready()
        except VoiceLoadFailed as exc:
            reason = f"{plan.label} failed to load: {exc}"
            log.warning(f"{reason}; eSpeak NG speaks {', '.join(code for code, _ in plan.languages)} instead")
            for language, _ in plan.languages:
                espeak = voices.get(language)
                if isinstance(espeak, EspeakVoice):
                    voices[language] = espeak.standing_in(reason)
            continue
        running.append(plan.process)
        for language, own_code in plan.languages:
            voices[language] = NeuralVoice(language, plan.kind, plan.label, plan.process, own_code, slots)
    log.info("voices loaded", extra={"languages": len(voices),
                                     "neural": sorted(v.label for v in voices.values() if v.kind != "espeak")})
    return VoiceCatalog(voices, running, slots)


def _plan(settings: LiteSettings) -> list[_Planned]:
    def process(module: str, *args: str) -> SynthesisProcess:
        return SynthesisProcess(module, [*args, str(settings.voice_threads), str(settings.voice_niceness)],
                                settings.voice_load_timeout_seconds, settings.synthesis_timeout_seconds,
                                environ={"KOKORO_JA_CACHE": str(Path(settings.model_cache) / "kokoro")})

    piper_files: dict[str, PiperVoiceFile] = {}
    if settings.voices_dir:
        if not Path(settings.voices_dir).is_dir():
            raise ValueError(f"S2ST_LITE_VOICES_DIR: {settings.voices_dir} is not a directory")
        found, skipped = voices_in(Path(settings.voices_dir))
        for reason in skipped:
            log.warning(f"S2ST_LITE_VOICES_DIR: skipped {reason}")
        for voice in found:
            piper_files.setdefault(voice.language, voice)
    joe = joe_voice() if settings.piper_english else None
    if joe is not None:
        piper_files.setdefault(joe.language, joe)
    planned = [_Planned("piper", voice.label, process(PIPER_WORKER, str(voice.model), str(voice.config)),
                        ((language, ""),)) for language, voice in piper_files.items()]
    kokoro = {language: code for language, code in kokoro_languages(settings.kokoro_languages).items()
              if language not in piper_files}
    if kokoro and kokoro_installed():
        first = next(iter(kokoro.values()))
        label = f"Kokoro {settings.kokoro_style}"
        planned.append(_Planned("kokoro", label, process(KOKORO_WORKER, settings.kokoro_style, first),
                                tuple(kokoro.items())))
    return planned
