"""Property-based fuzzing of the message handlers (hypothesis, bounded): nothing but documented errors."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsclient import ProtocolClient, connect

from gateway.protocol import ProtocolError, check_audio, parse_text
from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc

DOCUMENTED_CODES = set(re.findall(r"^\| `([a-z_]+)` \|", (Path(__file__).resolve().parent.parent / "docs" /
                                                           "protocol.md").read_text(), re.M))
BOUNDED = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8),
                                                                                               children, max_size=3),
                           max_leaves=8)
messages = st.fixed_dictionaries({"type": st.sampled_from(["start", "reset", "stop", "dance", ""])},
                                 optional={"target_language": json_values, "source_language": json_values,
                                           "sample_rate": json_values, "speech_output": json_values,
                                           "options": json_values, "client_label": json_values})
text_frames = st.one_of(messages.map(json.dumps), st.text(max_size=60), json_values.map(json.dumps))
binary_frames = st.binary(max_size=80) | st.integers(65530, 65540).map(lambda n: b"\x00" * n)


@BOUNDED
@given(text_frames)
def test_parse_text_only_raises_documented_protocol_errors(text):
    try:
        parse_text(text)
    except ProtocolError as error:
        assert error.code in DOCUMENTED_CODES


@BOUNDED
@given(st.binary(max_size=70000))
def test_check_audio_only_raises_documented_protocol_errors(frame):
    try:
        check_audio(frame, 65536)
    except ProtocolError as error:
        assert error.code in DOCUMENTED_CODES


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(text_frames | binary_frames, min_size=1, max_size=8))
def test_any_frame_sequence_gets_documented_errors_and_the_socket_stays_usable(echo_gateway, frames):
    async def scenario() -> None:
        async with connect(echo_gateway.ws_url) as ws:
            client = ProtocolClient(ws)
            for frame in frames:
                await client.send(frame)
            await client.send({"type": "stop"})  # ends whatever session the frames started
            await client.send({"type": "start", "target_language": "eng"})
            await client.until_any(("ready",))
            client.audio.clear()
            await client.send(b"\x07\x00" * 160)
            await client.send({"type": "stop"})
            await client.until("ended")
            assert client.received_pcm().endswith(b"\x07\x00" * 160)
            codes = {e["code"] for e in client.events if e["type"] == "error"}
            assert codes <= DOCUMENTED_CODES, codes

    asyncio.run(scenario())


configs = st.builds(
    pb.SessionConfig,
    target_language=st.text(max_size=20),
    source_language=st.text(max_size=20),
    sample_rate_hz=st.integers(0, 200_000),
    encoding=st.integers(0, 3),
    engine_options=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    client_label=st.text(max_size=80),
)
requests = st.one_of(
    configs.map(lambda c: pb.TranslateRequest(config=c)),
    st.binary(max_size=2000).map(lambda b: pb.TranslateRequest(audio=pb.AudioChunk(pcm=b))),
    st.integers(0, 5).map(lambda a: pb.TranslateRequest(control=pb.Control(action=a))),
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(requests, min_size=1, max_size=6))
def test_any_request_sequence_ends_ok_or_with_a_client_error_and_the_worker_serves_on(echo_worker, sequence):
    # The blocking client: grpc.aio channels must not outlive their event loop, and hypothesis calls this many times.
    with grpc.insecure_channel(echo_worker.address) as channel:
        try:
            for _ in pb_grpc.TranslatorStub(channel).Translate(iter(sequence), timeout=10):
                pass
            code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            code = error.code()
    assert code in (grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED), code


def test_after_fuzzing_the_worker_holds_no_sessions(echo_worker):
    end = time.monotonic() + 5
    while echo_worker.metric("s2st_worker_active_sessions") != 0 and time.monotonic() < end:
        time.sleep(0.05)
    assert echo_worker.metric("s2st_worker_active_sessions") == 0
