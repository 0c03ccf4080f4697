"""The batched path against upstream's serial pushpop, stream by stream, on the real agents (tiny random weights, fp32).

Upstream's agents are the oracle: an engine with ``S2ST_SEAMLESS_BATCHING=0`` runs
every stream through upstream's own ``pushpop``, one at a time. The batched engine
must give each stream exactly the same events (text, and speech sample for sample,
so the same units) while its streams share encoder batches.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from harness.tiny_models import UNVOICED
from tests.seamless.test_seamless_pipeline import SAMPLE_RATE, agent_module, decoder_writes, feed, finals, silence

from inference.engines.base import SessionSettings, SpeechAudio, SpeechStarted
from inference.engines.seamless import SeamlessEngine
from inference.engines.seamless.settings import SeamlessSettings


@pytest.fixture(scope="module")
def serial_engine(tiny_models) -> Iterator[SeamlessEngine]:
    """Upstream's own pushpop, one stream at a time: the oracle."""
    engine = SeamlessEngine(SeamlessSettings.from_environ({**tiny_models.worker_environ(),
                                                           "S2ST_SEAMLESS_BATCHING": "0"}))
    engine.load()
    yield engine


@contextmanager
def batch_sizes(module, argument: str | None = None) -> Iterator[list[int]]:
    """The batch size of every run of a model's module: of its first input, or of the one named (by keyword)."""
    sizes: list[int] = []

    def record(_module, inputs, kwargs) -> None:
        sizes.append(int((kwargs[argument] if argument else inputs[0]).shape[0]))

    hook = module.register_forward_pre_hook(record, with_kwargs=True)
    try:
        yield sizes
    finally:
        hook.remove()


def frontend_batches(engine: SeamlessEngine):
    """The batch size of every w2v-BERT frontend run of an engine."""
    return batch_sizes(agent_module(engine, "OfflineWav2VecBertEncoderAgent").model.speech_encoder_frontend)


def projection_batches(engine: SeamlessEngine):
    """The rows of every run of the text decoder's vocabulary projection (one per token step and stream)."""
    return batch_sizes(agent_module(engine, "UnitYMMATextDecoderAgent").model.final_proj)


def unit_decoder_batches(engine: SeamlessEngine):
    """The rows of every T2U run (upstream's policy passes its inputs by keyword)."""
    return batch_sizes(agent_module(engine, UNIT_DECODER).model, "text_decoder_output")


def vocoder_batches(engine: SeamlessEngine):
    """The rows of every vocoder run (its unit embedding's input)."""
    return batch_sizes(agent_module(engine, "VocoderAgent").vocoder.code_generator.dict)


@pytest.fixture
def encoder_batches(tiny_engine) -> Iterator[list[int]]:
    """The batch size of every w2v-BERT frontend run of the batched engine."""
    with frontend_batches(tiny_engine) as sizes:
        yield sizes


@contextmanager
def handed_to(engine: SeamlessEngine, agent_class: str) -> Iterator[dict[int, list]]:
    """Every non-empty segment content an agent is handed, by the id of the stream's states for that agent."""
    agent = agent_module(engine, agent_class)
    seen: dict[int, list] = {}

    def push(segment, states=None, upstream_states=None):
        if not segment.is_empty:
            content = segment.content
            seen.setdefault(id(states), []).append(content.clone() if hasattr(content, "clone") else content)
        return type(agent).push(agent, segment, states, upstream_states)

    agent.push = push
    try:
        yield seen
    finally:
        del agent.push


def encoder_outputs(engine: SeamlessEngine):
    """Every encoder output the text decoder agent is handed."""
    return handed_to(engine, "UnitYMMATextDecoderAgent")


def states_of(engine: SeamlessEngine, session, agent_class: str = "UnitYMMATextDecoderAgent") -> int:
    return id(session._stream._states[agent_module(engine, agent_class)])


def comparable(events: list) -> list[tuple]:
    """Every event as plain values, speech as its exact samples."""
    return [(type(e).__name__, *(tuple(v.tolist()) if isinstance(v, np.ndarray) else v
                                 for v in dataclasses.astuple(e))) for e in events]


async def streams_joining_leaving_and_resetting(engine: SeamlessEngine, spanish: np.ndarray,
                                                french: np.ndarray) -> list[tuple[list, object]]:
    """Four streams of different lengths at once: one joins mid-segment, one leaves mid-segment, one resets."""
    first_heard = asyncio.Event()

    async def two_segments() -> tuple[list, object]:
        session = engine.open_session(SessionSettings(target_language="eng"))
        events = []
        audio = np.concatenate([spanish, spanish, silence(1)])
        for start in range(0, len(audio), 320):
            events += await session.push(audio[start : start + 320])
            if any(isinstance(e, SpeechStarted) for e in events):
                first_heard.set()
        return events + await session.flush(), session

    async def joins_mid_segment() -> tuple[list, object]:
        await first_heard.wait()
        session = engine.open_session(SessionSettings(target_language="fra"))
        return await feed(session, french, frame=1600), session

    async def leaves_mid_segment() -> tuple[list, object]:
        session = engine.open_session(SessionSettings(target_language=UNVOICED, speech_output=False))
        events = await feed(session, spanish[: SAMPLE_RATE * 2], frame=SAMPLE_RATE * 2, flush=False)  # one job
        await session.close()
        return events, session

    async def resets_mid_segment() -> tuple[list, object]:
        session = engine.open_session(SessionSettings(target_language="spa"))
        events = await feed(session, french[: SAMPLE_RATE * 2], frame=3 * 5120, flush=False)
        await session.reset()
        return events + await feed(session, np.concatenate([silence(0.3), spanish]), frame=3 * 5120), session

    return list(await asyncio.gather(two_segments(), joins_mid_segment(), leaves_mid_segment(),
                                     resets_mid_segment()))


UNIT_DECODER = "NARUnitYUnitDecoderAgent"
ENCODER_TOLERANCE = 1e-5  # fp32: a padded batch sums in another order than a lone call (seen: 2e-6)


async def test_every_stream_gets_exactly_what_upstreams_serial_pushpop_gives_it(
        tiny_engine, serial_engine, encoder_batches, spanish, french):
    with encoder_outputs(serial_engine) as serial_encoded, frontend_batches(serial_engine) as serial_batches, \
            decoder_writes(serial_engine) as writes, projection_batches(serial_engine) as serial_projections:
        oracle = await streams_joining_leaving_and_resetting(serial_engine, spanish, french)
    assert serial_batches and set(serial_batches) == {1}  # S2ST_SEAMLESS_BATCHING=0: upstream's lone calls
    assert set(serial_projections) == {1}
    assert any(write.finished and write.source_finished for write in writes)  # a segment ended by itself
    encoder_batches.clear()
    with encoder_outputs(tiny_engine) as batched_encoded:
        batched = await streams_joining_leaving_and_resetting(tiny_engine, spanish, french)
    assert [len(finals(events)) for events, _ in oracle] == [2, 1, 0, 1]
    assert all(any(isinstance(e, SpeechAudio) and len(e.samples) for e in events)
               for events, _ in (oracle[0], oracle[1], oracle[3]))
    for stream, ((expected, serial_session), (got, batched_session)) in enumerate(zip(oracle, batched)):
        assert comparable(got) == comparable(expected), f"stream {stream}"
        theirs = serial_encoded[states_of(serial_engine, serial_session)]
        ours = batched_encoded[states_of(tiny_engine, batched_session)]
        assert [tuple(output.shape) for output in ours] == [tuple(output.shape) for output in theirs]
        worst = max(float((a - b).abs().max()) for a, b in zip(ours, theirs))
        assert worst <= ENCODER_TOLERANCE, f"stream {stream}: encoder output off by {worst}"
    assert max(encoder_batches) >= 2  # the streams really shared encoder batches


def test_the_batched_encoder_gives_each_input_what_upstreams_lone_call_gives_it(tiny_engine):
    """Lengths whose adaptor pooling window would read another input's padding in a naive padded batch.

    193 and 230 frames (97 and 115 after the frontend) share a batch with 240, whose padding the
    last pooling window of each would read; 64 and 449 are each too far from the others to share one.
    """
    import torch
    from fairseq2.nn.padding import get_seqs_and_padding_mask

    from inference.engines.seamless.batched import _Deferred, encode_each

    agent = agent_module(tiny_engine, "OfflineWav2VecBertEncoderAgent")
    generator = torch.Generator().manual_seed(29)
    calls = [_Deferred(*get_seqs_and_padding_mask(agent.collate(torch.randn(frames, 80, generator=generator))))
             for frames in (193, 240, 449, 230, 64)]
    with frontend_batches(tiny_engine) as batches, torch.inference_mode():
        together = encode_each(agent.model, calls)
        alone = [agent.model.encode_speech(call.seqs, call.padding_mask)[0] for call in calls]
    assert [tuple(output.shape) for output in together] == [tuple(output.shape) for output in alone]
    worst = max(float((a - b).abs().max()) for a, b in zip(together, alone))
    assert worst <= ENCODER_TOLERANCE
    assert sorted(batches[:3]) == [1, 1, 3]  # the three similar ones together, the others alone


async def streams_in_lockstep(engine: SeamlessEngine, streams: list[tuple[np.ndarray, str]]) -> list:
    """Streams each pushing its whole audio at once, their jobs queued before the model's thread takes one.

    So every round holds a step of each stream until it ends, and their decoder
    policies run in the same rounds whatever the machine's speed. Each stream's
    (events, session), or the error that ended it.
    """

    async def one(audio: np.ndarray, target: str) -> tuple[list, object]:
        session = engine.open_session(SessionSettings(target_language=target))
        return await feed(session, audio, frame=len(audio)), session

    gate = threading.Event()
    held = asyncio.ensure_future(engine._runner.call(gate.wait))  # the thread waits while the jobs queue
    await asyncio.sleep(0)
    results = asyncio.gather(*(one(audio, target) for audio, target in streams), return_exceptions=True)
    asyncio.get_running_loop().call_soon(gate.set)  # after each stream's first step has queued its job
    await held
    return list(await results)


def four_streams(spanish: np.ndarray, french: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Different audio, phases and targets; the last is the first one's twin, its units as many in the same rounds."""
    return [(spanish, "eng"), (french, "fra"), (np.concatenate([silence(0.5), spanish]), "spa"), (spanish, "eng")]


async def test_streams_stepped_in_the_same_rounds_get_what_upstream_gives_each(
        tiny_engine, serial_engine, spanish, french, monkeypatch):
    """The text decoder's writes (tokens, and the features the unit decoder reads) and every event, speech
    sample for sample, per stream, while their decoder token steps and vocoder calls share batches."""
    import torch
    from simuleval.data.segments import TextSegment

    from inference.engines.seamless import batched

    with handed_to(serial_engine, UNIT_DECODER) as serial_written, vocoder_batches(serial_engine) as serial_vocoded, \
            unit_decoder_batches(serial_engine) as serial_units:
        oracle = await streams_in_lockstep(serial_engine, four_streams(spanish, french))
    together_writes: list[int] = []  # per pop_together call: how many streams wrote text in it

    def recorded(agent, all_states):
        popped = batched_pop_together(agent, all_states)
        together_writes.append(sum(isinstance(s, TextSegment) and len(s.content.tokens) > 0 for s in popped))
        return popped

    batched_pop_together = batched.pop_together
    monkeypatch.setattr(batched, "pop_together", recorded)
    with projection_batches(tiny_engine) as projections, handed_to(tiny_engine, UNIT_DECODER) as written, \
            vocoder_batches(tiny_engine) as vocoded, unit_decoder_batches(tiny_engine) as units:
        got = await streams_in_lockstep(tiny_engine, four_streams(spanish, french))
    assert all(finals(events) for events, _ in oracle)
    for stream, ((expected, serial_session), (events, session)) in enumerate(zip(oracle, got)):
        assert comparable(events) == comparable(expected), f"stream {stream}"
        theirs = serial_written[states_of(serial_engine, serial_session, UNIT_DECODER)]
        ours = written[states_of(tiny_engine, session, UNIT_DECODER)]
        assert [(w.tokens, w.target_indices.tolist()) for w in ours] == \
            [(w.tokens, w.target_indices.tolist()) for w in theirs], f"stream {stream}"
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a.decoder_features, b.decoder_features, rtol=ENCODER_TOLERANCE,
                                       atol=ENCODER_TOLERANCE)
    assert max(together_writes) >= 2  # two streams wrote text from one batched decode
    assert max(projections) == 4
    assert max(vocoded) >= 2  # the twins' units, vocoded in one batch
    assert sum(vocoded) == len(serial_vocoded)  # and each stream's units vocoded once: the pops took the batch's
    assert max(units) >= 2 and sum(units) == len(serial_units)  # the same for the T2U


def test_the_batched_unit_decoder_gives_each_stream_what_its_lone_call_gives_it(tiny_engine):
    """Three streams' T2U inputs of other lengths (so other token, character and unit counts: padding at each).

    Each row's units, logits and durations are what upstream's lone call gives that stream.
    """
    import torch

    from inference.engines.seamless.precomputed import Precomputed
    from inference.engines.seamless.unit_decoder import decode_units_together

    agent = agent_module(tiny_engine, UNIT_DECODER)
    prefix = list(agent_module(tiny_engine, "UnitYMMATextDecoderAgent").prefix_indices)
    generator = torch.Generator().manual_seed(29)
    dim = agent.model.model_dim
    all_states = []
    for count in (6, 8, 7):
        states = agent.build_states()
        tokens = prefix + torch.randint(10, 200, (count,), generator=generator).tolist()
        states.source = torch.randn(1, len(tokens), dim, generator=generator)  # a feature per token, as written
        states.source_indices = torch.tensor([tokens])
        states.source_token_list = ["a", "b"]
        all_states.append(states)
    with unit_decoder_batches(tiny_engine) as batches, torch.inference_mode():
        outputs = decode_units_together(agent, all_states)
        lookup = Precomputed(None, outputs, "text_decoder_output")
        for states in all_states:
            arguments = {"text_decoder_output": states.source, "text_decoder_padding_mask": None,
                         "text_seqs": states.source_indices, "duration_factor": agent.d_factor}
            (output, _, durations), (alone, _, alone_durations) = lookup(**arguments), agent.model(**arguments)
            assert durations.tolist() == alone_durations.tolist()
            assert output.logits.shape == alone.logits.shape
            assert output.logits.argmax(-1).tolist() == alone.logits.argmax(-1).tolist()
            torch.testing.assert_close(output.logits, alone.logits, rtol=ENCODER_TOLERANCE, atol=ENCODER_TOLERANCE)
    assert batches == [3, 1, 1, 1]  # one batch, then the lone calls to compare with
    assert len({int(durations.sum()) for durations in (agent.model(
        text_decoder_output=states.source, text_decoder_padding_mask=None, text_seqs=states.source_indices,
        duration_factor=agent.d_factor)[2] for states in all_states)}) > 1  # the rows had padding to mask


def test_the_batched_vocoder_gives_each_stream_what_its_lone_call_gives_it(tiny_engine):
    """Three streams with as many new units, in three languages, share a call; a fourth, longer, is left alone."""
    import torch

    from inference.engines.seamless.precomputed import Precomputed
    from inference.engines.seamless.vocoder import vocode_together

    agent = agent_module(tiny_engine, "VocoderAgent")
    generator = torch.Generator().manual_seed(29)
    units = agent.vocoder.code_generator.dict.num_embeddings
    all_states = []
    for count, lang in ((12, "eng"), (12, "fra"), (19, "spa"), (12, "spa")):
        states = agent.build_states()
        states.source, states.tgt_lang = [torch.randint(0, units, (1, count), generator=generator)], lang
        all_states.append(states)
    with vocoder_batches(tiny_engine) as batches, torch.inference_mode():
        waveforms = vocode_together(agent, all_states)
        alone = [agent.vocoder(states.source[0][0], states.tgt_lang, agent.speaker_id, dur_prediction=False)
                 for states in all_states]
    assert batches[0] == 3
    assert len(waveforms) == 3
    lookup = Precomputed(None, waveforms, "units")  # what the agents' pops call: each finds its own waveform
    for index in (0, 1, 3):
        states = all_states[index]
        got = lookup(states.source[0][0], states.tgt_lang, agent.speaker_id, dur_prediction=False)
        torch.testing.assert_close(got, alone[index], rtol=0, atol=0)


async def test_a_decoder_fault_in_one_stream_of_a_batch_ends_that_stream_only(
        tiny_engine, serial_engine, spanish, french, monkeypatch):
    """A decoder frontend that fails on every token step of the stream into Spanish (a fake at the model boundary).

    Its twin into English and a French stream decode in the same rounds: the fault hits
    a shared batch, ends the Spanish stream with its error, and the other two get what
    upstream's serial pushpop gives them.
    """
    import weakref

    decoder = agent_module(tiny_engine, "UnitYMMATextDecoderAgent")
    frontend = decoder.model.text_decoder_frontend
    spanish_tag = decoder.text_tokenizer.model.token_to_index("__spa__")
    real_forward = frontend.forward
    faulty_bags: weakref.WeakSet = weakref.WeakSet()  # the state bags of the Spanish stream's policy calls
    faults: list[int] = []

    def failing_for_the_spanish_target(seqs, padding_mask, state_bag=None):
        if seqs.size(1) > 1 and spanish_tag in seqs[0].tolist():  # its prefill: the target prefix
            faulty_bags.add(state_bag)
        elif state_bag in faulty_bags:
            faults.append(len(faults))
            raise ValueError("the injected fault: a runaway decode")
        return real_forward(seqs, padding_mask, state_bag=state_bag)

    healthy = [(spanish, "eng"), (french, "fra")]
    oracle = await streams_in_lockstep(serial_engine, healthy)
    monkeypatch.setattr(frontend, "forward", failing_for_the_spanish_target)
    with projection_batches(tiny_engine) as projections:
        first, faulty, second = await streams_in_lockstep(tiny_engine, [healthy[0], (spanish, "spa"), healthy[1]])
    assert isinstance(faulty, ValueError) and "injected fault" in str(faulty)
    assert len(faults) == 2  # once in a batch of token steps, then alone
    assert max(projections) >= 2
    for stream, ((expected, _), (got, _)) in enumerate(zip(oracle, [first, second])):
        assert comparable(got) == comparable(expected), f"stream {stream}"


TOKEN_STEP_STREAMS = ((7, 0, "eng"), (33, 9, "fra"), (19, 3, "spa"))  # source frames, tokens written, target


def prefilled_decoder_calls(decoder) -> list:
    """A token step's call for each of TOKEN_STEP_STREAMS, after upstream's own prefill on its own bag."""
    import torch
    from fairseq2.nn.incremental_state import IncrementalStateBag

    from inference.engines.seamless.text_decoder import DecoderCall, run_alone

    generator = torch.Generator().manual_seed(29)
    calls = []
    for frames, written, lang in TOKEN_STEP_STREAMS:
        states = decoder.build_states()
        states.source = torch.randn(1, frames, decoder.model.text_decoder.model_dim, generator=generator)
        states.source_len, states.tgt_lang = frames, lang
        states.target_indices = torch.randint(10, 200, (written,), generator=generator).tolist()
        call = DecoderCall(states, IncrementalStateBag(4096), [])
        index, _, _ = run_alone(decoder, call)
        call.bag.increment_step_nr(len(decoder.prefix_indices) + written)
        call.pred_indices = [index]
        calls.append(call)
    return calls


def assert_same_steps(got: list, expected: list) -> None:
    """The same token, and write probability and decoder output up to fp32 summation order."""
    import torch

    for (index, prob, output), (their_index, their_prob, their_output) in zip(got, expected, strict=True):
        assert index == their_index
        assert abs(prob - their_prob) <= ENCODER_TOLERANCE
        torch.testing.assert_close(output, their_output, rtol=ENCODER_TOLERANCE, atol=ENCODER_TOLERANCE)


def next_token_steps(calls: list, results: list) -> None:
    for call, (index, _, _) in zip(calls, results):
        call.pred_indices.append(index)
        call.bag.increment_step_nr()


def test_batched_token_steps_give_each_stream_what_upstreams_run_decoder_gives_it(tiny_engine):
    """Streams at different source lengths, written lengths and targets, several token steps in a row.

    Each stream's step in the batch must give what upstream's ``run_decoder`` gives it on
    its own cache, and leave the same cache for the next step.
    """
    import torch

    from inference.engines.seamless.text_decoder import decode_together, run_alone

    decoder = agent_module(tiny_engine, "UnitYMMATextDecoderAgent")
    with torch.inference_mode():
        together, alone = prefilled_decoder_calls(decoder), prefilled_decoder_calls(decoder)
        for _ in range(3):
            expected = [run_alone(decoder, call) for call in alone]
            assert_same_steps(decode_together(decoder, together), expected)
            next_token_steps(together, expected)
            next_token_steps(alone, expected)


def test_a_fault_in_one_streams_token_step_fails_that_stream_only(tiny_engine, monkeypatch):
    """A decoder frontend that fails on one stream's token (a fake at the model boundary), inside a batch.

    The batch is run again call by call: the faulty stream's step gets the error, the
    others get what upstream gives them alone, and their caches are appended once, so
    their next batched step is right too.
    """
    import torch

    from inference.engines.seamless.text_decoder import decode_each, run_alone

    decoder = agent_module(tiny_engine, "UnitYMMATextDecoderAgent")
    with torch.inference_mode():
        together, alone = prefilled_decoder_calls(decoder), prefilled_decoder_calls(decoder)
        frontend, faulty = decoder.model.text_decoder_frontend, together[1]
        real_forward, faults = frontend.forward, []

        def failing_for_one_stream(seqs, padding_mask, state_bag=None):
            if state_bag is faulty.bag:
                faults.append(int(seqs.size(0)))
                raise ValueError("the injected fault: a runaway decode")
            return real_forward(seqs, padding_mask, state_bag=state_bag)

        monkeypatch.setattr(frontend, "forward", failing_for_one_stream)
        results = decode_each(decoder, together)
        assert isinstance(results[1], ValueError) and "injected fault" in str(results[1])
        assert len(faults) == 2  # once in the batch, once alone
        healthy, healthy_alone = [together[0], together[2]], [alone[0], alone[2]]
        expected = [run_alone(decoder, call) for call in healthy_alone]
        assert_same_steps([results[0], results[2]], expected)
        for _ in range(2):
            next_token_steps(healthy, expected)
            next_token_steps(healthy_alone, expected)
            expected = [run_alone(decoder, call) for call in healthy_alone]
            assert_same_steps(decode_each(decoder, healthy), expected)


async def test_a_fault_in_one_stream_of_a_batch_ends_that_stream_only(tiny_engine, serial_engine, spanish, french,
                                                                      encoder_batches, monkeypatch):
    """A frontend that fails on one stream's input (a fake at the model boundary): the batch runs on without it."""
    import torch

    frontend = agent_module(tiny_engine, "OfflineWav2VecBertEncoderAgent").model.speech_encoder_frontend
    real_forward = frontend.forward

    def failing_on_infinity(seqs, padding_mask):
        if torch.isinf(seqs).any():
            raise ValueError("the injected fault: an infinite feature")
        return real_forward(seqs, padding_mask)

    monkeypatch.setattr(frontend, "forward", failing_on_infinity)
    encoder = agent_module(tiny_engine, "OfflineWav2VecBertEncoderAgent")
    two_seconds = SAMPLE_RATE * 2

    async def healthy_stream(engine: SeamlessEngine, beside_a_faulty_one: bool) -> tuple[list, object]:
        """Two seconds in, then the rest; with a faulty stream as far into its segment beside it."""
        session = engine.open_session(SessionSettings(target_language="eng"))
        events = await feed(session, spanish[:two_seconds], frame=5120, flush=False)
        if not beside_a_faulty_one:
            return events + await feed(session, spanish[two_seconds:], frame=5120), None
        faulty = engine.open_session(SessionSettings(target_language="eng"))
        await feed(faulty, french[:two_seconds], frame=5120, flush=False)
        source = faulty._stream._states[encoder].source
        assert source  # it has speech to encode
        source[0] = torch.full_like(source[0], float("inf"))
        rest, fault = await asyncio.gather(feed(session, spanish[two_seconds:], frame=5120),
                                           feed(faulty, french[two_seconds:], frame=5120), return_exceptions=True)
        return events + rest, fault

    expected, _ = await healthy_stream(serial_engine, beside_a_faulty_one=False)
    encoder_batches.clear()
    got, fault = await healthy_stream(tiny_engine, beside_a_faulty_one=True)
    assert isinstance(fault, ValueError) and "injected fault" in str(fault)
    assert max(encoder_batches) >= 2  # the fault hit a shared batch
    assert comparable(got) == comparable(expected)


async def served_first(engine: SeamlessEngine, spanish: np.ndarray) -> list[str]:
    """One stream pushes 9 s of speech in one job; once its encoder has run, another pushes one 320 ms chunk.

    Which push comes back first.
    """
    done: list[str] = []
    long = engine.open_session(SessionSettings(target_language="eng"))
    late = engine.open_session(SessionSettings(target_language="eng"))

    async def long_job() -> None:
        await long.push(np.concatenate([spanish, spanish]))
        done.append("long")

    async def late_chunk(encoder_runs: list[int]) -> None:
        deadline = asyncio.get_running_loop().time() + 120
        while not encoder_runs:  # the long job is under way, with most of its steps still to come
            assert asyncio.get_running_loop().time() < deadline, "the long job never reached the encoder"
            await asyncio.sleep(0.01)
        await late.push(spanish[:5120])
        done.append("late")

    with frontend_batches(engine) as encoder_runs:
        await asyncio.gather(long_job(), late_chunk(encoder_runs))
    return done


async def test_a_stream_whose_audio_comes_late_waits_one_round_not_for_anothers_whole_job(
        tiny_engine, serial_engine, spanish):
    """Nobody waits for a late stream, and a late stream waits for the round in progress only.

    The serial path (S2ST_SEAMLESS_BATCHING=0) queues its chunk behind the other's job.
    """
    assert await served_first(serial_engine, spanish) == ["long", "late"]
    assert await served_first(tiny_engine, spanish) == ["late", "long"]
