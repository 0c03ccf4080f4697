"""Property-based fuzzing of the browser protocol (hypothesis, bounded): only documented errors, the socket lives on.

The frame parser is fuzzed as pure functions, then the whole /ws handler over a
real gateway and echo worker: whatever a client sends, every `error` event
carries a code (and fatality) from docs/protocol.md, the socket stays open, and
a clean start / audio / stop still round-trips afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as label
from hypothesis import strategies as st
from harness.wsclient import ProtocolClient, connect

from gateway.protocol import MAX_TEXT_FRAME_BYTES, ClientMessage, ProtocolError, check_audio, parse_text

PROTOCOL_DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
# code -> fatal, read from the error table of docs/protocol.md (`| \`busy\` | yes | ...`).
DOCUMENTED_ERRORS = {code: fatal == "yes" for code, fatal in
                     re.findall(r"^\| `([a-z_]+)` \| (yes|no) \|", PROTOCOL_DOC.read_text(), re.M)}
# The gateway's own limit (S2ST_WS_MAX_FRAME_BYTES default); frames over 1 MiB close the socket, so stay under.
MAX_FRAME_BYTES = 65_536
# Several seconds per test in all: enough examples to hit every branch, few enough for a 2-core CI box.
PURE = settings(max_examples=500, deadline=None)
OVER_THE_SOCKET = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
ROUND_TRIP_TIMEOUT_S = 10.0

# The whole value space JSON can carry: every code point (lone surrogates too, which JSON escapes
# such as \ud800 deliver), unbounded integers, every float (NaN and infinities parse too).
any_text = st.text(st.characters(exclude_categories=()), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3),
    max_leaves=8,
)
# Nesting around and far past the parser's recursion limit, within the text frame limit.
deep_nesting = st.integers(1, 2000).flatmap(lambda depth: st.sampled_from([
    "[" * depth + "]" * depth,
    '{"a":' * (depth // 3) + "0" + "}" * (depth // 3),
    '{"type":"start","target_language":' + "[" * depth + "]" * depth + "}",
]))
# Mostly plausible values, so that sessions really start and the frames after them reach a worker.
start_fields = {
    "target_language": st.sampled_from(["eng", "spa", "", "x" * 17]) | json_values,
    "source_language": st.sampled_from(["spa", "", None]) | json_values,
    "sample_rate": st.sampled_from([16_000, 8_000, 48_000, 7_999, 48_001, 0, -1]) | json_values,
    "speech_output": st.booleans() | json_values,
    "options": st.dictionaries(any_text, any_text, max_size=2) | json_values,
    "client_label": any_text | json_values,
}
room_fields = {
    "languages": st.sampled_from([["eng"], ["eng", "fra"], [], ["eng", "eng"], ["a", "b", "c", "d", "e"]]) | json_values,
    "key": any_text | json_values,
}
message_types = ["start", "reset", "stop", "create_room", "speak", "join", "check_link", "leave", "revoke_listener_link", "end_room",
                 "dance", "", "START"]
messages = st.fixed_dictionaries({"type": st.sampled_from(message_types) | json_values},
                                 optional={**start_fields, **room_fields})
# A valid start with one field replaced: reaches the worker's checks as often as the gateway's.
one_odd_field = st.sampled_from(sorted(start_fields)).flatmap(
    lambda name: start_fields[name].map(lambda value: {"type": "start", "target_language": "eng", name: value}))
text_frames = st.one_of(
    messages.map(json.dumps),
    one_odd_field.map(json.dumps),
    st.just(json.dumps({"type": "start", "target_language": "eng"})),
    st.text(max_size=60),  # sent raw: the socket carries UTF-8 only, so no lone surrogates here
    json_values.map(json.dumps),
    deep_nesting,
    st.integers(MAX_TEXT_FRAME_BYTES - 20, MAX_TEXT_FRAME_BYTES + 20).map(
        lambda n: json.dumps({"type": "reset", "pad": "x" * n})),
)
binary_frames = st.one_of(
    st.binary(max_size=64),  # empty, odd and tiny frames
    st.integers(1, 4000).map(lambda n: b"\x01" * n),
    st.integers(MAX_FRAME_BYTES - 3, MAX_FRAME_BYTES + 3).map(lambda n: b"\x00" * n),
    st.integers(MAX_FRAME_BYTES + 4, 200_000).map(lambda n: b"\x00" * n),
)
probes = itertools.count()


def assert_documented(event: dict[str, Any]) -> None:
    assert event["code"] in DOCUMENTED_ERRORS, event
    assert event["fatal"] is DOCUMENTED_ERRORS[event["code"]], event


def test_the_error_table_of_the_protocol_doc_is_read():
    assert {"bad_json", "odd_length", "frame_too_large", "busy", "worker_unavailable"} <= DOCUMENTED_ERRORS.keys()
    assert DOCUMENTED_ERRORS["odd_length"] is False and DOCUMENTED_ERRORS["invalid_config"] is True


@PURE
@given(st.one_of(text_frames, messages.map(json.dumps)))
def test_parse_text_returns_a_message_or_raises_only_documented_protocol_errors(text):
    try:
        message = parse_text(text)
    except ProtocolError as error:
        assert error.code in DOCUMENTED_ERRORS and not DOCUMENTED_ERRORS[error.code], error.code
    else:
        assert isinstance(message, ClientMessage)


@PURE
@given(st.binary(max_size=256) | binary_frames, st.integers(0, 2 * MAX_FRAME_BYTES))
def test_check_audio_accepts_whole_samples_within_the_limit_and_refuses_the_rest_with_a_code(frame, max_bytes):
    try:
        check_audio(frame, max_bytes)
    except ProtocolError as error:
        assert error.code in ("odd_length", "frame_too_large")
        assert len(frame) > max_bytes or len(frame) % 2 or not frame
    else:
        assert frame and len(frame) % 2 == 0 and len(frame) <= max_bytes


async def settle(client: ProtocolClient) -> None:
    """Wait until the gateway has handled every frame sent so far and any session they opened has ended.

    Frames are handled in order, so the answer to an unknown probe type marks the end
    of the earlier ones; each `ready` is later matched by exactly one `ended`.
    """
    probe = f"probe-{next(probes)}"
    await client.send({"type": "stop"})  # ends a session the fuzzed frames may have opened
    await client.send({"type": "end_room"})  # and a room they created (else: not_in_room)
    await client.send({"type": "leave"})  # or joined (they cannot: rooms are joined on /ws/rooms/ID)
    await client.send({"type": probe})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ROUND_TRIP_TIMEOUT_S
    probed = False
    while not probed or count(client, "ready") > count(client, "ended") or \
            count(client, "room") > count(client, "room_ended"):
        item = await client.receive(max(0.01, deadline - loop.time()))
        probed = probed or (isinstance(item, dict) and item["type"] == "error" and probe in item["message"])


def count(client: ProtocolClient, event_type: str) -> int:
    return sum(1 for event in client.events if event["type"] == event_type)


@OVER_THE_SOCKET
@given(st.lists(text_frames | binary_frames, min_size=1, max_size=10))
def test_any_frame_sequence_gets_documented_errors_and_the_socket_stays_usable(echo_gateway, frames):
    async def scenario() -> None:
        async with connect(echo_gateway.ws_url) as ws:
            client = ProtocolClient(ws)
            for frame in frames:
                await client.send(frame)
            await settle(client)
            assert ws.close_code is None
            label(f"sessions the fuzzed frames opened: {min(count(client, 'ready'), 2)}")
            for code in sorted({e["code"] for e in client.events if e["type"] == "error"}):
                label(f"error {code}")
            assert (await client.start())["type"] == "ready"
            client.audio.clear()
            await client.send(b"\x07\x00" * 160)
            await client.send({"type": "stop"})
            await client.until("ended")
            assert client.received_pcm() == b"\x07\x00" * 160
            assert ws.close_code is None
            for event in client.events:
                if event["type"] == "error":
                    assert_documented(event)

    asyncio.run(scenario())


ROOM_KEY = "<the room's listener key>"  # replaced by the real key when sent
joins = st.fixed_dictionaries({
    "type": st.just("join"),
    "key": st.sampled_from([ROOM_KEY, ROOM_KEY, "", "not the key"]),
    "target_language": st.sampled_from(["eng", "fra", "deu", ""]),
}).map(json.dumps)
# Mostly joins and leaves (odd values in them come from text_frames), so listening really happens in between.
room_socket_frames = st.lists(st.one_of(joins, st.just('{"type": "leave"}'), text_frames, binary_frames),
                              min_size=1, max_size=8)


@OVER_THE_SOCKET
@given(room_socket_frames)
def test_any_frame_sequence_on_a_room_socket_gets_documented_errors_and_it_can_still_listen(echo_gateway, frames):
    async def scenario() -> None:
        async with connect(echo_gateway.ws_url) as speaker_ws:
            speaker = ProtocolClient(speaker_ws)
            await speaker.send({"type": "create_room", "languages": ["eng", "fra"]})
            room = await speaker.until("room")
            async with connect(f"{echo_gateway.ws_url}/rooms/{room['room_id']}") as ws:
                client = ProtocolClient(ws)
                for frame in frames:
                    await client.send(frame.replace(ROOM_KEY, room["listener_key"]) if isinstance(frame, str) else frame)
                await settle(client)  # it also leaves a room the frames joined
                assert ws.close_code is None
                label(f"rooms left (joined, or still joining): {min(count(client, 'left'), 2)}")
                await client.send({"type": "join", "key": room["listener_key"], "target_language": "fra"})
                await client.until("joined")
                client.audio.clear()
                await speaker.send(b"\x07\x00" * 160)
                while len(client.received_pcm()) < 320:
                    await client.receive()
                assert client.received_pcm() == b"\x07\x00" * 160
                for event in client.events:
                    if event["type"] == "error":
                        assert_documented(event)
            await speaker.send({"type": "end_room"})
            await speaker.until("room_ended")

    asyncio.run(scenario())


@pytest.mark.parametrize("frame", [b"", b"\x01", b"\x00" * (MAX_FRAME_BYTES + 2)], ids=["empty", "odd", "too-large"])
async def test_bad_audio_in_a_live_session_is_dropped_and_the_session_goes_on(echo_gateway, frame):
    async with connect(echo_gateway.ws_url) as ws:
        client = ProtocolClient(ws)
        assert (await client.start())["type"] == "ready"
        await client.send(frame)
        assert_documented(await client.until("error"))
        await client.send(b"\x05\x00" * 160)
        await client.send({"type": "stop"})
        await client.until("ended")
        assert client.received_pcm() == b"\x05\x00" * 160
