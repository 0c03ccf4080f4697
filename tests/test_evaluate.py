"""The evaluation tool (bench/evaluate.py): its latency definitions, and a smoke run against a real lite worker."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from bench.evaluate import main
from bench.evaluation.builtin import builtin_sentences
from bench.evaluation.metrics import average_lagging, length_adaptive_average_lagging, speech_ending_offset, \
    speech_span_ms
from bench.evaluation.scoring import LATENCIES
from bench.evaluation.timeline import TimedText, final_text, word_delays
from tests.harness.servers import Worker

QUALITY = ("bleu", "chrf", "asr_bleu", "source_wer")


def test_average_lagging_matches_simulevals_definition() -> None:
    # A wait-1s policy: one word per second of a 3 s source, 3 reference words: lags 1 s throughout.
    assert average_lagging([1000, 2000, 3000], 3000, 3) == pytest.approx(1000)
    # A word emitted only after the whole source counts as its delay.
    assert average_lagging([4000], 3000, 3) == 4000


def test_laal_does_not_reward_a_hypothesis_longer_than_the_reference() -> None:
    delays = [1000] * 6  # six words at once, against a three-word reference
    assert average_lagging(delays, 3000, 3) == pytest.approx(-1500)
    assert length_adaptive_average_lagging(delays, 3000, 3) == pytest.approx(-250)


def test_a_word_is_emitted_when_it_stops_changing() -> None:
    events = [TimedText(1, False, "Good", 500), TimedText(1, False, "Good evening", 1000),
              TimedText(1, True, "Good morning", 1500), TimedText(2, True, "Thanks.", 2500)]
    assert final_text(events) == "Good morning Thanks."
    assert word_delays(events) == [500, 1500, 2500]


def test_speech_ending_offset_plays_chunks_back_to_back() -> None:
    assert speech_ending_offset([(1000, 500), (1200, 500)], 1500) == pytest.approx(500)


def test_latency_is_measured_from_the_speech_in_the_file_not_its_silences() -> None:
    rate = 16_000
    tone = (8000 * np.sin(np.arange(rate) * 2 * np.pi * 220 / rate)).astype("<i2")
    silence = np.zeros(rate // 2, dtype="<i2")
    pcm = np.concatenate([silence, tone, silence, silence, silence]).tobytes()  # 0.5 s, 1 s of tone, 1.5 s
    assert speech_span_ms(pcm, rate) == pytest.approx((500, 1500))
    assert speech_span_ms(np.zeros(rate, dtype="<i2").tobytes(), rate) == (0, 1000)


def test_the_builtin_set_has_thirty_sentences_per_language() -> None:
    for language in ("spa", "fra", "deu"):
        assert len(builtin_sentences({language})) >= 30


def test_evaluation_of_builtin_utterances_computes_every_metric(lite_worker: Worker, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "evaluation.json"
    assert main(["--address", lite_worker.address, "--builtin", "--languages", "spa,fra",
                 "--per-language", "1", "--speed", "3", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert "overall" in capsys.readouterr().out
    utterances, overall = report["utterances"], report["overall"]
    assert len(utterances) == 2 and overall["errors"] == 0
    for utterance in utterances:
        assert utterance["error"] is None
        for name in QUALITY:
            assert math.isfinite(utterance[name]), (name, utterance)
    for name in (*QUALITY, *LATENCIES):
        assert overall[name] is not None and math.isfinite(overall[name]), (name, overall)
