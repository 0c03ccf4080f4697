"""Property-based fuzzing of the worker's Translate stream (hypothesis, bounded), called as any service would.

Whatever requests a caller sends (configs with any fields, audio of any size,
unknown control actions, configs out of place, calls abandoned midway, raw bytes
that are no valid request at all) the call
ends OK or with a client error, never INTERNAL or UNKNOWN, and the worker goes
on serving: health SERVING and no session left behind.
"""

from __future__ import annotations

import threading
import time

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import event as label
from hypothesis import strategies as st
from harness.servers import worker_serving

from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc
from s2st.v1.limits import MAX_CHUNK_BYTES

CLIENT_ERRORS = (grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED)
CALL_TIMEOUT_S = 10.0
SESSIONS_FREED_WITHIN_S = 3.0
ABANDON_AFTER_S = 0.02
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))

# All of Unicode that protobuf strings carry (every code point but surrogates, which Python's protobuf
# refuses to encode; the raw-bytes test below sends bad UTF-8 instead), any uint32, any enum value.
languages = st.sampled_from(["eng", "spa", "", "x" * 16, "x" * 17, "ünï"]) | st.text(max_size=20)
configs = st.builds(
    pb.SessionConfig,
    target_language=languages,
    source_language=languages,
    sample_rate_hz=st.sampled_from([0, 8_000, 16_000, 48_000, 7_999, 48_001]) | st.integers(0, 2**32 - 1),
    encoding=st.integers(-(2**31), 2**31 - 1),  # proto3 enums are open: unknown values reach the servicer
    engine_options=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3)
    | st.dictionaries(st.text(min_size=250, max_size=260), st.just("v"), max_size=1)
    | st.dictionaries(st.text(max_size=3), st.just(""), min_size=17, max_size=18),
    client_label=st.text(max_size=80),
    speech_output=st.none() | st.booleans(),
)
pcm_sizes = st.one_of(
    st.integers(0, 4000),
    st.integers(MAX_CHUNK_BYTES - 2, MAX_CHUNK_BYTES + 2),
    st.integers(69_000, 80_000),  # past the transport's message limit: RESOURCE_EXHAUSTED
)
requests = st.one_of(
    configs.map(lambda c: pb.TranslateRequest(config=c)),
    pcm_sizes.map(lambda n: pb.TranslateRequest(audio=pb.AudioChunk(pcm=b"\x01" * n))),
    st.integers(-(2**31), 2**31 - 1).map(lambda a: pb.TranslateRequest(control=pb.Control(action=a))),
    st.just(pb.TranslateRequest()),  # no oneof set at all
)
VALID_CONFIG = pb.TranslateRequest(config=pb.SessionConfig(target_language="eng"))
# Half the sequences open properly, so that the fuzzed requests reach a live stream.
sequences = st.tuples(st.booleans(), st.lists(requests, min_size=0, max_size=8)).map(
    lambda opened_and_rest: [VALID_CONFIG] * opened_and_rest[0] + opened_and_rest[1])


def call_through(address: str, sequence: list[pb.TranslateRequest], abandon: bool) -> grpc.StatusCode:
    """Send the sequence and half-close (or, abandoning, hang up without a word); return the call's status."""
    hang_up = threading.Event()

    def outgoing():
        yield from sequence
        if abandon:
            hang_up.wait(CALL_TIMEOUT_S)

    # The blocking client: grpc.aio channels must not outlive their event loop, and hypothesis calls this many times.
    with grpc.insecure_channel(address) as channel:
        call = pb_grpc.TranslatorStub(channel).Translate(outgoing(), timeout=CALL_TIMEOUT_S)
        try:
            if abandon:
                time.sleep(ABANDON_AFTER_S)
                call.cancel()
            for _ in call:
                pass
        except grpc.RpcError:
            pass
        finally:
            hang_up.set()
        return call.code()


def active_sessions_after(worker, within_s: float) -> float:
    deadline = time.monotonic() + within_s
    while (active := worker.metric("s2st_worker_active_sessions")) != 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    return active


@FUZZ
@given(sequences, st.booleans())
def test_any_request_sequence_ends_ok_or_with_a_client_error_and_the_worker_serves_on(echo_worker, sequence,
                                                                                      abandon):
    code = call_through(echo_worker.address, sequence, abandon)
    label(f"{'abandoned' if abandon else 'half-closed'}: {code.name}")
    if abandon:
        assert code in (*CLIENT_ERRORS, grpc.StatusCode.CANCELLED), code
    else:
        assert code in CLIENT_ERRORS, code
    assert worker_serving(echo_worker.address)
    assert active_sessions_after(echo_worker, SESSIONS_FREED_WITHIN_S) == 0


def raw_call_through(address: str, messages: list[bytes]) -> grpc.StatusCode:
    """Send messages as raw bytes on the wire (no client-side encoding); return the call's status."""
    with grpc.insecure_channel(address) as channel:
        translate = channel.stream_stream("/s2st.v1.Translator/Translate", request_serializer=None,
                                          response_deserializer=None)
        call = translate(iter(messages), timeout=CALL_TIMEOUT_S)
        try:
            for _ in call:
                pass
        except grpc.RpcError:
            pass
        return call.code()


def with_string_field(field: int, value: bytes) -> bytes:
    """A TranslateRequest whose config's string field `field` holds raw bytes (bad UTF-8, say)."""
    inner = bytes([field << 3 | 2, len(value)]) + value
    return bytes([0x0A, len(inner)]) + inner


raw_messages = st.one_of(
    st.binary(max_size=64),  # garbage
    requests.map(lambda r: r.SerializeToString()).flatmap(  # a real request with bytes flipped
        lambda data: st.integers(0, max(0, len(data) - 1)).map(
            lambda i: data[:i] + bytes([(data[i] ^ 0xFF) if data else 0]) + data[i + 1:]) if data else st.just(data)),
    st.sampled_from([1, 2, 6]).flatmap(  # target, source language, client label: invalid UTF-8
        lambda field: st.binary(min_size=1, max_size=8).map(lambda b: with_string_field(field, b"\xff" + b))),
)


@FUZZ
@given(st.lists(raw_messages, min_size=1, max_size=4), st.booleans())
def test_any_bytes_on_the_wire_end_with_a_client_error_and_the_worker_serves_on(echo_worker, messages, opened):
    code = raw_call_through(echo_worker.address, [VALID_CONFIG.SerializeToString()] * opened + messages)
    label(f"raw: {code.name}")
    assert code in CLIENT_ERRORS, code
    assert worker_serving(echo_worker.address)
    assert active_sessions_after(echo_worker, SESSIONS_FREED_WITHIN_S) == 0
