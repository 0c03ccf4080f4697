"""The built-in set: short everyday sentences in Spanish, French and German with English references
(builtin.tsv, written for this project), spoken by espeak-ng at run time.

Synthetic speech is clean, evenly paced and the same voice every time: it flatters speech recognition,
so figures on this set are an upper bound for real speakers (see docs/evaluation.md for a real corpus).
"""

from __future__ import annotations

from pathlib import Path

from bench.evaluation.manifest import Utterance
from tests.harness.speech import speak

BUILTIN_TSV = Path(__file__).with_name("builtin.tsv")
LEAD_SILENCE_S = 0.3
TAIL_SILENCE_S = 1.5  # enough for the lite engine's voice detector to close the segment before the input ends


def builtin_sentences(languages: set[str] | None = None) -> list[tuple[str, str, str, str]]:
    """(language, eSpeak voice, sentence, English reference) of the set, in file order."""
    rows = []
    for line in BUILTIN_TSV.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        language, voice, sentence, reference = line.split("\t")
        if languages is None or language in languages:
            rows.append((language, voice, sentence, reference))
    return rows


def builtin_utterances(workdir: Path, languages: set[str] | None = None, per_language: int | None = None) -> list[Utterance]:
    """The set (or its first per_language sentences of each language) spoken into WAV files under workdir."""
    taken: dict[str, int] = {}
    utterances = []
    for language, voice, sentence, reference in builtin_sentences(languages):
        index = taken.get(language, 0)
        if per_language is not None and index >= per_language:
            continue
        taken[language] = index + 1
        audio = speak(sentence, voice, workdir / f"{language}-{index:02d}.wav", lead_silence_s=LEAD_SILENCE_S,
                      tail_silence_s=TAIL_SILENCE_S)
        utterances.append(Utterance(audio, language, reference, transcript=sentence))
    return utterances
