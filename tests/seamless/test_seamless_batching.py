"""The batched path against upstream's serial pushpop, stream by stream, on the real agents (tiny random weights, fp32).

Upstream's agents are the oracle: an engine with ``S2ST_SEAMLESS_BATCHING=0`` runs
every stream through upstream's own ``pushpop``, one at a time. The batched engine
must give each stream exactly the same events (text, and speech sample for sample,
so the same units) while its streams share encoder batches.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from tests.harness.tiny_models import UNVOICED
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
def frontend_batches(engine: SeamlessEngine) -> Iterator[list[int]]:
    """The batch size of every w2v-BERT frontend run of an engine."""
    sizes: list[int] = []
    frontend = agent_module(engine, "OfflineWav2VecBertEncoderAgent").model.speech_encoder_frontend
    hook = frontend.register_forward_pre_hook(lambda _module, inputs: sizes.append(int(inputs[0].shape[0])))
    try:
        yield sizes
    finally:
        hook.remove()


@pytest.fixture
def encoder_batches(tiny_engine) -> Iterator[list[int]]:
    """The batch size of every w2v-BERT frontend run of the batched engine."""
    with frontend_batches(tiny_engine) as sizes:
        yield sizes


@contextmanager
def encoder_outputs(engine: SeamlessEngine) -> Iterator[dict[int, list]]:
    """Every encoder output the text decoder agent is handed, by the id of the stream's decoder states."""
    decoder = agent_module(engine, "UnitYMMATextDecoderAgent")
    seen: dict[int, list] = {}

    def push(segment, states=None, upstream_states=None):
        if not segment.is_empty:
            seen.setdefault(id(states), []).append(segment.content.clone())
        return type(decoder).push(decoder, segment, states, upstream_states)

    decoder.push = push
    try:
        yield seen
    finally:
        del decoder.push


def decoder_states(engine: SeamlessEngine, session) -> int:
    return id(session._stream._states[agent_module(engine, "UnitYMMATextDecoderAgent")])


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


ENCODER_TOLERANCE = 1e-5  # fp32: a padded batch sums in another order than a lone call (seen: 2e-6)


async def test_every_stream_gets_exactly_what_upstreams_serial_pushpop_gives_it(
        tiny_engine, serial_engine, encoder_batches, spanish, french):
    with encoder_outputs(serial_engine) as serial_encoded, frontend_batches(serial_engine) as serial_batches:
        oracle = await streams_joining_leaving_and_resetting(serial_engine, spanish, french)
    assert serial_batches and set(serial_batches) == {1}  # S2ST_SEAMLESS_BATCHING=0: upstream's lone calls
    encoder_batches.clear()
    with decoder_writes(tiny_engine) as writes, encoder_outputs(tiny_engine) as batched_encoded:
        batched = await streams_joining_leaving_and_resetting(tiny_engine, spanish, french)
    assert any(write.finished and write.source_finished for write in writes)  # a segment ended by itself
    assert [len(finals(events)) for events, _ in oracle] == [2, 1, 0, 1]
    assert all(any(isinstance(e, SpeechAudio) and len(e.samples) for e in events)
               for events, _ in (oracle[0], oracle[1], oracle[3]))
    for stream, ((expected, serial_session), (got, batched_session)) in enumerate(zip(oracle, batched)):
        assert comparable(got) == comparable(expected), f"stream {stream}"
        theirs = serial_encoded[decoder_states(serial_engine, serial_session)]
        ours = batched_encoded[decoder_states(tiny_engine, batched_session)]
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
