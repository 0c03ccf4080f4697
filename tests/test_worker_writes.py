"""The gateway's writes to a worker stream (gateway/worker/writes.py) over a real gRPC call on loopback.

The server here records every request message as it arrives (a recorder, not a worker: what is checked
is what crosses the transport).
"""

from __future__ import annotations

import asyncio
import os

import grpc
import pytest

from gateway.protocol import audio_request
from gateway.worker.writes import CoalescingWriter
from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc
from s2st.v1.limits import MAX_CHUNK_BYTES

FRAME_BYTES = 640


class RecordingTranslator(pb_grpc.TranslatorServicer):
    def __init__(self) -> None:
        self.requests: list[pb.TranslateRequest] = []
        self.ended = asyncio.Event()

    async def Translate(self, request_iterator, context):  # noqa: N802 (gRPC's name)
        async for request in request_iterator:
            self.requests.append(request)
        self.ended.set()
        yield pb.TranslateResponse(end=pb.SessionEnd())


@pytest.fixture
async def recorder():
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 2 * MAX_CHUNK_BYTES)])
    translator = RecordingTranslator()
    pb_grpc.add_TranslatorServicer_to_server(translator, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield translator, pb_grpc.TranslatorStub(channel).Translate()
    await server.stop(None)


def control(action: pb.Control.Action) -> pb.TranslateRequest:
    return pb.TranslateRequest(control=pb.Control(action=action))


async def test_audio_that_queues_behind_a_write_leaves_joined_in_order_with_controls_in_place(recorder):
    translator, call = recorder
    writer = CoalescingWriter(call, max_backlog=1000)
    before, after = os.urandom(FRAME_BYTES * 300), os.urandom(FRAME_BYTES * 300)
    for offset in range(0, len(before), FRAME_BYTES):  # a burst: no pause between the frames
        await writer.write(audio_request(before[offset : offset + FRAME_BYTES]))
    await writer.write(control(pb.Control.RESET))
    for offset in range(0, len(after), FRAME_BYTES):
        await writer.write(audio_request(after[offset : offset + FRAME_BYTES]))
    await writer.done_writing()
    await asyncio.wait_for(translator.ended.wait(), 10)

    kinds = [request.WhichOneof("request") for request in translator.requests]
    reset_at = kinds.index("control")
    assert kinds.count("control") == 1 and set(kinds) == {"audio", "control"}
    assert b"".join(r.audio.pcm for r in translator.requests[:reset_at]) == before
    assert b"".join(r.audio.pcm for r in translator.requests[reset_at + 1 :]) == after
    assert len(translator.requests) < 100, len(translator.requests)  # 601 requests handed over
    assert max(len(r.audio.pcm) for r in translator.requests) <= MAX_CHUNK_BYTES


async def test_a_frame_that_finds_the_call_idle_leaves_alone_at_once(recorder):
    translator, call = recorder
    writer = CoalescingWriter(call, max_backlog=1000)
    for index in range(5):
        await writer.write(audio_request(bytes([index]) * FRAME_BYTES))
        for _ in range(100):  # the write reaches the server with nothing else to carry
            if len(translator.requests) == index + 1:
                break
            await asyncio.sleep(0.01)
    assert [len(r.audio.pcm) for r in translator.requests] == [FRAME_BYTES] * 5
    await writer.done_writing()


async def test_a_full_backlog_holds_the_reader_until_it_is_written(recorder):
    translator, call = recorder
    writer = CoalescingWriter(call, max_backlog=1)  # every write waits: nothing can queue, nothing is joined
    sent = os.urandom(FRAME_BYTES * 50)
    for offset in range(0, len(sent), FRAME_BYTES):
        await writer.write(audio_request(sent[offset : offset + FRAME_BYTES]))
    await writer.done_writing()
    await asyncio.wait_for(translator.ended.wait(), 10)
    assert [len(r.audio.pcm) for r in translator.requests] == [FRAME_BYTES] * 50
    assert b"".join(r.audio.pcm for r in translator.requests) == sent


async def test_a_session_that_ends_while_the_reader_waits_for_writes_does_not_cancel_the_reader(recorder):
    # The socket's reader waits here; the session's end cancels the writer. The reader must go on
    # (its socket stays open for the next session): the fuzz test found it cancelled instead.
    translator, call = recorder
    writer = CoalescingWriter(call, max_backlog=4)
    for _ in range(3):
        await writer.write(audio_request(os.urandom(MAX_CHUNK_BYTES // 2)))
    waiting = asyncio.create_task(writer.done_writing())
    await asyncio.sleep(0)
    writer.cancel()
    await asyncio.wait_for(waiting, 5)  # returns; a CancelledError here is the bug
    assert not waiting.cancelled()
