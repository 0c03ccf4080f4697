"""The scores of speech translation as SimulEval and the SeamlessStreaming paper report them.

Latency (all in ms of *input audio*, non-computation-aware in SimulEval's terms: the delay of an output is
how much input the worker had consumed when it produced it, its ``input_offset_ms``; at real-time pace
compute time shows up in it, at a faster pace it mostly does not):

- **AL**, average lagging (Ma et al., 2019, STACL; SimulEval ``ALScorer``): with delays d_1..d_n of the
  target words, source length |X| in ms and target length |Y| = the reference's word count,
  gamma = |Y| / |X|, tau = the first i with d_i >= |X| (else n):
  AL = 1/tau * sum_{i=1..tau} (d_i - (i - 1) / gamma). If d_1 > |X|, AL = d_1.
- **LAAL**, length-adaptive AL (Papi et al., 2022; SimulEval ``LAALScorer``): the same with
  gamma = max(|Y|, n) / |X|, so over-long hypotheses are not rewarded.
- **StartOffset** and **EndOffset** of the text (SimulEval): d_1, and d_n - |X|.
- **SimulEval's speech EndOffset**: when the last output speech would end if every chunk were played from
  its input offset or right after the previous chunk (back to back), minus |X|.

|X| is the whole file's length, silence included, as SimulEval takes it.

What a listener lives through is computation-aware and starts from the speech, not the file: at
real-time pace the client's own clock says when each chunk arrived (decoding and synthesis included),
and a file's leading and trailing silence is nobody's wait. So the two figures the table leads with are:

- **First-output latency**: arrival of the first output speech minus the onset of speech in the file.
- **Ending offset**: the end of the output speech played back to back from each chunk's arrival, minus
  the end of speech in the file. On a file that ends where its speech ends and an engine that computes
  nothing, this is SimulEval's speech EndOffset.
Source: facebookresearch/SimulEval, simuleval/evaluator/scorers/latency_scorer.py.
"""

from __future__ import annotations

import math
import re
import string

import jiwer
import numpy as np
import sacrebleu


def average_lagging(delays_ms: list[float], source_ms: float, reference_words: int) -> float | None:
    """SimulEval's AL, with the reference length as |Y|; None without delays or source."""
    return _lagging(delays_ms, source_ms, reference_words or len(delays_ms))


def length_adaptive_average_lagging(delays_ms: list[float], source_ms: float, reference_words: int) -> float | None:
    """SimulEval's LAAL: AL with max(reference length, hypothesis length) as |Y|."""
    return _lagging(delays_ms, source_ms, max(reference_words, len(delays_ms)))


def _lagging(delays_ms: list[float], source_ms: float, target_words: int) -> float | None:
    if not delays_ms or source_ms <= 0 or target_words <= 0:
        return None
    if delays_ms[0] > source_ms:
        return delays_ms[0]
    gamma = target_words / source_ms
    total, tau = 0.0, 0
    for index, delay in enumerate(delays_ms):
        total += delay - index / gamma
        tau = index + 1
        if delay >= source_ms:
            break
    return total / tau


def speech_ending_offset(chunks: list[tuple[float, float]], reference_ms: float) -> float | None:
    """End of the output speech played back to back, each (start ms, duration ms) chunk from its start or
    right after the previous one, minus reference_ms (|X| for SimulEval, the end of source speech for a
    listener)."""
    end = None
    for start, duration in chunks:
        end = max(start, end if end is not None else start) + duration
    return None if end is None else end - reference_ms


_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}¿¡«»“”‘’…]")


def normalize(text: str) -> str:
    """Lower case, no punctuation, single spaces: how WER and ASR-BLEU compare words."""
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


def sentence_bleu(hypothesis: str, reference: str) -> float:
    return sacrebleu.sentence_bleu(hypothesis, [reference]).score


def sentence_chrf(hypothesis: str, reference: str) -> float:
    return sacrebleu.sentence_chrf(hypothesis, [reference]).score


def corpus_bleu(hypotheses: list[str], references: list[str]) -> float:
    """sacrebleu's corpus BLEU (13a tokenizer, exponential smoothing off: its defaults)."""
    return sacrebleu.corpus_bleu(hypotheses, [references]).score


def corpus_chrf(hypotheses: list[str], references: list[str]) -> float:
    return sacrebleu.corpus_chrf(hypotheses, [references]).score


def word_error_rate(hypotheses: list[str], references: list[str]) -> float:
    """WER in percent over normalized text (jiwer); a pair with an empty reference is skipped."""
    pairs = [(normalize(h), normalize(r)) for h, r in zip(hypotheses, references) if normalize(r)]
    if not pairs:
        return math.nan
    return 100 * jiwer.wer([r for _, r in pairs], [h for h, _ in pairs])


SPEECH_FRAME_MS = 10
SPEECH_LEVEL = 0.01  # -40 dBFS RMS: above any dither or room hiss in a recording, below any speech


def frame_levels(samples: np.ndarray, sample_rate_hz: int) -> tuple[np.ndarray, int]:
    """The RMS of each whole SPEECH_FRAME_MS frame of samples (full scale 1.0), and the frame's length."""
    frame = max(1, sample_rate_hz * SPEECH_FRAME_MS // 1000)
    frames = len(samples) // frame
    return np.sqrt(np.mean(samples[: frames * frame].reshape(frames, frame) ** 2, axis=1)), frame


def speech_span_ms(pcm: bytes, sample_rate_hz: int) -> tuple[float, float]:
    """(start of the first, end of the last) 10 ms frame louder than SPEECH_LEVEL: where speech begins and
    ends in the file, judged from the file alone so every engine is measured from the same points
    ((0, file length) when nothing is that loud)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
    levels, frame = frame_levels(samples, sample_rate_hz)
    loud = np.flatnonzero(levels > SPEECH_LEVEL)
    if not len(loud):
        return 0.0, 1000 * len(samples) / sample_rate_hz
    return 1000 * loud[0] * frame / sample_rate_hz, 1000 * (loud[-1] + 1) * frame / sample_rate_hz
