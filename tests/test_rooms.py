"""Rooms end to end: a real gateway (two serving processes, as everywhere in the suite) and real workers.

The lite engine translates into English only, so the tests that need two target
languages run on the echo engine, which accepts any code and sends the speaker's
audio back: it stands in for a second language's worker stream, and lets each
listener's audio be checked byte for byte. Speech in, transcripts out: the lite test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import websockets
from harness.held_replies import HeldReplies
from harness.polling import until
from harness.raw_ws import NonReadingClient
from harness.servers import Gateway, Worker, free_port, running, start_gateway, start_worker
from harness.speech import SENTENCES, read_pcm, speak
from harness.wsclient import RECEIVE_TIMEOUT_S, ProtocolClient, connect

from gateway.identity.jwt_tokens import mint_token
from gateway.config import GatewayConfig
from gateway.rooms.routing import CLIENT_ADDRESS_HEADER, PEER_TOKEN_HEADER, RoomRouting

FRAME_BYTES = 640  # 20 ms at 16 kHz
GRACE_SECONDS = 3


@pytest.fixture(scope="module")
def room_gateway(echo_worker: Worker, server_logs: Path) -> Iterator[Gateway]:
    env = {"S2ST_ROOM_GRACE_SECONDS": str(GRACE_SECONDS), "S2ST_ROOM_MAX_LISTENERS": "6",
           "S2ST_MAX_SESSIONS_PER_IP": "0"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:
        yield gateway


def room_url(gateway: Gateway, room_id: str) -> str:
    return f"{gateway.ws_url}/rooms/{room_id}"


class Room:
    """A speaker's socket and what the room event said."""

    def __init__(self, gateway: Gateway, speaker: ProtocolClient, event: dict) -> None:
        self.gateway, self.speaker, self.event = gateway, speaker, event
        self.id, self.listener_key, self.speaker_key = event["room_id"], event["listener_key"], event["speaker_key"]
        self.url = room_url(gateway, self.id)

    async def stream(self, pcm: bytes, pace_s: float = 0.0) -> None:
        for start in range(0, len(pcm), FRAME_BYTES):
            await self.speaker.send(pcm[start:start + FRAME_BYTES])
            await asyncio.sleep(pace_s)


@contextlib.asynccontextmanager
async def opened(url: str) -> AsyncIterator[ProtocolClient]:
    async with connect(url) as ws:
        yield ProtocolClient(ws)


@contextlib.asynccontextmanager
async def a_room(gateway: Gateway, languages: tuple[str, ...] = ("eng", "fra"), **fields) -> AsyncIterator[Room]:
    async with opened(gateway.ws_url) as speaker:
        await speaker.send({"type": "create_room", "languages": list(languages), **fields})
        event = await speaker.until("room", "error")
        assert event["type"] == "room", event
        yield Room(gateway, speaker, event)


async def join(stack: contextlib.AsyncExitStack, room: Room, language: str, key: str | None = None) -> ProtocolClient:
    listener = await stack.enter_async_context(opened(room.url))
    await listener.send({"type": "join", "key": key or room.listener_key, "target_language": language})
    return listener


async def joined(stack: contextlib.AsyncExitStack, room: Room, language: str) -> ProtocolClient:
    listener = await join(stack, room, language)
    event = await listener.until("joined", "error")
    assert event["type"] == "joined", event
    return listener


async def error_of(client: ProtocolClient) -> dict:
    return await client.until("error")


async def counts(room: Room, expected: dict[str, int]) -> dict:
    """The speaker's listener counts, once they say `expected`."""
    while True:
        event = await room.speaker.until("listeners")
        if event["counts"] == expected:
            return event


async def drain(client: ProtocolClient, quiet_s: float = 0.5) -> None:
    """Receive until nothing arrives for quiet_s."""
    with contextlib.suppress(TimeoutError):
        while True:
            await client.receive(quiet_s)


# Spanish is Kokoro's: about a core for as long as it speaks, so on a busy shared machine the first
# piece can take tens of seconds after the final text (a deadline to wait, not a speed asserted).
SPEECH_TIMEOUT_S = 60.0


async def audio_until(client: ProtocolClient, n_bytes: int, timeout: float = RECEIVE_TIMEOUT_S) -> None:
    while len(client.received_pcm()) < n_bytes:
        await client.receive(timeout)


def count(client: ProtocolClient, event_type: str) -> int:
    return sum(1 for event in client.events if event["type"] == event_type)


def codes(client: ProtocolClient) -> list[str]:
    return [event["code"] for event in client.events if event["type"] == "error"]


def worker_sessions(worker: Worker) -> float:
    return worker.metric("s2st_worker_active_sessions")


async def test_each_language_listened_to_has_one_worker_stream_and_every_listener_hears_it(
        room_gateway, echo_worker):
    pcm = os.urandom(FRAME_BYTES * 40)
    async with a_room(room_gateway) as room, contextlib.AsyncExitStack() as stack:
        assert len(room.id) > 20 and len(room.listener_key) >= 32 and room.listener_key != room.speaker_key
        english = [await joined(stack, room, "eng") for _ in range(3)]
        french = [await joined(stack, room, "fra")]
        await counts(room, {"eng": 3, "fra": 1})
        assert worker_sessions(echo_worker) == 2  # one stream per language, not per listener
        await room.stream(pcm)
        await room.speaker.send({"type": "end_room"})
        for listener in english + french:
            ended = await listener.until("room_ended")
            assert ended == {"type": "room_ended", "room_id": room.id, "reason": "ended"}
            assert listener.received_pcm() == pcm  # the speaker's audio, sent once, reached every listener whole
        assert (await room.speaker.until("room_ended"))["reason"] == "ended"
    await until(lambda: worker_sessions(echo_worker) == 0, what="the room's worker streams closed")
    await until(lambda: room_gateway.metric("s2st_gateway_active_rooms") == 0, what="the room forgotten")


async def test_the_last_listener_of_a_language_ends_its_stream_and_a_listener_may_switch(room_gateway, echo_worker):
    async with a_room(room_gateway) as room, contextlib.AsyncExitStack() as stack:
        first, second = await joined(stack, room, "fra"), await joined(stack, room, "fra")
        await until(lambda: worker_sessions(echo_worker) == 2, what="English (open from the start) and French")
        await first.send({"type": "leave"})
        assert (await first.until("left")) == {"type": "left"}
        assert worker_sessions(echo_worker) == 2  # second still listens
        await second.send({"type": "leave"})
        await second.until("left")
        await until(lambda: worker_sessions(echo_worker) == 1, what="the French stream closed")
        await counts(room, {"eng": 0})  # the first offered language's stream stays, listened to or not
        # Rejoin, in another language, on the same socket.
        await first.send({"type": "join", "key": room.listener_key, "target_language": "eng"})
        assert (await first.until("joined"))["target_language"] == "eng"
        await counts(room, {"eng": 1})
        first.audio.clear()
        await room.stream(b"\x03\x00" * 320)
        await audio_until(first, 640)
        assert first.received_pcm() == b"\x03\x00" * 320


async def test_speech_reaches_listeners_as_transcripts_and_a_late_joiner_gets_the_transcript_so_far(
        tmp_path, lite_worker, server_logs):
    """Real speech through the lite engine (English out): two listeners share one stream; a late one gets history."""
    pcm, _ = read_pcm(speak(SENTENCES["spa"][1], SENTENCES["spa"][0], tmp_path / "spa.wav", tail_silence_s=1.5))
    with running(start_gateway(lite_worker.address, log_dir=server_logs)) as gateway:
        async with a_room(gateway, ("eng",), source_language="spa") as room, contextlib.AsyncExitStack() as stack:
            listeners = [await joined(stack, room, "eng"), await joined(stack, room, "eng")]
            assert worker_sessions(lite_worker) == 1
            await room.stream(pcm, pace_s=0.01)
            await room.speaker.send({"type": "stop"})  # a pause: the stream finishes what was said
            finals = []
            for listener in listeners:
                final = await listener.until("transcript", timeout=60)
                while not (final["side"] == "target" and final["final"]):
                    final = await listener.until("transcript", timeout=60)
                finals.append(final)
                await audio_until(listener, 2, SPEECH_TIMEOUT_S)  # the translated speech (it may follow the final text)
            assert finals[0] == finals[1] and finals[0]["text"]
            if count(room.speaker, "stats") == 0:
                await room.speaker.until("stats", timeout=60)
            await drain(room.speaker)
            seen = [e for e in room.speaker.events if e["type"] == "transcript"]
            assert any(e["final"] for e in seen if e["side"] == "source")  # the speaker's own words
            # and what the listeners read of them, with its lag figures (never its audio)
            assert finals[0] in [e for e in seen if e["side"] == "target"]
            assert count(room.speaker, "stats") >= 1 and count(room.speaker, "speech") >= 1
            assert room.speaker.received_pcm() == b""
            late = await join(stack, room, "eng")
            history = (await late.until("joined"))["transcript"]
            assert history and history[-1]["target"] == finals[0]["text"] and history[-1]["source"]


async def test_a_room_translates_its_first_language_from_its_start_so_the_first_listener_gets_the_first_words(
        tmp_path, lite_worker, server_logs):
    """Spoken before anyone listens: the first language's stream, open since the room opened, heard and translated
    it, and the first listener's `joined` replays it (its translation there, or live when it was still on its way)."""
    pcm, _ = read_pcm(speak(SENTENCES["spa"][1], SENTENCES["spa"][0], tmp_path / "spa.wav", tail_silence_s=1.5))
    with running(start_gateway(lite_worker.address, log_dir=server_logs)) as gateway:
        async with a_room(gateway, ("eng",), source_language="spa") as room, contextlib.AsyncExitStack() as stack:
            await room.stream(pcm, pace_s=0.01)  # nobody listens yet
            await room.speaker.send({"type": "stop"})
            said = await room.speaker.until("transcript", timeout=60)
            while not said["final"]:
                said = await room.speaker.until("transcript", timeout=60)
            assert "días" in said["text"].lower(), said  # the speaker sees the first words transcribed
            first = await join(stack, room, "eng")
            history = (await first.until("joined"))["transcript"]
            assert history and history[0]["source"] == said["text"], history  # the first sentence, whole
            translation = history[0]["target"] or (await until_final_target(first))["text"]
            assert translation.strip(), history


async def until_final_target(listener: ProtocolClient) -> dict:
    while True:
        event = await listener.until("transcript", timeout=60)
        if event["side"] == "target" and event["final"]:
            return event


async def test_an_english_speakers_room_has_an_english_and_a_spanish_listener(tmp_path, lite_worker, server_logs):
    """The lite engine serves every target it has to a room: English as said, Spanish through Apertium."""
    pcm, _ = read_pcm(speak("Thank you very much for your help, my friend.", "en-us", tmp_path / "eng.wav",
                            tail_silence_s=1.5))
    with running(start_gateway(lite_worker.address, log_dir=server_logs)) as gateway:
        async with a_room(gateway, ("eng", "spa"), source_language="eng") as room, \
                contextlib.AsyncExitStack() as stack:
            english, spanish = await joined(stack, room, "eng"), await joined(stack, room, "spa")
            await room.stream(pcm, pace_s=0.01)
            await room.speaker.send({"type": "stop"})
            heard = {}
            for language, listener in (("eng", english), ("spa", spanish)):
                final = await until_final_target(listener)
                await audio_until(listener, 2, SPEECH_TIMEOUT_S)
                heard[language] = (final["language"], final["text"].lower())
            assert heard["eng"][0] == "eng" and "thank you" in heard["eng"][1], heard
            assert heard["spa"][0] == "spa" and "gracias" in heard["spa"][1] and "amigo" in heard["spa"][1], heard


async def test_a_joined_event_replays_at_most_the_replay_bytes(tmp_path, lite_worker, server_logs):
    """What one `join` replays is bounded (S2ST_ROOM_REPLAY_BYTES), however long the room's history."""
    pcm, _ = read_pcm(speak(SENTENCES["spa"][1], SENTENCES["spa"][0], tmp_path / "spa.wav", tail_silence_s=1.5))
    with running(start_gateway(lite_worker.address, {"S2ST_ROOM_REPLAY_BYTES": "1"}, log_dir=server_logs)) as gateway:
        async with a_room(gateway, ("eng",), source_language="spa") as room, contextlib.AsyncExitStack() as stack:
            listener = await joined(stack, room, "eng")
            await room.stream(pcm, pace_s=0.01)
            await room.speaker.send({"type": "stop"})
            await until_final_target(listener)
            late = await join(stack, room, "eng")
            assert (await late.until("joined"))["transcript"] == []  # a segment's text is more than 1 byte


async def test_a_speaker_who_drops_may_come_back_within_the_grace(room_gateway, echo_worker):
    async with contextlib.AsyncExitStack() as stack:
        async with a_room(room_gateway) as room:
            listener = await joined(stack, room, "eng")
        gone = await listener.until("speaker")
        assert (gone["connected"], 0 < gone["ends_in_seconds"] <= GRACE_SECONDS) == (False, True), gone
        waiting = await join(stack, room, "eng")  # joins meanwhile: told how long the room waits
        assert (await waiting.until("joined"))["ends_in_seconds"] <= gone["ends_in_seconds"]
        async with opened(room.url) as back:
            await back.send({"type": "speak", "key": room.speaker_key})
            assert (await back.until("room"))["listener_key"] == room.listener_key
            assert (await listener.until("speaker")) == {"type": "speaker", "connected": True}
            listener.audio.clear()
            room.speaker = back
            await room.stream(b"\x09\x00" * 3200)
            await back.send({"type": "end_room"})
            await listener.until("room_ended")
            assert listener.received_pcm() == b"\x09\x00" * 3200


async def test_a_speaker_who_does_not_come_back_ends_the_room_for_everyone(room_gateway, echo_worker):
    async with contextlib.AsyncExitStack() as stack:
        async with a_room(room_gateway) as room:
            listener = await joined(stack, room, "fra")
        await listener.until("speaker")
        loop = asyncio.get_running_loop()
        dropped_at = loop.time()
        gone = await listener.until("error", timeout=GRACE_SECONDS + 5)
        assert gone["code"] == "speaker_gone" and loop.time() - dropped_at >= GRACE_SECONDS - 0.5
        assert (await listener.until("room_ended"))["reason"] == "speaker_gone"
        await until(lambda: worker_sessions(echo_worker) == 0, what="the stream closed")
        async with opened(room.url) as late:  # the room is gone: its links open nothing
            await late.send({"type": "speak", "key": room.speaker_key})
            assert (await error_of(late))["code"] == "unknown_room"
        # The listener's socket is idle again: it may start a session of its own.
        assert (await listener.start())["type"] == "ready"


async def test_a_listener_that_does_not_read_is_cut_off_and_the_others_go_on(echo_worker, server_logs):
    env = {"S2ST_OUTBOUND_QUEUE_FRAMES": "16", "S2ST_WS_MAX_FRAMES_PER_SECOND": "0"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:
        async with a_room(gateway, ("eng",)) as room, contextlib.AsyncExitStack() as stack:
            reader = await joined(stack, room, "eng")
            stalled = NonReadingClient(gateway.port, f"/ws/rooms/{room.id}")
            stalled.send(json.dumps({"type": "join", "key": room.listener_key, "target_language": "eng"}).encode(), 0x1)
            await counts(room, {"eng": 2})
            reading = asyncio.create_task(reader.until("room_ended", timeout=60))  # reads all the while
            sent = b""
            for _ in range(300):  # 64 KiB a frame echoed to both: the stalled one's buffers fill
                frame = os.urandom(65_536)
                await room.speaker.send(frame)
                sent += frame
                await asyncio.sleep(0.01)
                if "does not read" in gateway.log():  # when to stop sending
                    break
            code = stalled.close_code()  # it reads again: behind what it never read, the close frame
            stalled.sock.close()
            assert code == 1008
            await counts(room, {"eng": 1})
            await room.speaker.send({"type": "end_room"})
            assert (await reading)["reason"] == "ended"
            assert reader.received_pcm() == sent  # the room went on for the listener who reads


async def test_revoking_the_listener_link_removes_who_joined_with_it(room_gateway):
    async with a_room(room_gateway) as room, contextlib.AsyncExitStack() as stack:
        old = await joined(stack, room, "eng")
        await room.speaker.send({"type": "revoke_listener_link"})
        renewed = await room.speaker.until("room")
        assert renewed["listener_key"] != room.listener_key and renewed["speaker_key"] == room.speaker_key
        assert (await old.until("room_ended"))["reason"] == "link_revoked"
        refused = await join(stack, room, "eng", key=room.listener_key)
        assert (await error_of(refused))["code"] == "unknown_room"
        fresh = await join(stack, room, "eng", key=renewed["listener_key"])
        assert (await fresh.until("joined", "error"))["type"] == "joined"


async def test_a_listener_link_can_be_checked_before_joining_and_a_dead_one_says_unknown_room(room_gateway):
    async with opened(f"{room_gateway.ws_url}/rooms/1.nosuchroom") as client:
        await client.send({"type": "check_link", "key": "k"})
        assert ((await error_of(client))["code"]) == "unknown_room"
    async with a_room(room_gateway) as room, opened(room.url) as client:
        await client.send({"type": "check_link", "key": room.listener_key})
        valid = await client.until("link_valid", "error")
        assert valid == {"type": "link_valid", "room_id": room.id, "languages": ["eng", "fra"],
                         "speaker_connected": True}
        await room.speaker.send({"type": "revoke_listener_link"})
        await room.speaker.until("room")
        await client.send({"type": "check_link", "key": room.listener_key})  # the revoked key: as unknown
        assert ((await error_of(client))["code"]) == "unknown_room"
        await room.speaker.send({"type": "end_room"})
        await room.speaker.until("room_ended")
        await client.send({"type": "check_link", "key": room.listener_key})
        assert ((await error_of(client))["code"]) == "unknown_room"


@pytest.mark.parametrize("message, code", [
    ({"type": "join", "key": "wrong", "target_language": "eng"}, "unknown_room"),
    ({"type": "join", "key": None, "target_language": "deu"}, "language_not_offered"),
    ({"type": "speak", "key": "wrong"}, "unknown_room"),
], ids=["wrong key", "language not offered", "wrong speaker key"])
async def test_room_requests_that_cannot_be_met_get_their_error(room_gateway, message, code):
    async with a_room(room_gateway) as room, opened(room.url) as client:
        await client.send({**message, "key": message["key"] or room.listener_key})
        error = await error_of(client)
        assert (error["code"], error["fatal"]) == (code, True)
        await client.send({"type": "join", "key": room.listener_key, "target_language": "eng"})
        assert (await client.until("joined"))["type"] == "joined"  # the socket is still usable


async def test_unknown_rooms_full_rooms_and_misplaced_messages(room_gateway):
    async with opened(f"{room_gateway.ws_url}/rooms/1.nosuchroom") as client:
        await client.send({"type": "join", "key": "k", "target_language": "eng"})
        assert (await error_of(client))["code"] == "unknown_room"
    async with opened(room_gateway.ws_url) as client:
        await client.send({"type": "join", "key": "k", "target_language": "eng"})  # no room path
        assert (await error_of(client))["code"] == "unknown_room"
        for message in ({"type": "end_room"}, {"type": "revoke_listener_link"}, {"type": "leave"}):
            await client.send(message)
            assert ((await error_of(client))["code"], client.events[-1]["fatal"]) == ("not_in_room", False)
    async with a_room(room_gateway) as room, contextlib.AsyncExitStack() as stack:
        await room.speaker.send({"type": "create_room", "languages": ["eng"]})
        assert (await error_of(room.speaker))["code"] == "already_started"
        await room.speaker.send({"type": "start", "target_language": "eng"})
        assert (await error_of(room.speaker))["code"] == "already_started"
        listeners = [await joined(stack, room, "eng") for _ in range(6)]  # S2ST_ROOM_MAX_LISTENERS
        extra = await join(stack, room, "fra")
        assert (await error_of(extra))["code"] == "room_full"
        await listeners[0].send(b"\x00\x00" * 160)
        assert (await error_of(listeners[0]))["code"] == "forbidden"  # a listener never sends audio
        await listeners[0].send({"type": "end_room"})
        assert (await error_of(listeners[0]))["code"] == "not_in_room"


@pytest.mark.parametrize("fields, code", [
    ({"languages": []}, "bad_message"),
    ({"languages": ["eng", "eng"]}, "bad_message"),
    ({"languages": ["eng", 7]}, "bad_message"),
    ({"languages": ["a", "b", "c", "d", "e"]}, "invalid_config"),
    ({"languages": ["eng"], "sample_rate": "fast"}, "bad_message"),
], ids=["none", "repeated", "not a string", "too many", "bad rate"])
async def test_bad_create_room_messages_are_refused(room_gateway, fields, code):
    async with opened(room_gateway.ws_url) as client:
        await client.send({"type": "create_room", **fields})
        assert (await error_of(client))["code"] == code


async def test_rooms_per_gateway_process_are_bounded(echo_worker, server_logs):
    with running(start_gateway(echo_worker.address, {"S2ST_MAX_ROOMS": "1"}, log_dir=server_logs,
                               processes=1)) as gateway:
        async with a_room(gateway), opened(gateway.ws_url) as second:
            await second.send({"type": "create_room", "languages": ["eng"]})
            assert (await error_of(second))["code"] == "too_many_rooms"


async def test_a_room_takes_one_of_the_speakers_session_slots(echo_worker, server_logs):
    with running(start_gateway(echo_worker.address, {"S2ST_MAX_SESSIONS_PER_IP": "1"},
                               log_dir=server_logs)) as gateway:
        async with a_room(gateway) as room, opened(gateway.ws_url) as other:
            assert (await other.start())["code"] == "too_many_sessions"
            await other.send({"type": "create_room", "languages": ["eng"]})  # a second room would take a slot too
            assert ((await error_of(other))["code"], other.events[-1]["fatal"]) == ("too_many_sessions", True)
            await room.speaker.send({"type": "end_room"})
            await room.speaker.until("room_ended")
            assert (await other.start())["type"] == "ready"


async def test_one_addresss_rooms_cannot_make_another_addresss_start_fail(server_logs):
    """Every worker stream a room opens counts against its creator's address, listeners from anywhere."""
    from harness.servers import start_worker

    hog = {"X-Forwarded-For": "203.0.113.7"}  # the gateway believes X-Forwarded-For from loopback
    languages = ["eng", "fra", "deu", "spa"]
    with (running(start_worker("echo", {"S2ST_MAX_SESSIONS": "4"}, log_dir=server_logs)) as worker,
          running(start_gateway(worker.address, {"S2ST_MAX_SESSIONS_PER_IP": "3"}, log_dir=server_logs)) as gateway):
        async with contextlib.AsyncExitStack() as stack:
            speaker = ProtocolClient(await stack.enter_async_context(connect(gateway.ws_url, additional_headers=hog)))
            await speaker.send({"type": "create_room", "languages": languages})
            room = Room(gateway, speaker, await speaker.until("room"))
            answers = []
            for language in languages:
                listener = ProtocolClient(await stack.enter_async_context(connect(room.url, additional_headers=hog)))
                await listener.send({"type": "join", "key": room.listener_key, "target_language": language})
                answers.append(await listener.until("joined", "error"))
            assert [answer["type"] for answer in answers[:3]] == ["joined"] * 3
            assert (answers[3]["code"], answers[3]["fatal"]) == ("too_many_sessions", True)
            assert (await listener.until("room_ended"))["reason"] == "worker_unavailable"
            assert worker_sessions(worker) == 3
            async with connect(gateway.ws_url, additional_headers={"X-Forwarded-For": "198.51.100.9"}) as ws:
                assert (await ProtocolClient(ws).start())["type"] == "ready"  # someone else still gets in


async def test_a_socket_that_joins_and_leaves_in_a_loop_is_rate_limited(echo_worker, server_logs):
    """Each join may open a worker stream: they have a rate limit of their own (S2ST_WS_STREAM_OPENS_*)."""
    env = {"S2ST_WS_STREAM_OPENS_PER_SECOND": "0.001", "S2ST_WS_STREAM_OPENS_BURST": "3"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:
        async with a_room(gateway, ("eng",)) as room, opened(room.url) as listener:
            for _ in range(6):
                await listener.send({"type": "join", "key": room.listener_key, "target_language": "eng"})
                await listener.send({"type": "leave"})
            # Each leave is answered: `left` after a join that was let through, `not_in_room` after one dropped.
            while count(listener, "left") + codes(listener).count("not_in_room") < 6:
                await listener.receive()
            assert count(listener, "left") == 3 and codes(listener).count("rate_limited") == 3
            assert not next(e for e in listener.events if e.get("code") == "rate_limited")["fatal"]
            await listener.send({"type": "stop"})  # other control frames are never limited
            assert (await listener.until("error"))["code"] == "not_started"


async def test_room_sockets_reach_the_process_that_holds_their_room(room_gateway):
    """Rooms are created on both serving processes; listeners of each, wherever they land, all join."""
    async with contextlib.AsyncExitStack() as stack:
        rooms: dict[str, Room] = {}
        for _ in range(40):
            room = await stack.enter_async_context(a_room(room_gateway, ("eng",)))
            rooms.setdefault(room.id.split(".")[0], room)
            if len(rooms) == 2:
                break
        assert sorted(rooms) == ["0", "1"]
        for room in rooms.values():
            listeners = [await joined(stack, room, "eng") for _ in range(5)]
            await room.stream(b"\x02\x00" * 320)
            for listener in listeners:
                await listener.until("speech")
        assert room_gateway.metric("s2st_gateway_room_sockets_relayed_total") >= 1


async def test_a_listener_token_may_listen_but_not_speak(echo_worker, server_logs):
    secret = "s" * 32
    with running(start_gateway(echo_worker.address, {"S2ST_JWT_SECRET": secret}, log_dir=server_logs)) as gateway:
        speaker_token = mint_token(secret, ttl_seconds=60)
        async with opened(f"{gateway.ws_url}?token={speaker_token}") as speaker:
            await speaker.send({"type": "create_room", "languages": ["eng"]})
            room = Room(gateway, speaker, await speaker.until("room"))
            listener_token = mint_token(secret, ttl_seconds=60, scopes={"room": room.id, "room_role": "listener"})
            async with opened(f"{room.url}?token={listener_token}") as listener:
                await listener.send({"type": "speak", "key": room.speaker_key})
                assert (await error_of(listener))["code"] == "forbidden"
                await listener.send({"type": "create_room", "languages": ["eng"]})
                assert (await error_of(listener))["code"] == "forbidden"
                await listener.send({"type": "join", "key": room.listener_key, "target_language": "eng"})
                assert (await listener.until("joined"))["type"] == "joined"
            other_room = mint_token(secret, ttl_seconds=60, scopes={"room": "0.another", "room_role": "listener"})
            async with opened(f"{room.url}?token={other_room}") as stranger:
                await stranger.send({"type": "join", "key": room.listener_key, "target_language": "eng"})
                assert (await error_of(stranger))["code"] == "forbidden"


@pytest.fixture(scope="module")
def jwt_room_gateway(echo_worker: Worker, server_logs: Path) -> Iterator[Gateway]:
    with running(start_gateway(echo_worker.address, {"S2ST_JWT_SECRET": JWT_SECRET}, log_dir=server_logs)) as gateway:
        yield gateway


JWT_SECRET = "s" * 32


def with_token(url: str, **scopes) -> str:
    return f"{url}?token={mint_token(JWT_SECRET, ttl_seconds=60, scopes=scopes)}"


async def test_a_listeners_token_holds_its_listener_to_its_own_session_length_and_engines(jwt_room_gateway):
    async with (opened(with_token(jwt_room_gateway.ws_url)) as speaker, contextlib.AsyncExitStack() as stack):
        await speaker.send({"type": "create_room", "languages": ["eng"]})
        room = Room(jwt_room_gateway, speaker, await speaker.until("room"))
        short = await stack.enter_async_context(opened(with_token(room.url, max_session_seconds=1)))
        await short.send({"type": "join", "key": room.listener_key, "target_language": "eng"})
        await short.until("joined")
        ended = await short.until("room_ended", timeout=6)  # the room goes on: only this listener's time is up
        assert (ended["reason"], ended["room_id"]) == ("session_too_long", room.id)
        seamless_only = await stack.enter_async_context(opened(with_token(room.url, engines=["seamless"])))
        await seamless_only.send({"type": "join", "key": room.listener_key, "target_language": "eng"})
        refused = await seamless_only.until("error", "joined")  # the room runs the echo engine
        assert (refused["type"], refused["code"], refused["fatal"]) == ("error", "forbidden", True), refused
        assert (await seamless_only.until("room_ended"))["reason"] == "forbidden"
        room.url = with_token(room.url)  # the room goes on for a listener its token allows
        listener = await joined(stack, room, "eng")
        pcm = os.urandom(FRAME_BYTES * 10)
        await room.stream(pcm)
        await audio_until(listener, len(pcm))
        assert listener.received_pcm() == pcm


async def test_a_room_scoped_token_speaks_in_its_room_only(jwt_room_gateway):
    async with opened(with_token(jwt_room_gateway.ws_url)) as speaker:
        await speaker.send({"type": "create_room", "languages": ["eng"]})
        room = Room(jwt_room_gateway, speaker, await speaker.until("room"))
        async with opened(with_token(room.url, room=room.id, room_role="speaker")) as scoped:
            await scoped.send({"type": "create_room", "languages": ["eng"]})
            assert (await error_of(scoped))["code"] == "forbidden"
            refused = await scoped.start()
            assert (refused["type"], refused["code"]) == ("error", "forbidden")
            await scoped.send({"type": "speak", "key": room.speaker_key})
            assert (await scoped.until("room"))["room_id"] == room.id


async def test_a_speaking_token_is_held_to_its_scopes_in_a_room_it_joins_as_speaker(jwt_room_gateway):
    async with opened(with_token(jwt_room_gateway.ws_url)) as speaker:
        await speaker.send({"type": "create_room", "languages": ["eng", "fra"]})
        room = Room(jwt_room_gateway, speaker, await speaker.until("room"))
        async with opened(with_token(room.url, target_languages=["eng"])) as narrow:
            await narrow.send({"type": "speak", "key": room.speaker_key})  # the room also translates into fra
            assert (await error_of(narrow))["code"] == "forbidden"
        async with opened(with_token(room.url, max_session_seconds=1)) as brief:
            await brief.send({"type": "speak", "key": room.speaker_key})
            assert (await brief.until("room"))["room_id"] == room.id
            assert (await brief.until("room_ended", timeout=6))["reason"] == "session_too_long"


async def test_a_speakers_token_bounds_the_room_as_it_bounds_a_session(echo_worker, server_logs):
    secret = "s" * 32
    with running(start_gateway(echo_worker.address, {"S2ST_JWT_SECRET": secret}, log_dir=server_logs)) as gateway:
        token = mint_token(secret, ttl_seconds=60, scopes={"max_session_seconds": 2})
        async with opened(f"{gateway.ws_url}?token={token}") as speaker, contextlib.AsyncExitStack() as stack:
            await speaker.send({"type": "create_room", "languages": ["eng"]})
            room = Room(gateway, speaker, await speaker.until("room"))
            room.url = f"{room.url}?token={token}"
            listener = await joined(stack, room, "eng")
            for client in (listener, speaker):
                assert (await client.until("room_ended", timeout=6))["reason"] == "session_too_long"


async def test_a_language_whose_worker_stream_cannot_open_tells_its_listener_and_the_room_goes_on(server_logs):
    with running(start_gateway(f"127.0.0.1:{free_port()}", {"S2ST_WORKER_TIMEOUT_SECONDS": "2"},
                               log_dir=server_logs)) as gateway:  # no worker there
        async with a_room(gateway, ("eng",)) as room, contextlib.AsyncExitStack() as stack:
            listener = await join(stack, room, "eng")
            error = await listener.until("error", timeout=10)
            assert error["code"] == "worker_unavailable" and error["fatal"]
            assert (await listener.until("room_ended"))["reason"] == "worker_unavailable"
            await counts(room, {})
            await listener.send({"type": "join", "key": room.listener_key, "target_language": "eng"})
            assert (await listener.until("error", timeout=10))["code"] == "worker_unavailable"  # it may try again


PEER_TOKEN = "peer-token-0123456789-0123456789-0123456789"


async def test_room_sockets_reach_the_gateway_that_holds_their_room(echo_worker, server_logs):
    """Two gateways that know each other as peers (as the chart's pods do): a room created on one is joined
    through the other. Each is named by its peer port here, so that one address template reaches both."""
    names, gateways = [], []
    with contextlib.ExitStack() as running_gateways:
        for _ in range(2):
            names.append(str(free_port()))
            env = {"S2ST_GATEWAY_NAME": names[-1], "S2ST_GATEWAY_PEER_PORT": names[-1],
                   "S2ST_GATEWAY_PEER_ADDRESS": "127.0.0.1:{name}", "S2ST_GATEWAY_PEER_TOKEN": PEER_TOKEN,
                   "S2ST_MAX_CONNECTIONS_PER_IP": "2"}
            gateways.append(running_gateways.enter_context(running(start_gateway(
                echo_worker.address, env, log_dir=server_logs, processes=1))))
        home, other = gateways
        async with a_room(home, ("eng",)) as room, contextlib.AsyncExitStack() as stack:
            assert room.id.startswith(f"{names[0]}.0.")
            room.url = room_url(other, room.id)  # every listener arrives at the other gateway
            # Two listeners: the home gateway, where the speaker holds one of this address's two sockets,
            # does not count the relayed ones again (else the second would get 429 there).
            listeners = [await joined(stack, room, "eng") for _ in range(2)]
            await room.stream(b"\x04\x00" * 320)
            for listener in listeners:
                await audio_until(listener, 640)
                assert listener.received_pcm() == b"\x04\x00" * 320
            assert other.metric("s2st_gateway_room_sockets_relayed_total") == 2
            assert home.metric("s2st_gateway_room_listeners") == 2
            # The other gateway counts them: a third is over, and a client cannot pass for another address on
            # the public port (the relay's header is believed on the peer port only).
            with pytest.raises(websockets.InvalidStatus) as refused:
                await stack.enter_async_context(connect(room.url, additional_headers={
                    CLIENT_ADDRESS_HEADER: "10.9.9.9"}))
            assert refused.value.response.status_code == 429
            # The peer port itself answers gateways only: a socket without the peer token, or with another, is
            # refused before anything of it is believed.
            home_peer = f"ws://127.0.0.1:{names[0]}/ws/rooms/{room.id}"
            for token in (None, "t" * 32, PEER_TOKEN[:-1]):
                with pytest.raises(websockets.InvalidStatus) as refused:
                    headers = {CLIENT_ADDRESS_HEADER: "10.9.9.9", **({PEER_TOKEN_HEADER: token} if token else {})}
                    await stack.enter_async_context(connect(home_peer, additional_headers=headers))
                assert refused.value.response.status_code == 403


PEERS = {"S2ST_GATEWAY_NAME": "gateway-0", "S2ST_GATEWAY_PEER_ADDRESS": "{name}.peers:8081",
         "S2ST_GATEWAY_PEER_PORT": "8081", "S2ST_GATEWAY_PEER_TOKEN": PEER_TOKEN}  # a valid set, then one flaw each


@pytest.mark.parametrize("environ", [
    {"S2ST_GATEWAY_NAME": "gateway-0"},
    {**PEERS, "S2ST_GATEWAY_PEER_TOKEN": ""},
    {**PEERS, "S2ST_GATEWAY_PEER_TOKEN": "short"},
    {**PEERS, "S2ST_GATEWAY_NAME": "Gateway_0"},
    {**PEERS, "S2ST_GATEWAY_PEER_ADDRESS": "peers:8081"},
    {**PEERS, "S2ST_GATEWAY_PROCESSES": "2"},
    {**PEERS, "S2ST_GATEWAY_PEER_ADDRESS": "{name}.peers:8080", "S2ST_GATEWAY_PEER_PORT": "8080"},
    {"S2ST_ROOM_MAX_LISTENERS": "0"},
], ids=["name alone", "no peer token", "short peer token", "not a DNS label", "no {name}", "several processes",
        "the public port", "no listeners"])
def test_room_settings_that_cannot_work_stop_the_gateway_at_start(environ):
    with pytest.raises(ValueError):
        GatewayConfig.from_environ(environ)


def test_a_room_id_names_where_it_lives_and_only_client_sockets_are_carried_to_a_peer():
    routing = RoomRouting(process_index=0, sockets_dir=Path("/run/rooms"), gateway_name="gateway-1",
                          peer_address="{name}.peers.ns.svc:8081", peer_port=8081)
    assert routing.room_id_prefix == "gateway-1.0"
    assert routing.route("gateway-1.0.abc", "client") is None  # here
    assert routing.route("gateway-1.2.abc", "client") == Path("/run/rooms/process-2.sock")
    assert routing.route("gateway-1.2.abc", "peer") == Path("/run/rooms/process-2.sock")
    assert routing.route("gateway-1.2.abc", "sibling") is None  # relayed once already
    assert routing.route("gateway-7.0.abc", "client") == ("gateway-7.peers.ns.svc", 8081)
    assert routing.route("gateway-7.0.abc", "peer") is None  # a peer's relay is never relayed on
    for hostile in ("evil.com:80/x.0.abc", "a..b", "gateway-7.99999.abc", "Gateway-7.0.abc", "x.y.z.w", ""):
        assert routing.route(hostile, "client") is None, hostile  # only a DNS label inside the peers' domain


async def test_a_speaker_replaced_by_another_socket_is_told_and_the_room_goes_on(room_gateway):
    async with a_room(room_gateway, ("eng",)) as room, contextlib.AsyncExitStack() as stack:
        listener = await joined(stack, room, "eng")
        async with opened(room.url) as successor:
            await successor.send({"type": "speak", "key": room.speaker_key})
            assert (await successor.until("room"))["room_id"] == room.id
            assert (await room.speaker.until("room_ended")) == {"type": "room_ended", "room_id": room.id,
                                                                "reason": "replaced"}
            await successor.send(b"\x07\x00" * 320)
            await audio_until(listener, 640)
            assert listener.received_pcm() == b"\x07\x00" * 320  # the new speaker is heard
            await successor.send({"type": "end_room"})
            assert (await listener.until("room_ended"))["reason"] == "ended"


async def test_listener_counts_reach_the_speaker_at_most_twice_a_second(room_gateway):
    async with a_room(room_gateway) as room, contextlib.AsyncExitStack() as stack:
        loop = asyncio.get_running_loop()
        arrivals = []

        async def count_events() -> None:
            while True:
                event = await room.speaker.until("listeners", timeout=30)
                arrivals.append((loop.time(), event["total"]))
                if event["total"] == 6:
                    return

        counting = asyncio.create_task(count_events())
        await asyncio.gather(*(join(stack, room, language) for language in ("eng", "fra") * 3))
        await counting
        gaps = [later - earlier for (earlier, _), (later, _) in zip(arrivals, arrivals[1:])]
        assert len(arrivals) >= 2 and min(gaps) > 0.35, arrivals  # 0.5 s apart when sent; the network may jitter


async def test_the_rooms_end_with_shutting_down_when_the_gateway_stops(echo_worker, server_logs):
    # One serving process: with two, a listener relayed through the other process is cut by that process's own
    # shutdown (1012) before the room's process ends the room.
    gateway = start_gateway(echo_worker.address, {"S2ST_SHUTDOWN_GRACE_SECONDS": "1"}, log_dir=server_logs,
                            processes=1)
    with running(gateway):
        async with a_room(gateway, ("eng",)) as room, contextlib.AsyncExitStack() as stack:
            listener = await joined(stack, room, "eng")
            gateway.process.send_signal(signal.SIGTERM)
            for client in (room.speaker, listener):
                assert (await client.until("room_ended", timeout=15))["reason"] == "shutting_down"


async def test_the_first_listener_of_a_language_hears_why_its_stream_could_not_open(server_logs):
    with (running(start_worker("echo", {"S2ST_MAX_SESSIONS": "1"}, log_dir=server_logs)) as worker,
          running(start_gateway(worker.address, {"S2ST_MAX_SESSIONS_PER_IP": "0"}, log_dir=server_logs)) as gateway):
        # Options the echo engine refuses: the worker says invalid_config when the first listener opens the stream.
        async with a_room(gateway, ("eng",), options={"glossary": "Siobhan"}) as room, \
                contextlib.AsyncExitStack() as stack:
            # Its first language's stream opens with the room: the speaker hears why it could not.
            assert (await room.speaker.until("error"))["code"] == "invalid_config"
            listener = await join(stack, room, "eng")
            error = await listener.until("error")
            assert (error["code"], error["fatal"]) == ("invalid_config", True)
        async with a_room(gateway, ("eng", "fra")) as room, contextlib.AsyncExitStack() as stack:
            # English, the room's first language, is translated from the room's start: the worker's only slot.
            await until(lambda: worker_sessions(worker) == 1, what="the first language's stream open")
            listener = await join(stack, room, "fra")
            error = await listener.until("error")
            assert (error["code"], error["fatal"]) == ("busy", True)


async def test_end_room_ends_the_room_within_10_seconds_even_when_a_stream_never_finishes(echo_worker, server_logs):
    proxy = HeldReplies(echo_worker.address)
    try:
        with running(start_gateway(proxy.address, log_dir=server_logs)) as gateway:
            async with a_room(gateway, ("eng",)) as room, contextlib.AsyncExitStack() as stack:
                listener = await joined(stack, room, "eng")
                with proxy.held():  # the worker's answers, its end of stream too, never reach the gateway
                    await room.stream(b"\x05\x00" * 3200)
                    await room.speaker.send({"type": "end_room"})
                    for client in (room.speaker, listener):  # 10 s of flush, then the room ends regardless
                        assert (await client.until("room_ended", timeout=20))["reason"] == "ended"
    finally:
        proxy.close()
