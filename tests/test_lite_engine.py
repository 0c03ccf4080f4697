"""The lite engine on real speech made at test time: Whisper base, Silero VAD and eSpeak NG, no fakes."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from harness.speech import SENTENCES, TWO_PHRASES, babble, colored_noise, read_pcm, speak

from inference.engines.base import LanguageHint, SegmentWarning, SessionSettings, Side, SpeechAudio, SpeechEnded, SpeechStarted, \
    TranscriptUpdate, UnsupportedConfig
from inference.engines.lite import LiteEngine
from inference.engines.lite.hallucination import loop_start, without_doubled_sentence
from inference.engines.lite.language_hint import WINDOW_SECONDS, LanguageHints
from inference.engines.lite.models import ModelNotFound, whisper_model_source
from inference.engines.lite.segmenter import SegmentClosed, Segmenter, SegmentGrew, SegmentPaused, SegmentPolicy
from inference.engines.lite.settings import LiteSettings
from inference.engines.lite.vad import WINDOW_SAMPLES

CHUNK = 640  # 20 ms


@pytest.fixture(scope="session")
def lite_engine() -> LiteEngine:
    engine = LiteEngine.from_environ({})
    engine.load()
    return engine


def samples_of(path) -> np.ndarray:
    pcm, rate = read_pcm(path)
    assert rate == 16000
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768


async def run(engine: LiteEngine, audio: np.ndarray, **settings) -> list:
    session = engine.open_session(SessionSettings(target_language="eng", **settings))
    events = []
    for start in range(0, len(audio), CHUNK):
        events += await session.push(audio[start : start + CHUNK])
    events += await session.flush()
    await session.close()
    return events


def final_text(events, side: Side) -> str:
    return " ".join(e.text for e in events if isinstance(e, TranscriptUpdate) and e.side is side and e.is_final)


@pytest.mark.parametrize("source", [None, "spa"])
async def test_spanish_speech_becomes_english_text_and_speech(lite_engine, tmp_path, source):
    voice, text = SENTENCES["spa"]
    audio = samples_of(speak(text, voice, tmp_path / "es.wav"))
    events = await run(lite_engine, audio, source_language=source)
    translation = final_text(events, Side.TARGET).lower()
    assert "good morning" in translation or "thank" in translation, translation
    source_finals = [e for e in events if isinstance(e, TranscriptUpdate) and e.side is Side.SOURCE and e.is_final]
    assert source_finals and source_finals[0].language == "spa"
    speech = np.concatenate([e.samples for e in events if isinstance(e, SpeechAudio)])
    assert 0.8 < len(speech) / 16000 < 8
    assert np.sqrt(np.mean(speech**2)) > 0.02
    assert [e for e in events if isinstance(e, SpeechAudio)][-1].is_last


async def test_french_speech_is_translated_too(lite_engine, tmp_path):
    voice, text = SENTENCES["fra"]
    events = await run(lite_engine, samples_of(speak(text, voice, tmp_path / "fr.wav")), source_language="fra")
    translation = final_text(events, Side.TARGET).lower()
    assert any(word in translation for word in ("hello", "thank", "good morning", "help")), translation


async def test_partials_come_before_finals_and_segments_are_bracketed(lite_engine, tmp_path):
    voice, text = SENTENCES["spa"]
    audio = samples_of(speak(text + " " + text, voice, tmp_path / "long.wav"))
    events = await run(lite_engine, audio, source_language="spa")
    kinds = [(type(e).__name__, getattr(e, "is_final", None)) for e in events]
    first_partial = kinds.index(("TranscriptUpdate", False))
    first_final = kinds.index(("TranscriptUpdate", True))
    assert first_partial < first_final
    assert isinstance(events[0], SpeechStarted)
    started = [e.segment_id for e in events if isinstance(e, SpeechStarted)]
    ended = [e.segment_id for e in events if isinstance(e, SpeechEnded)]
    assert started == ended and started == sorted(started)


async def test_a_monologue_without_pauses_is_cut_at_the_segment_cap(tmp_path):
    engine = LiteEngine(LiteSettings(max_segment_seconds=3.0))
    engine.load()
    voice, text = SENTENCES["spa"]
    long_text = " ".join([text.replace(".", ",")] * 4)
    audio = samples_of(speak(long_text, voice, tmp_path / "mono.wav"))
    events = await run(engine, audio, source_language="spa")
    starts = {e.segment_id: e.at_ms for e in events if isinstance(e, SpeechStarted)}
    lengths = [e.at_ms - starts[e.segment_id] for e in events if isinstance(e, SpeechEnded)]
    # Cut every 3 s: each segment is at most the cap; the short last one may be dropped as no speech.
    assert len(lengths) >= len(audio) / 16000 // 3 - 1 and max(lengths) <= 3100, lengths
    # Every cut segment is still translated: a final of its own with words in it (the dropped last one aside).
    finals = [e for e in events if isinstance(e, TranscriptUpdate) and e.side is Side.TARGET and e.is_final]
    assert all(e.text.strip() for e in finals), finals
    assert {e.segment_id for e in finals} <= set(starts) and len(finals) >= len(lengths) - 1, (finals, lengths)


async def test_silence_produces_nothing(lite_engine):
    assert await run(lite_engine, np.zeros(16000 * 2, dtype=np.float32)) == []


@pytest.mark.parametrize(("settings", "words"), [
    ({"target_language": "deu"}, r"cannot translate into German \(deu\)"),
    ({"target_language": "spa", "source_language": "deu"}, r"cannot translate German \(deu\) into Spanish \(spa\)"),
    ({"target_language": "eng", "source_language": "xxx"}, "does not recognise"),
])
def test_unsupported_settings_are_refused_with_a_reason(lite_engine, settings, words):
    with pytest.raises(UnsupportedConfig, match=words):
        lite_engine.open_session(SessionSettings(**settings))


def test_the_catalog_is_many_sources_into_english_and_the_installed_pairs_beyond(lite_engine):
    catalog = lite_engine.languages()
    assert {"spa", "fra", "deu", "jpn", "cmn", "eng"} <= set(catalog.sources)
    assert {"eng", "spa"} <= set(catalog.targets) and {"eng", "spa"} <= set(catalog.speech_targets)
    reach = {source: route.targets for route in catalog.routes for source in route.sources}
    assert reach["deu"] == ("eng",) and "spa" in reach["eng"] and "eng" in reach["spa"]
    assert {voice.language for voice in catalog.voices} == set(catalog.speech_targets)


async def test_english_speech_becomes_spanish_text_and_speech_with_the_source_detected(lite_engine, tmp_path):
    audio = samples_of(speak("Good morning. Thank you very much for your help, my friend.", "en-us",
                             tmp_path / "en.wav"))
    session = lite_engine.open_session(SessionSettings(target_language="spa"))
    events = []
    for start in range(0, len(audio), CHUNK):
        events += await session.push(audio[start : start + CHUNK])
    events += await session.flush()
    await session.close()
    translation = final_text(events, Side.TARGET).lower()
    assert "buenos" in translation and "gracias" in translation, translation
    assert {e.language for e in events if isinstance(e, TranscriptUpdate)} == {"eng", "spa"}
    speech = [e for e in events if isinstance(e, SpeechAudio)]
    assert speech[-1].is_last and np.sqrt(np.mean(np.concatenate([e.samples for e in speech]) ** 2)) > 0.02


async def test_a_detected_language_that_cannot_reach_the_target_is_sent_as_text_with_a_warning_naming_the_pair(
        lite_engine, tmp_path):
    voice, text = SENTENCES["spa"]
    session = lite_engine.open_session(SessionSettings(target_language="cat"))  # English reaches Catalan; Spanish not
    audio = samples_of(speak(text, voice, tmp_path / "es.wav"))
    events = []
    for start in range(0, len(audio), CHUNK):
        events += await session.push(audio[start : start + CHUNK])
    events += await session.flush()
    warnings = [e for e in events if isinstance(e, SegmentWarning)]
    assert warnings and {w.code for w in warnings} == {"no_route"}
    assert "Spanish (spa)" in warnings[0].message and "Catalan (cat)" in warnings[0].message
    assert "gracias" in final_text(events, Side.SOURCE).lower() and final_text(events, Side.TARGET) == ""


def test_a_missing_model_directory_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(ModelNotFound, match="lacks model.bin"):
        whisper_model_source(LiteSettings(whisper_dir=str(tmp_path)))


@pytest.mark.parametrize(("previous", "current", "spoken", "expected"), [
    ("Good, I'm not", "Good morning, we are going", 0, ""),  # agreement 'Good' has no phrase end yet
    ("Good morning, we are going", "Good morning, we'll see you in Madrid.", 0, "Good morning,"),
    ("Good morning, we'll see you. Thanks", "good morning, we'll see you. Thank you", 2, "we'll see you."),
    ("Hello there.", "Goodbye.", 0, ""),
])
def test_only_settled_phrases_are_spoken_early(previous, current, spoken, expected):
    from inference.engines.lite.session import stable_phrase

    assert " ".join(stable_phrase(previous.split(), current.split(), spoken)) == expected


@pytest.mark.parametrize(("text", "loops"), [
    ("Infait référence j'ubli. Infait référence j'ubli. Infait référence j'", True),  # cut by the length cap
    ("I need to buy milk. I need to buy milk. I need to", True),
    ("I need to buy milk. I need to buy milk.", False),  # said twice, and ended
    ("Thank you very much for your help, thank you.", False),
])
def test_a_loop_cut_short_by_the_length_cap_is_still_a_loop(text, loops):
    assert (loop_start(text) is not None) is loops


@pytest.mark.parametrize(("text", "seconds", "said"), [
    ("You want a glass of water. You want a glass of water.", 1.6, "You want a glass of water."),  # no time for 12 words
    ("Good. You want a glass of water? You want a glass of water?", 1.6, "Good. You want a glass of water?"),
    ("I need to buy milk. I need to buy milk.", 3.2, "I need to buy milk. I need to buy milk."),  # time to say it twice
    ("Thank you. Thank you.", 0.4, "Thank you. Thank you."),  # too short to call a sentence
    ("We are going. We went.", 0.5, "We are going. We went."),  # not the same sentence
])
def test_a_sentence_doubled_in_too_little_time_is_said_once(text, seconds, said):
    assert without_doubled_sentence(text, seconds) == said


async def test_a_decode_that_loops_is_replaced_by_one_that_does_not(lite_engine, tmp_path, caplog):
    """Whisper's plain greedy decode of six spoken "thank you"s repeats the phrase a dozen times and more.
    (Each sentence may end its own segment: their finals joined repeat "thank you" as the speaker did.)"""
    audio = samples_of(speak("Thank you. Thank you. Thank you. Thank you. Thank you. Thank you.", "en",
                             tmp_path / "thanks.wav"))
    with caplog.at_level(logging.INFO, logger="inference.engines.lite.recognizer"):
        events = await run(lite_engine, audio, source_language="eng")
    assert any(r.getMessage() == "a decode looped; decoding again" for r in caplog.records)
    finals = [e.text for e in events if isinstance(e, TranscriptUpdate) and e.side is Side.TARGET and e.is_final]
    assert "thank you" in " ".join(finals).lower() and all(loop_start(text) is None for text in finals), finals


async def test_babble_that_passes_the_vad_does_not_come_out_as_invented_words(lite_engine, tmp_path):
    """Reversed speech sounds like speech to the VAD; Whisper base then decodes "of", "and", "in the" from it, with
    a high no-speech probability and a low log-probability: those decodes are dropped."""
    events = await run(lite_engine, samples_of(babble(40, tmp_path / "babble.wav")))
    targets = [e.text.strip(" .,").lower() for e in events if isinstance(e, TranscriptUpdate)
               and e.side is Side.TARGET and e.is_final]
    assert not [t for t in targets if t in ("", "of", "and", "the", "a", "in the", "often")], targets


def test_a_short_silence_announces_a_pause_once_and_the_segment_may_then_end_at_the_pause_length():
    policy = SegmentPolicy(threshold=0.5, min_speech_ms=64, min_silence_ms=480, pad_ms=64, max_segment_ms=12_000,
                           pause_ms=192, pause_decode_ms=96)
    frames = np.arange(40 * WINDOW_SAMPLES, dtype=np.float32)

    def feed(segmenter: Segmenter, probabilities: list[float]) -> list:
        events = []
        for index, probability in enumerate(probabilities):
            window = frames[index * WINDOW_SAMPLES : (index + 1) * WINDOW_SAMPLES]
            events += segmenter.push(window, np.array([probability], dtype=np.float32))
        return events

    speech_then_silence = [0.9] * 10 + [0.0] * 15  # 320 ms voiced, then 480 ms silent
    waited = feed(Segmenter(policy), speech_then_silence)
    pauses = [e for e in waited if isinstance(e, SegmentPaused)]
    (closed,) = [e for e in waited if isinstance(e, SegmentClosed)]
    assert len(pauses) == 1 and closed.after_pause
    assert isinstance(waited[10 + 3 - 1], SegmentPaused)  # after 3 silent frames: 96 ms
    assert [e.silent for e in waited[:10] if isinstance(e, SegmentGrew)] == [False] * 9
    assert np.array_equal(pauses[0].audio, closed.segment.audio[: len(pauses[0].audio)])

    # Asked to end at the pause: it closes at 192 ms of silence (6 frames), as the full silence would have.
    segmenter = Segmenter(policy)
    early = feed(segmenter, speech_then_silence[:13])
    assert isinstance(early[-1], SegmentPaused) and segmenter.end_at_pause() is None
    (closed_early,) = [e for e in feed(segmenter, [0.0] * 3) if isinstance(e, SegmentClosed)]
    assert closed_early.after_pause and np.array_equal(closed_early.segment.audio, closed.segment.audio)
    assert closed_early.segment.speech_end_sample == closed.segment.speech_end_sample
    # ... and at once when the silence is that long already.
    segmenter = Segmenter(policy)
    assert isinstance(feed(segmenter, speech_then_silence[:13])[-1], SegmentPaused)
    feed(segmenter, [0.0] * 3)
    assert segmenter.end_at_pause().after_pause

    # Voice after the pause: the segment goes on, the wish to end is forgotten, the next silence is announced again.
    segmenter = Segmenter(policy)
    feed(segmenter, [0.9] * 10 + [0.0] * 3)
    assert segmenter.end_at_pause() is None
    resumed = feed(segmenter, [0.9] * 4 + [0.0] * 6)
    assert sum(isinstance(e, SegmentPaused) for e in resumed) == 1
    assert not any(isinstance(e, SegmentClosed) for e in resumed)
    later = feed(segmenter, [0.0] * 9)
    assert [e.after_pause for e in later if isinstance(e, SegmentClosed)] == [True]


async def test_a_finished_sentence_ends_its_segment_before_the_full_silence(lite_engine, tmp_path):
    """Whisper's decode after a short pause ends the sentence in both languages: the segment closes then,
    not after S2ST_LITE_MIN_SILENCE_MS."""
    audio = samples_of(speak("Muchas gracias por tu ayuda.", "es", tmp_path / "gracias.wav", tail_silence_s=1.5))
    session = lite_engine.open_session(SessionSettings(target_language="eng", source_language="spa"))
    ended_at = []
    for start in range(0, len(audio), CHUNK):
        events = await session.push(audio[start : start + CHUNK])
        ended_at += [(e.at_ms, (start + CHUNK) / 16) for e in events if isinstance(e, SpeechEnded)]
    await session.close()
    ((speech_end_ms, consumed_ms),) = ended_at
    assert consumed_ms - speech_end_ms < LiteSettings().min_silence_ms, ended_at


def hints(events) -> list[LanguageHint]:
    return [e for e in events if isinstance(e, LanguageHint)]


async def test_spanish_speech_with_french_chosen_suggests_spanish_once_and_with_spanish_chosen_nothing(
        lite_engine, tmp_path):
    audio = samples_of(speak(" ".join(TWO_PHRASES * 2), "es", tmp_path / "es.wav"))  # several segments
    suggested = hints(await run(lite_engine, audio, source_language="fra"))
    assert [(hint.language, hint.source_language) for hint in suggested] == [("spa", "fra")], suggested
    assert suggested[0].probability > 0.8 and suggested[0].source_probability < 0.1
    assert hints(await run(lite_engine, audio, source_language="spa")) == []


def test_only_the_first_window_of_a_sessions_speech_is_identified():
    hints_of_session = LanguageHints("fr")
    second = np.ones(16_000, dtype=np.float32)
    assert hints_of_session.hear(second) is None  # under MIN_AUDIO_SECONDS: too little to go on
    heard = [hints_of_session.hear(second * (n + 2)) for n in range(int(WINDOW_SECONDS) - 1)]
    assert [len(h) for h in heard] == [16_000 * (n + 2) for n in range(int(WINDOW_SECONDS) - 1)]  # all heard so far
    assert np.array_equal(heard[-1][:16_000], second)
    hints_of_session = LanguageHints("fr")
    long_first = hints_of_session.hear(np.ones(int(16_000 * (WINDOW_SECONDS + 5)), dtype=np.float32))
    assert len(long_first) == 16_000 * WINDOW_SECONDS  # a longer first segment is cut to the window
    assert hints_of_session.hear(second) is None  # the window is full: no more checks this session


def mean_final_confidence(events, side: Side) -> float:
    finals = [e for e in events if isinstance(e, TranscriptUpdate) and e.side is side and e.is_final]
    assert finals and all(e.confidence is not None and 0 <= e.confidence <= 1 for e in finals), finals
    assert all(e.confidence is None for e in events if isinstance(e, TranscriptUpdate) and not e.is_final)
    return sum(e.confidence for e in finals) / len(finals)


async def test_every_final_carries_a_confidence_and_noise_lowers_it(lite_engine, tmp_path):
    voice, text = SENTENCES["spa"]
    clean = samples_of(speak(text, voice, tmp_path / "es.wav"))
    pink = colored_noise("pink", len(clean), 16000, seed=3).astype(np.float32)
    noisy = np.clip(clean + 0.06 * pink, -1, 1)
    clean_events, noisy_events = [await run(lite_engine, audio, source_language="spa") for audio in (clean, noisy)]
    for side in Side:
        assert mean_final_confidence(noisy_events, side) < mean_final_confidence(clean_events, side) - 0.1, side
