"""Scores of one utterance from what its stream returned, and of the whole set."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass

import pycountry

from bench.evaluation import metrics
from bench.evaluation.asr import SpeechRecognizer
from bench.evaluation.client import SAMPLE_BYTES, Recording, StreamResult
from bench.evaluation.manifest import Utterance, pair_name
from bench.evaluation.timeline import final_text, word_delays

NAN = math.nan


@dataclass
class UtteranceScore:
    """Per-utterance figures (NaN where not computable: no output, no transcript given, an error)."""

    audio: str
    source_language: str
    target_language: str
    reference: str
    hypothesis: str
    source_reference: str | None
    source_hypothesis: str
    speech_transcript: str
    source_ms: float
    speech_ms: float  # the translated speech received, all chunks together
    bleu: float
    chrf: float
    asr_bleu: float
    source_wer: float
    first_output_latency_ms: float
    start_offset_ms: float
    average_lagging_ms: float
    length_adaptive_average_lagging_ms: float
    end_offset_ms: float
    simuleval_speech_end_offset_ms: float
    speech_ending_offset_ms: float
    error: str | None

    @property
    def pair(self) -> str:
        return pair_name(self.source_language, self.target_language)

    def as_dict(self) -> dict:
        return {key: (None if isinstance(value, float) and math.isnan(value) else value)
                for key, value in asdict(self).items()}


def whisper_code(iso3: str) -> str:
    """ISO 639-3 (the API's codes) to Whisper's language code."""
    if iso3 == "cmn":
        return "zh"
    language = pycountry.languages.get(alpha_3=iso3)
    return getattr(language, "alpha_2", iso3)


def score_utterance(utterance: Utterance, recording: Recording, result: StreamResult,
                    recognizer: SpeechRecognizer) -> UtteranceScore:
    hypothesis = final_text(result.target)
    delays = word_delays(result.target)
    source_ms = recording.duration_ms
    reference_words = len(utterance.reference.split())
    speech_pcm = b"".join(chunk.pcm for chunk in result.speech)
    speech_transcript = recognizer.transcribe(speech_pcm, result.output_sample_rate_hz,
                                              whisper_code(utterance.target_language))
    durations = [1000 * len(chunk.pcm) / SAMPLE_BYTES / result.output_sample_rate_hz for chunk in result.speech]
    produced = [(chunk.input_offset_ms, ms) for chunk, ms in zip(result.speech, durations)]
    heard = [(chunk.arrived_ms, ms) for chunk, ms in zip(result.speech, durations)]
    speech_start, speech_end = utterance.speech_span_ms or metrics.speech_span_ms(recording.pcm,
                                                                                   recording.sample_rate_hz)
    source_hypothesis = final_text(result.source)
    failed = result.error is not None
    return UtteranceScore(
        audio=str(utterance.audio),
        source_language=utterance.source_language,
        target_language=utterance.target_language,
        reference=utterance.reference,
        hypothesis=hypothesis,
        source_reference=utterance.transcript,
        source_hypothesis=source_hypothesis,
        speech_transcript=speech_transcript,
        source_ms=source_ms,
        speech_ms=sum(durations),
        bleu=NAN if failed else metrics.sentence_bleu(hypothesis, utterance.reference),
        chrf=NAN if failed else metrics.sentence_chrf(hypothesis, utterance.reference),
        asr_bleu=NAN if failed else metrics.sentence_bleu(metrics.normalize(speech_transcript),
                                                          metrics.normalize(utterance.reference)),
        source_wer=NAN if failed or not utterance.transcript else
        metrics.word_error_rate([source_hypothesis], [utterance.transcript]),
        first_output_latency_ms=heard[0][0] - speech_start if heard else NAN,
        start_offset_ms=delays[0] if delays else NAN,
        average_lagging_ms=_or_nan(metrics.average_lagging(delays, source_ms, reference_words)),
        length_adaptive_average_lagging_ms=_or_nan(
            metrics.length_adaptive_average_lagging(delays, source_ms, reference_words)),
        end_offset_ms=delays[-1] - source_ms if delays else NAN,
        simuleval_speech_end_offset_ms=_or_nan(metrics.speech_ending_offset(produced, source_ms)),
        speech_ending_offset_ms=_or_nan(metrics.speech_ending_offset(heard, speech_end)),
        error=result.error,
    )


def _or_nan(value: float | None) -> float:
    return NAN if value is None else value


LATENCIES = ("first_output_latency_ms", "start_offset_ms", "average_lagging_ms",
             "length_adaptive_average_lagging_ms", "end_offset_ms", "simuleval_speech_end_offset_ms",
             "speech_ending_offset_ms")


def score_pairs(scores: list[UtteranceScore]) -> dict[str, dict[str, float | int]]:
    """score_corpus of each language pair's utterances, in the order pairs first appear."""
    pairs = dict.fromkeys(score.pair for score in scores)
    return {pair: score_corpus([s for s in scores if s.pair == pair]) for pair in pairs}


def score_corpus(scores: list[UtteranceScore]) -> dict[str, float | int]:
    """Corpus BLEU, chrF and ASR-BLEU (sacrebleu over all utterances, failed ones as empty hypotheses),
    WER over those with a transcript, and the mean (SimulEval averages latency per instance) and the
    median (``median_`` + name: what one long wait cannot drag) of each latency over the utterances that
    have it."""
    references = [s.reference for s in scores]
    with_transcript = [s for s in scores if s.source_reference]
    summary: dict[str, float | int] = {
        "utterances": len(scores),
        "errors": sum(s.error is not None for s in scores),
        "bleu": metrics.corpus_bleu([s.hypothesis for s in scores], references),
        "chrf": metrics.corpus_chrf([s.hypothesis for s in scores], references),
        "asr_bleu": metrics.corpus_bleu([metrics.normalize(s.speech_transcript) for s in scores],
                                        [metrics.normalize(r) for r in references]),
        "source_wer": metrics.word_error_rate([s.source_hypothesis for s in with_transcript],
                                              [s.source_reference or "" for s in with_transcript]),
    }
    for name in LATENCIES:
        values = [getattr(s, name) for s in scores if not math.isnan(getattr(s, name))]
        summary[name] = statistics.fmean(values) if values else NAN
        summary[f"median_{name}"] = statistics.median(values) if values else NAN
    return summary
