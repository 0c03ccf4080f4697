"""The built-in set: short everyday sentences with reference translations (builtin.tsv, written for this
project): Spanish, French and German into English, English into Spanish and Catalan; spoken at run time by eSpeak NG or
a neural voice (speakers.py), optionally with a pause in the middle of each sentence.

Synthetic speech is clean, evenly paced and the same voice every time: it flatters speech recognition,
so figures on this set are an upper bound for real speakers (see docs/evaluation.md for a real corpus,
and noise.py for background noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.evaluation.manifest import Utterance
from bench.evaluation.speakers import SPEECH_RATE, Speaker
from harness.speech import below_clipping, write_wav

BUILTIN_TSV = Path(__file__).with_name("builtin.tsv")
LEAD_SILENCE_S = 0.3
TAIL_SILENCE_S = 1.5  # enough for the lite engine's voice detector to close the segment before the input ends


@dataclass(frozen=True)
class BuiltinSentence:
    source: str
    target: str
    voice: str  # eSpeak NG voice of the source language
    sentence: str
    reference: str

    @property
    def pair(self) -> str:
        return f"{self.source}-{self.target}"


def builtin_sentences(pairs: set[str] | None = None) -> list[BuiltinSentence]:
    """The set's sentences of the given pairs (``spa-eng``; all when None), in file order."""
    rows = []
    for line in BUILTIN_TSV.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        row = BuiltinSentence(*line.split("\t"))
        if pairs is None or row.pair in pairs:
            rows.append(row)
    return rows


def builtin_pairs() -> list[str]:
    """Every pair the set has references for, in file order."""
    return list(dict.fromkeys(row.pair for row in builtin_sentences()))


def pause_halves(sentence: str) -> list[str]:
    """sentence cut in two where a speaker would hesitate: after the comma nearest its middle, else at the
    word boundary nearest it (a sentence of one word stays whole)."""
    words = sentence.split()
    middle = len(words) / 2
    cuts = [i + 1 for i, word in enumerate(words[:-1]) if word.endswith(",")] or list(range(1, len(words)))
    if not cuts:
        return [sentence]
    cut = min(cuts, key=lambda i: abs(i - middle))
    return [" ".join(words[:cut]), " ".join(words[cut:])]


def spoken(row: BuiltinSentence, speaker: Speaker, pause_ms: int) -> np.ndarray:
    """row's sentence said by speaker, pause_ms of silence in its middle (none when 0), framed by silence."""
    silence = np.zeros(SPEECH_RATE * pause_ms // 1000)
    halves = pause_halves(row.sentence) if pause_ms else [row.sentence]
    parts = [np.zeros(int(SPEECH_RATE * LEAD_SILENCE_S))]
    for index, half in enumerate(halves):
        parts += [silence] if index else []
        parts.append(speaker.say(half, row.source, row.voice))
    parts.append(np.zeros(int(SPEECH_RATE * TAIL_SILENCE_S)))
    return below_clipping(np.concatenate(parts))  # some neural voices peak above full scale


def builtin_utterances(workdir: Path, speaker: Speaker, pairs: set[str] | None = None,
                       per_pair: int | None = None, pause_ms: int = 0) -> list[Utterance]:
    """The set (or the first per_pair sentences of each pair) spoken into WAV files under workdir."""
    taken: dict[str, int] = {}
    utterances = []
    for row in builtin_sentences(pairs):
        index = taken.get(row.pair, 0)
        if per_pair is not None and index >= per_pair:
            continue
        taken[row.pair] = index + 1
        audio = write_wav(workdir / f"{row.pair}-{index:02d}.wav", spoken(row, speaker, pause_ms), SPEECH_RATE)
        utterances.append(Utterance(audio, row.source, row.target, row.reference, transcript=row.sentence))
    return utterances
