"""The seamless engine over upstream's real agent pipeline (tiny random weights), in this process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pytest
from harness.servers import rss_mb
from harness.tiny_models import UNVOICED, VOICED

from inference.engines.base import (
    SessionSettings,
    Side,
    SpeechAudio,
    SpeechEnded,
    SpeechStarted,
    TranscriptUpdate,
    UnsupportedConfig,
)
from inference.engines.seamless import SeamlessEngine
from inference.engines.seamless.detokenizer import WORD_START
from inference.engines.seamless.settings import SAMPLE_RATE

FRAME = SAMPLE_RATE * 20 // 1000  # what the browser sends: 20 ms
CHUNK = 5120  # upstream's streaming evaluation: source_segment_size 320 ms


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(SAMPLE_RATE * seconds), dtype=np.float32)


async def feed(session, audio: np.ndarray, frame: int = FRAME, flush: bool = True) -> list:
    events = []
    for start in range(0, len(audio), frame):
        events += await session.push(audio[start : start + frame])
    if flush:
        events += await session.flush()
    return events


def finals(events: list) -> list[str]:
    return [e.text for e in events if isinstance(e, TranscriptUpdate) and e.side is Side.TARGET and e.is_final]


def speech_samples(events: list) -> int:
    return sum(len(e.samples) for e in events if isinstance(e, SpeechAudio))


def agent_module(engine: SeamlessEngine, class_name: str):
    return next(m for m in engine._agents.speech.module_dict if type(m).__name__ == class_name)


@dataclass
class EncoderRuns:
    """How often the w2v-BERT encoder ran, and on how many feature frames in all."""

    runs: int = 0
    frames: int = 0

    def __call__(self, _module, inputs) -> None:
        self.runs += 1
        self.frames += int(inputs[0].shape[1])


def count_encoder_runs(engine: SeamlessEngine) -> tuple[EncoderRuns, object]:
    counter = EncoderRuns()
    encoder = agent_module(engine, "OfflineWav2VecBertEncoderAgent").model.speech_encoder_frontend
    return counter, encoder.register_forward_pre_hook(counter)


@dataclass(frozen=True)
class DecoderWrite:
    """One write of upstream's text decoder: its SentencePiece pieces, and when it came."""

    pieces: tuple[str, ...]
    finished: bool  # end of sentence (or the length limit)
    source_finished: bool  # the VAD had ended the segment's input
    written_before: int  # tokens the decoder had written in this segment before


@contextmanager
def decoder_writes(engine: SeamlessEngine) -> Iterator[list[DecoderWrite]]:
    """Record what upstream's text decoder agent writes, calling its own policy unchanged."""
    from simuleval.agents.actions import WriteAction

    decoder = agent_module(engine, "UnitYMMATextDecoderAgent")
    writes: list[DecoderWrite] = []

    def policy(states):
        before = len(states.target_indices)
        action = type(decoder).policy(decoder, states)
        if isinstance(action, WriteAction):
            writes.append(DecoderWrite(tuple(action.content.content.tokens), action.finished,
                                       states.source_finished, before))
        return action

    decoder.policy = policy
    try:
        yield writes
    finally:
        del decoder.policy


def by_segment(writes: list[DecoderWrite]) -> list[list[DecoderWrite]]:
    """The writes of each segment: a finished write ends one."""
    segments: list[list[DecoderWrite]] = [[]]
    for write in writes:
        segments[-1].append(write)
        if write.finished:
            segments.append([])
    return [segment for segment in segments if segment]


async def test_a_segment_gives_partials_a_final_and_speech_then_the_stream_is_ready_for_the_next(tiny_engine, spanish):
    session = tiny_engine.open_session(SessionSettings(target_language="eng"))
    events = await feed(session, np.concatenate([spanish, spanish]))
    started = [e for e in events if isinstance(e, SpeechStarted)]
    assert [e.segment_id for e in started] == [1, 2]
    assert 0 < started[0].at_ms < 1000  # the speech starts 0.5 s in; the VAD sees it within its 320 ms chunk
    assert len(finals(events)) == 2 and all(finals(events))
    assert [e.segment_id for e in events if isinstance(e, SpeechAudio) and e.is_last] == [1, 2]
    assert speech_samples(events) > 0
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    assert [e.segment_id for e in ended] == [1, 2] and ended[0].at_ms > started[0].at_ms
    for segment, final in zip((1, 2), finals(events)):
        # A partial while the segment is still being spoken, and each partial the start of what follows.
        end = events.index(ended[segment - 1])
        partials = [e.text for e in events[:end] if isinstance(e, TranscriptUpdate) and not e.is_final
                    and e.segment_id == segment]
        assert partials and all(final.startswith(text) for text in partials), (segment, partials, final)


async def test_a_segment_ended_by_end_of_sentence_gives_text_and_speech_then_a_fresh_segment(tiny_engine, spanish):
    """The path real weights take at every sentence: </s> once the VAD has ended the input, then a clean reset."""
    session = tiny_engine.open_session(SessionSettings(target_language="eng"))
    with decoder_writes(tiny_engine) as writes:
        events = await feed(session, np.concatenate([spanish, spanish]))
    segments = by_segment(writes)
    assert len(segments) == 2
    for segment in segments:
        assert segment[-1].finished and segment[-1].source_finished  # ended by itself, not at a cap or a stall
        assert segment[0].written_before == 0  # the decoder started the segment afresh
    assert len(finals(events)) == 2 and all(finals(events))
    for segment_id in (1, 2):
        audio = [e for e in events if isinstance(e, SpeechAudio) and e.segment_id == segment_id]
        assert sum(len(e.samples) for e in audio) > 0 and audio[-1].is_last


async def test_a_segment_that_ends_by_itself_runs_the_encoder_no_more_than_upstreams_loop(tiny_engine, spanish):
    """Upstream stops pushing once every output says finished; one more pop re-encodes the whole segment."""
    from simuleval.data.segments import SpeechSegment

    utterance = np.concatenate([spanish, silence(1)])
    chunks = [utterance[start : start + CHUNK] for start in range(0, len(utterance) - CHUNK + 1, CHUNK)]
    agent = tiny_engine._agents.speech
    counter, hook = count_encoder_runs(tiny_engine)
    try:
        states = agent.build_states()
        for chunk in chunks:
            outputs = agent.pushpop(SpeechSegment(content=chunk, sample_rate=SAMPLE_RATE, finished=False,
                                                  tgt_lang="eng", config={"expressive": False}), states)
            if all(output.finished for output in outputs):
                break
        else:
            pytest.fail("upstream's pipeline never finished the segment")
        upstream = counter.runs
        counter.runs = 0
        events = await feed(tiny_engine.open_session(SessionSettings(target_language="eng")),
                            np.concatenate(chunks), frame=CHUNK, flush=False)
    finally:
        hook.remove()
    assert len(finals(events)) == 1
    assert counter.runs == upstream > 0


async def test_segment_ids_keep_increasing_across_a_reset(tiny_engine, spanish):
    session = tiny_engine.open_session(SessionSettings(target_language="eng"))
    abandoned = await feed(session, spanish[: SAMPLE_RATE * 2], flush=False)
    await session.reset()
    after = await feed(session, spanish)
    assert [e.segment_id for e in abandoned + after if isinstance(e, SpeechStarted)] == [1, 2]
    assert {e.segment_id for e in after if hasattr(e, "segment_id")} == {2}


async def test_a_word_split_across_two_steps_is_joined_as_one_word(tiny_engine, tiny_models, spanish):
    """The final text is SentencePiece's own decoding of every piece the decoder wrote in the segment."""
    import sentencepiece

    pieces = sentencepiece.SentencePieceProcessor(model_file=str(tiny_models.directory / "text.model"))
    session = tiny_engine.open_session(SessionSettings(target_language="eng"))
    with decoder_writes(tiny_engine) as writes:
        events = await feed(session, np.concatenate([spanish, spanish]))
    # The case itself: a step that goes on with a word the step before began.
    assert [w for w in writes if w.written_before and w.pieces and not w.pieces[0].startswith(WORD_START)]
    expected = [pieces.decode_pieces([p for write in segment for p in write.pieces]) for segment in by_segment(writes)]
    assert finals(events) == expected


async def test_the_pinned_silero_model_cuts_at_pauses_of_the_silence_limit_and_not_shorter(tiny_engine, spanish, french):
    """Upstream's VAD thresholds were set for Silero v4; the pinned v6 must still cut where they say (docs/seamless.md)."""
    speech_only = [spanish[SAMPLE_RATE // 2 : -SAMPLE_RATE], french[SAMPLE_RATE // 2 : -SAMPLE_RATE]]
    audio = np.concatenate([speech_only[0], silence(0.4), speech_only[1], silence(1.2), speech_only[0], silence(1.5)])
    events = await feed(tiny_engine.open_session(SessionSettings(target_language="eng", speech_output=False)), audio,
                        frame=CHUNK, flush=False)
    ends = [e.at_ms for e in events if isinstance(e, SpeechEnded)]
    first_long_pause_ms = (len(speech_only[0]) + int(0.4 * SAMPLE_RATE) + len(speech_only[1])) * 1000 // SAMPLE_RATE
    assert len(ends) == 2, ends  # not at the 0.4 s pause; at the 1.2 s pause and at the end
    assert first_long_pause_ms - 320 <= ends[0] <= first_long_pause_ms + 700


async def test_browser_sized_frames_cost_the_encoder_no_more_than_whole_320_ms_chunks_offline(tiny_engine, spanish):
    """Upstream re-encodes the whole segment on every call: small pushes repeat audio and multiply the work."""
    agent = tiny_engine._agents.speech
    counter, hook = count_encoder_runs(tiny_engine)
    try:
        from simuleval.data.segments import SpeechSegment

        states = agent.build_states()
        for start in range(0, len(spanish), 5120):  # upstream's streaming evaluation: source_segment_size 320 ms
            agent.pushpop(SpeechSegment(content=spanish[start : start + 5120], sample_rate=SAMPLE_RATE,
                                        finished=False, tgt_lang="eng", config={"expressive": False}), states)
        offline = EncoderRuns(counter.runs, counter.frames)
        counter.runs = counter.frames = 0
        await feed(tiny_engine.open_session(SessionSettings(target_language="eng")), spanish, flush=False)
    finally:
        hook.remove()
    assert offline.runs > 0
    assert counter.runs <= 1.5 * offline.runs, (counter, offline)
    assert counter.frames <= 1.5 * offline.frames, (counter, offline)


def settled_rss_mb() -> float:
    """RSS once freed memory is back with the system: glibc keeps freed blocks, which would be noise of a few MB."""
    import ctypes
    import gc

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_mb(os.getpid())


async def test_memory_stays_flat_over_many_spoken_segments(tiny_engine, spanish):
    """Speech, so that every agent runs (silence alone stops at the VAD); the bound is a quarter of the audio fed."""
    session = tiny_engine.open_session(SessionSettings(target_language="eng"))
    utterance = np.concatenate([spanish, silence(1)])
    for _ in range(4):  # the agents' first growth
        await feed(session, utterance, frame=CHUNK, flush=False)
    before = settled_rss_mb()
    segments = 0
    for _ in range(ROUNDS := 12):
        events = await feed(session, utterance, frame=CHUNK, flush=False)
        segments += len([e for e in events if isinstance(e, SpeechEnded)])
    grown = settled_rss_mb() - before
    fed_mb = ROUNDS * utterance.nbytes / 2**20
    assert segments == ROUNDS
    assert grown < fed_mb / 4, f"RSS grew {grown:.1f} MB over {segments} segments ({fed_mb:.1f} MB of audio)"


async def test_text_only_sessions_into_a_language_without_a_voice_get_text(tiny_engine, spanish):
    with pytest.raises(UnsupportedConfig, match="no speech output"):
        tiny_engine.open_session(SessionSettings(target_language=UNVOICED))
    session = tiny_engine.open_session(SessionSettings(target_language=UNVOICED, speech_output=False))
    events = await feed(session, spanish)
    assert finals(events) and all(finals(events))
    assert not [e for e in events if isinstance(e, SpeechAudio)]
    assert all(e.language == UNVOICED for e in events if isinstance(e, TranscriptUpdate))


async def test_reset_drops_everything_heard_so_far(tiny_engine, spanish):
    session = tiny_engine.open_session(SessionSettings(target_language="spa"))
    await feed(session, spanish[: SAMPLE_RATE * 2], flush=False)
    vad = session._stream._states[tiny_engine._agents.speech.source_module]
    assert not vad.is_fresh_state  # it heard speech
    # What upstream's VAD holds once a segment ended and speech goes on: its reset() would keep it.
    from simuleval.data.segments import SpeechSegment

    vad.next_input_queue.put_nowait(SpeechSegment(content=spanish[:5120], finished=False, tgt_lang="spa"))
    await session.reset()
    assert vad.input_queue.empty() and vad.next_input_queue.empty() and len(vad.input_chunk) == 0
    after = await feed(session, silence(3))
    assert not after, after


async def test_interleaved_streams_give_what_each_gives_alone(tiny_engine, spanish, french):
    async def run(audio: np.ndarray, target: str) -> list:
        return await feed(tiny_engine.open_session(SessionSettings(target_language=target)), audio)

    alone = [await run(spanish, "eng"), await run(french, "fra")]
    together = await asyncio.gather(run(spanish, "eng"), run(french, "fra"))
    for solo, mixed in zip(alone, together):
        assert finals(solo) == finals(mixed)
        assert len(solo) == len(mixed)
        for a, b in zip(solo, mixed):
            assert type(a) is type(b)
            if isinstance(a, SpeechAudio):
                np.testing.assert_allclose(a.samples, b.samples, atol=1e-5)


async def test_a_session_opens_no_socket(tiny_engine, spanish):
    """Upstream fetches Silero VAD through torch.hub for every stream: a GitHub probe on the inference thread."""
    seen: list[str] = []
    watching = True

    def audit(event: str, _args) -> None:
        if watching and event.startswith(("socket.", "urllib.")):
            seen.append(event)

    sys.addaudithook(audit)
    try:
        session = tiny_engine.open_session(SessionSettings(target_language="fra"))
        await feed(session, spanish)
        await session.reset()
    finally:
        watching = False
    assert not seen


async def test_a_monologue_is_cut_at_the_segment_cap(tiny_models, spanish):
    import dataclasses

    from inference.engines.seamless.settings import SeamlessSettings

    settings = dataclasses.replace(SeamlessSettings.from_environ(tiny_models.worker_environ()),
                                   max_segment_seconds=1.5)
    engine = SeamlessEngine(settings)
    engine.load()
    speech_only = spanish[SAMPLE_RATE // 2 : -SAMPLE_RATE]
    events = await feed(engine.open_session(SessionSettings(target_language="eng")),
                        np.concatenate([speech_only, speech_only]), flush=False)
    assert len([e for e in events if isinstance(e, SpeechEnded)]) >= 2


@pytest.mark.parametrize(("settings", "words"), [
    (SessionSettings(target_language="xxx"), "cannot translate into"),
    (SessionSettings(target_language=UNVOICED), "no speech output"),
    (SessionSettings(target_language="eng", source_language="qqq"), "unknown source language"),
])
def test_unsupported_requests_are_refused_with_a_reason(tiny_engine, settings, words):
    with pytest.raises(UnsupportedConfig, match=words):
        tiny_engine.open_session(settings)


def test_the_catalog_comes_from_the_model_cards(tiny_engine):
    catalog = tiny_engine.languages()
    assert catalog.speech_targets == VOICED
    assert catalog.targets == tuple(sorted((*VOICED, UNVOICED))) and not catalog.source_selectable


def test_the_real_model_cards_give_98_text_and_36_speech_languages_in_a_fresh_process():
    """Upstream registers its cards only when seamless_communication is imported; a fresh worker reads them first."""
    code = ("from inference.engines.seamless.pipeline import read_model_languages\n"
            "from inference.engines.seamless.settings import SeamlessSettings\n"
            "languages = read_model_languages(SeamlessSettings())\n"
            "print(len(languages.text), len(languages.speech), ' '.join(languages.speech))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    text, speech, codes = result.stdout.split(maxsplit=2)
    assert (int(text), int(speech)) == (98, 36)  # the tokenizer's text languages; speech input is any of ~100
    assert codes.split() == ("arb ben cat ces cmn cym dan deu eng est fin fra hin ind ita jpn kor mlt nld pes pol "
                             "por ron rus slk spa swe swh tel tgl tha tur ukr urd uzn vie").split()
