"""The SeamlessStreaming adapter's stream logic against the STAND-IN agent (tests/seamless_standin.py).

The real model needs a GPU and multi-GB weights; tests that need the real
packages skip with the reason when they are not importable.
"""

from __future__ import annotations

import asyncio
import importlib.util

import numpy as np
import pytest
from seamless_standin import EmptySegment, SpeechSegment, StandInJointVADAgent, TextSegment

from inference.engines.base import SessionSettings, Side, SpeechAudio, SpeechEnded, SpeechStarted, \
    TranscriptUpdate, UnsupportedConfig
from inference.engines.seamless import SeamlessEngine
from inference.engines.seamless.pipeline import ModelLanguages
from inference.engines.seamless.settings import SeamlessSettings
from inference.engines.seamless.stream import SegmentClasses

SPEECH_LANGS = tuple(sorted("arb ben cat ces cmn cym dan deu eng est fin fra hin ind ita jpn kor mlt nld pes pol por "
                            "ron rus slk spa swe swh tel tgl tha tur ukr urd uzn vie".split()))
TEXT_LANGS = tuple(sorted(set(SPEECH_LANGS) | {"afr", "amh", "zul"}))


def stand_in_engine(agent: StandInJointVADAgent | None = None, **settings) -> SeamlessEngine:
    engine = SeamlessEngine(
        SeamlessSettings(**settings),
        agent_factory=lambda s: agent or StandInJointVADAgent(s.silence_limit_ms),
        languages_reader=lambda s: ModelLanguages(text=TEXT_LANGS, speech=SPEECH_LANGS),
        segment_classes=SegmentClasses(SpeechSegment, TextSegment, EmptySegment),
    )
    engine.load()
    return engine


def speech(seconds: float) -> np.ndarray:
    return (0.3 * np.sin(np.arange(int(16000 * seconds)) * 0.05)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(16000 * seconds), dtype=np.float32)


async def feed(session, audio: np.ndarray, chunk: int = 640) -> list:
    events = []
    for start in range(0, len(audio), chunk):
        events += await session.push(audio[start : start + chunk])
    return events


def targets(events, final: bool) -> list[str]:
    return [e.text for e in events if isinstance(e, TranscriptUpdate) and e.side is Side.TARGET
            and e.is_final is final]


async def test_a_segment_yields_growing_partials_then_a_final_and_its_speech():
    session = stand_in_engine().open_session(SessionSettings(target_language="spa"))
    events = await feed(session, np.concatenate([silence(0.5), speech(2.0), silence(1.0)]))
    assert isinstance(events[0], SpeechStarted) and 400 <= events[0].at_ms <= 600
    partials, finals = targets(events, False), targets(events, True)
    assert partials and all(b.startswith(a) for a, b in zip(partials, partials[1:]))
    assert finals == [partials[-1]] and finals[0].split()[0] == "spa0"
    ended = next(e for e in events if isinstance(e, SpeechEnded))
    assert 2300 <= ended.at_ms <= 2700
    audio = [e for e in events if isinstance(e, SpeechAudio)]
    assert audio[-1].is_last and sum(len(a.samples) for a in audio) > 0


async def test_states_reset_between_segments_so_ids_advance_and_text_starts_over():
    session = stand_in_engine().open_session(SessionSettings(target_language="fra"))
    utterance = np.concatenate([speech(1.0), silence(1.0)])
    events = await feed(session, np.concatenate([utterance, utterance]))
    assert [e.segment_id for e in events if isinstance(e, SpeechStarted)] == [1, 2]
    assert [t.split()[0] for t in targets(events, True)] == ["fra0", "fra0"]


async def test_concurrent_sessions_keep_their_own_target_language():
    agent = StandInJointVADAgent(step_seconds=0.002)
    engine = stand_in_engine(agent)
    sessions = {lang: engine.open_session(SessionSettings(target_language=lang)) for lang in ("deu", "jpn", "por")}
    audio = np.concatenate([speech(1.5), silence(1.0)])
    results = await asyncio.gather(*(feed(s, audio) for s in sessions.values()))
    for lang, events in zip(sessions, results):
        words = " ".join(targets(events, True)).split()
        assert words and all(word.startswith(lang) for word in words), (lang, words)
    assert len(agent.threads) == 1  # every pushpop ran on the one inference thread


async def test_reset_drops_the_utterance_and_nothing_leaks_into_the_next():
    session = stand_in_engine().open_session(SessionSettings(target_language="ita"))
    await feed(session, speech(1.0))
    await session.reset()
    events = await feed(session, np.concatenate([speech(0.7), silence(1.0)]))
    final = targets(events, True)
    assert final == ["ita0 ita1"]
    assert [e.segment_id for e in events if isinstance(e, SpeechStarted)] == [1]


async def test_end_of_input_finishes_the_open_segment():
    session = stand_in_engine().open_session(SessionSettings(target_language="eng"))
    events = await feed(session, speech(1.0))
    assert not targets(events, True)
    flushed = await session.flush()
    assert targets(flushed, True) and isinstance(flushed[-1], SpeechAudio) and flushed[-1].is_last


async def test_a_monologue_is_ended_at_the_segment_cap():
    session = stand_in_engine(max_segment_seconds=2.0).open_session(SessionSettings(target_language="eng"))
    events = await feed(session, speech(5.0))
    assert len([e for e in events if isinstance(e, SpeechEnded)]) >= 2
    assert len(targets(events, True)) >= 2


@pytest.mark.parametrize(("settings", "words"), [
    (SessionSettings(target_language="xxx"), "cannot translate into"),
    (SessionSettings(target_language="zul"), "no speech output"),
    (SessionSettings(target_language="eng", options={"x": "1"}), "no options"),
    (SessionSettings(target_language="eng", source_language="qqq"), "unknown source language"),
])
def test_unsupported_requests_are_refused_with_a_reason(settings, words):
    with pytest.raises(UnsupportedConfig, match=words):
        stand_in_engine().open_session(settings)


def test_text_only_is_allowed_where_speech_output_is_not():
    stand_in_engine().open_session(SessionSettings(target_language="zul", speech_output=False))


def test_the_catalog_comes_from_the_model_languages():
    catalog = stand_in_engine().languages()
    assert catalog.speech_targets == SPEECH_LANGS and len(catalog.speech_targets) == 36
    assert catalog.targets == TEXT_LANGS and not catalog.source_selectable


def test_agent_arguments_are_explicit_and_flags_carry_no_values():
    arguments = SeamlessSettings().agent_arguments()
    pairs = dict(zip(arguments[::2], arguments[1::2]))
    assert pairs["--min-unit-chunk-size"] == "50" and pairs["--tgt-lang"] == "eng"
    assert pairs["--decision-threshold"] == "0.7" and pairs["--min-starting-wait-w2vbert"] == "192"
    for flag in ("--no-early-stop", "--block-ngrams", "--detokenize-only"):
        index = arguments.index(flag)
        assert index + 1 == len(arguments) or arguments[index + 1].startswith("--")


def test_settings_come_from_the_environment():
    settings = SeamlessSettings.from_environ({"S2ST_SEAMLESS_DEVICE": "cuda:1", "S2ST_SEAMLESS_DTYPE": "fp32",
                                              "S2ST_SEAMLESS_DECISION_THRESHOLD": "0.5"})
    assert (settings.device, settings.dtype, settings.decision_threshold) == ("cuda:1", "fp32", 0.5)


@pytest.mark.skipif(importlib.util.find_spec("simuleval") is None, reason="simuleval is not installed here "
                    "(it comes with the GPU image); the real argument parser is checked there")
def test_the_real_simuleval_parser_accepts_the_arguments():
    from simuleval.options import general_parser

    parser = general_parser()
    parser.add_argument("--min-unit-chunk-size", type=int, required=True)
    args, _ = parser.parse_known_args(SeamlessSettings().agent_arguments())
    assert args.device == "cuda:0" and args.dtype == "fp16" and args.min_unit_chunk_size == 50


@pytest.mark.skipif(importlib.util.find_spec("seamless_communication") is None,
                    reason="seamless_communication is not installed here (GPU image only)")
def test_the_real_model_languages_are_read_from_its_asset_cards():
    from inference.engines.seamless.pipeline import read_model_languages

    languages = read_model_languages(SeamlessSettings())
    assert len(languages.speech) == 36 and "eng" in languages.text


async def test_the_gpu_check_script_drives_concurrent_sessions_through_the_engine():
    spec = importlib.util.spec_from_file_location("gpu_check", "bench/gpu_check.py")
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    audio = np.concatenate([speech(1.0), silence(1.0)])
    results = await gpu_check.run_level(stand_in_engine(), audio, "eng", 2)
    assert len(results) == 2 and all(r["text"].startswith("eng0") for r in results)
    assert all(r["first_output_s"] < 2.5 and r["rtf"] < 1 for r in results)
