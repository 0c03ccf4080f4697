"""The evaluation tool (bench/evaluate.py): its latency definitions, the harder speech it makes (noise at a
chosen SNR, pauses), and a smoke run per language pair against a real lite worker."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from bench.evaluate import main, parse_args
from bench.evaluation.builtin import builtin_sentences, builtin_utterances, pause_halves, spoken
from bench.evaluation.metrics import SPEECH_LEVEL, average_lagging, frame_levels, \
    length_adaptive_average_lagging, speech_ending_offset, speech_span_ms
from bench.evaluation.noise import NOISE_KINDS, measured_snr_db, noisy_utterances
from bench.evaluation.scoring import LATENCIES, whisper_code
from bench.evaluation.asr import SpeechRecognizer
from bench.evaluation.metrics import word_error_rate
from bench.evaluation.speakers import SPEECH_RATE, EspeakSpeaker, make_speaker
from bench.evaluation.timeline import TimedText, final_text, word_delays
from harness.servers import Worker
from harness.speech import colored_noise, read_pcm, read_samples

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


def test_the_builtin_set_has_thirty_sentences_per_pair() -> None:
    for pair in ("spa-eng", "fra-eng", "deu-eng", "eng-spa", "eng-cat"):
        assert len(builtin_sentences({pair})) >= 30, pair


def test_a_pair_the_builtin_set_lacks_is_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--address", "localhost:1", "--builtin", "--pairs", "spa-eng,eng-xho"])
    assert "no eng-xho" in capsys.readouterr().err


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_noise_is_mixed_in_at_the_requested_snr_the_same_every_time(kind: str, tmp_path: Path) -> None:
    clean = builtin_utterances(tmp_path, EspeakSpeaker(), {"eng-spa", "spa-eng"}, per_pair=1)
    clean_samples = [read_samples(u.audio)[0] for u in clean]
    for snr_db in (10.0, 20.0):
        noisy = noisy_utterances(clean, kind, snr_db, seed=5, workdir=tmp_path)
        for utterance, original, mixed in zip(clean, clean_samples, noisy):
            samples, rate = read_samples(mixed.audio)
            assert measured_snr_db(original, samples, rate) == pytest.approx(snr_db, abs=0.2)
            # Noise fills the silences too: the speech span comes from the clean file.
            assert speech_span_ms(*_pcm(samples, rate)) != mixed.speech_span_ms == speech_span_ms(*_pcm(original, rate))
    runs = {}
    for name, seed in (("first", 5), ("again", 5), ("other", 6)):
        (tmp_path / name).mkdir()
        runs[name] = [u.audio.read_bytes() for u in noisy_utterances(clean, kind, 15.0, seed, tmp_path / name)]
    assert runs["first"] == runs["again"] and runs["first"] != runs["other"]


def _pcm(samples: np.ndarray, rate: int) -> tuple[bytes, int]:
    return np.round(samples * 32768).astype("<i2").tobytes(), rate


def _octave_db(noise: np.ndarray, low_hz: float) -> float:
    power = np.abs(np.fft.rfft(noise)) ** 2
    frequencies = np.fft.rfftfreq(len(noise), 1 / SPEECH_RATE)
    return float(10 * np.log10(power[(frequencies >= low_hz) & (frequencies < 2 * low_hz)].sum()))


def test_pink_noise_has_equal_power_per_octave_and_brown_noise_falls_by_3_db_an_octave() -> None:
    pink, brown = (colored_noise(kind, 4 * SPEECH_RATE, SPEECH_RATE, seed=1) for kind in ("pink", "brown"))
    assert _octave_db(pink, 200) - _octave_db(pink, 3200) == pytest.approx(0, abs=1.5)
    assert _octave_db(brown, 200) - _octave_db(brown, 3200) == pytest.approx(12, abs=1.5)  # four octaves


def _longest_silence_ms(samples: np.ndarray) -> float:
    levels, frame = frame_levels(samples, SPEECH_RATE)
    loud = np.flatnonzero(levels > SPEECH_LEVEL)
    gaps = np.diff(loud) - 1 if len(loud) > 1 else np.array([0])
    return 1000 * int(gaps.max()) * frame / SPEECH_RATE


def test_a_pause_is_put_in_the_middle_of_each_sentence() -> None:
    assert pause_halves("Buenos días, ¿cómo estás?") == ["Buenos días,", "¿cómo estás?"]
    assert pause_halves("The children are already asleep.") == ["The children", "are already asleep."]
    row = builtin_sentences({"eng-spa"})[0]
    assert _longest_silence_ms(spoken(row, EspeakSpeaker(), pause_ms=600)) >= 600
    assert _longest_silence_ms(spoken(row, EspeakSpeaker(), pause_ms=0)) < 300


def test_the_neural_speaker_says_the_set_in_the_engines_own_voices_and_whisper_understands_them(
        tmp_path: Path) -> None:
    speaker = make_speaker("neural", {"eng", "spa", "deu"})
    try:
        assert speaker.label("eng") == "Piper en_US-joe-medium"
        assert speaker.label("spa") == "Kokoro jm_kumo"
        assert speaker.label("deu") == "espeak-ng"  # no neural voice: eSpeak NG, and the report says so
        utterances = builtin_utterances(tmp_path, speaker, {"eng-spa", "spa-eng"}, per_pair=1, pause_ms=400)
    finally:
        speaker.close()
    recognizer = SpeechRecognizer()
    for utterance in utterances:
        transcript = recognizer.transcribe(*read_pcm(utterance.audio), whisper_code(utterance.source_language))
        assert word_error_rate([transcript], [utterance.transcript]) <= 25, (transcript, utterance.transcript)
        assert _longest_silence_ms(read_samples(utterance.audio)[0]) >= 400


def test_evaluation_per_pair_of_noisy_builtin_utterances_computes_every_metric(lite_worker: Worker, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "evaluation.json"
    assert main(["--address", lite_worker.address, "--builtin", "--pairs", "spa-eng,eng-spa", "--per-pair", "1",
                 "--snr-db", "20", "--noise", "pink", "--pause-ms", "300", "--speed", "3", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert "overall" in printed and "[eng-spa] (median latency)" in printed
    utterances, overall = report["utterances"], report["overall"]
    assert len(utterances) == 2 and overall["errors"] == 0
    assert set(report["pairs"]) == {"spa-eng", "eng-spa"} and report["pairs"]["eng-spa"]["utterances"] == 1
    assert report["run"]["noise"] == {"kind": "pink", "snr_db": 20.0, "seed": 27} and report["run"]["pause_ms"] == 300
    assert [u["target_language"] for u in utterances] == ["eng", "spa"]
    assert all(u["speech_ms"] > 500 for u in utterances)  # each translation was spoken
    for utterance in utterances:
        assert utterance["error"] is None
        for name in QUALITY:
            assert math.isfinite(utterance[name]), (name, utterance)
    for name in (*QUALITY, *LATENCIES):
        assert overall[name] is not None and math.isfinite(overall[name]), (name, overall)
