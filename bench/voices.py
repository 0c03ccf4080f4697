"""The voices' round trip and cost: each voice speaks bench/voices.tsv, Whisper base (the lite engine's
recogniser) transcribes it back; WER and BLEU against the text say how much a listener can follow,
the real-time factor what it costs. Then: does a long synthesis delay another session's recognition?

Real-time factor is CPU time of the synthesis (its process and children) over the audio length: on a
shared machine wall time measures the neighbours, CPU time what the voice needs of a free core.
Usage: `.venv/bin/python -m bench.voices [--languages eng,spa] [--kinds espeak,piper,kokoro]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.evaluation.metrics import corpus_bleu, normalize, word_error_rate
from inference.engines.base import ENGINE_SAMPLE_RATE
from inference.engines.lite.languages import iso3_to_whisper
from inference.engines.lite.models import whisper_model_source
from inference.engines.lite.recognizer import Recognizer
from inference.engines.lite.settings import LiteSettings
from inference.engines.lite.voices import Voice, VoiceCatalog, load_voices
from inference.engines.lite.voices.espeak import espeak_voices
from inference.engines.serial import InferenceThread

SENTENCES_TSV = Path(__file__).with_name("voices.tsv")
KOKORO_CANDIDATES = "spa,por,ita,fra"
LONG_TEXT_REPEATS = 8  # the contention check's synthesis: about 25 s of speech
CONTENTION_ROUNDS = 5


def sentences() -> dict[str, list[str]]:
    by_language: dict[str, list[str]] = {}
    for line in SENTENCES_TSV.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            language, sentence = line.split("\t")
            by_language.setdefault(language, []).append(sentence)
    return by_language


def cpu_seconds() -> float:
    """CPU time of this process's children: live synthesis processes and finished espeak-ng runs."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = os.times().children_user + os.times().children_system
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid():
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


async def round_trip(voice: Voice, texts: list[str], recognizer: Recognizer, whisper_language: str) -> dict:
    heard, audio_s, cpu_s = [], 0.0, 0.0
    for text in texts:
        before = cpu_seconds()
        audio = await voice.speak(text)
        cpu_s += cpu_seconds() - before
        audio_s += len(audio) / ENGINE_SAMPLE_RATE
        heard.append(recognizer.recognize(audio, whisper_language, translate=False).transcript)
    said = [normalize(text) for text in texts]
    return {"wer": word_error_rate([normalize(h) for h in heard], said),
            "bleu": corpus_bleu([normalize(h) for h in heard], said), "rtf": cpu_s / audio_s}


async def contention(voice: Voice, recognizer: Recognizer, text: str) -> tuple[list[float], list[float]]:
    """Recognition latency of a 4 s clip on the engine's inference thread, alone and while `voice`
    speaks a long text (another session's synthesis), alternately."""
    clip = await espeak_voices(200)["spa"].speak("Buenos días, muchas gracias por tu ayuda, amigo mío.")
    thread = InferenceThread("bench-whisper")

    async def recognized() -> float:
        start = time.perf_counter()
        await thread.run(recognizer.recognize, clip, "es", True)
        return time.perf_counter() - start

    alone, during = [], []
    for _ in range(CONTENTION_ROUNDS):
        alone.append(await recognized())
        synthesis = asyncio.ensure_future(voice.speak(" ".join([text] * LONG_TEXT_REPEATS)))
        await asyncio.sleep(0.5)  # the synthesis is under way
        during.append(await recognized())
        await synthesis
    thread.close()
    return alone, during


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--languages", default="eng,spa,por,ita,fra,deu")
    parser.add_argument("--kinds", default="espeak,piper,kokoro")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of each synthesis process")
    args = parser.parse_args()
    settings = replace(LiteSettings.from_environ(os.environ), voice_threads=args.threads,
                       kokoro_languages=KOKORO_CANDIDATES if "kokoro" in args.kinds else "")
    source, label = whisper_model_source(settings)
    recognizer = Recognizer(source, settings.compute_type, settings.threads)
    to_whisper = iso3_to_whisper(recognizer.languages)
    espeak = VoiceCatalog(dict(espeak_voices(settings.speech_rate)))
    neural = load_voices(settings)
    by_language = sentences()
    print(f"recogniser: {label}; synthesis processes on {args.threads} thread(s); load {os.getloadavg()[0]:.1f}")
    print("| language | voice | round-trip WER % | round-trip BLEU | real-time factor (CPU) |")
    print("|---|---|---|---|---|")
    for language in args.languages.split(","):
        candidates = [espeak.voice_for(language), neural.voice_for(language)]
        for voice in candidates:
            if voice is None or voice.kind not in args.kinds or (voice.kind == "espeak" and voice is not candidates[0]):
                continue
            figures = await round_trip(voice, by_language[language], recognizer, to_whisper[language])
            print(f"| {language} | {voice.label} | {figures['wer']:.1f} | {figures['bleu']:.1f} "
                  f"| {figures['rtf']:.2f} |", flush=True)
    english = neural.voice_for("eng")
    if english is not None and english.kind != "espeak":
        alone, during = await contention(english, recognizer, by_language["eng"][2])
        print(f"recognition of a 4 s clip, median of {CONTENTION_ROUNDS}: alone {statistics.median(alone):.2f} s, "
              f"while {english.label} speaks a long text {statistics.median(during):.2f} s "
              f"(all: {np.round(alone, 2).tolist()} / {np.round(during, 2).tolist()})")
    neural.close()


if __name__ == "__main__":
    asyncio.run(main())
