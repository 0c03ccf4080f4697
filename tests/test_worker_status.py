"""gateway/worker/status.py over a real call to a real worker: the status a write racing the stream's end hides."""

from __future__ import annotations

import grpc
from harness.servers import running, start_worker

from gateway.worker.status import LOST_TO_A_WRITE, keep_stated_status, keep_worker_status, worker_error
from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc


async def test_a_write_lost_after_the_workers_in_band_ending_reports_the_status_it_said(server_logs):
    """grpcio may never set the worker's status on a call whose write waited on flow control (grpc/grpc#36066):
    the StreamEnding read before must stand for it. The worker holds its status back until this client stops
    writing, so the call has none yet when the write's INTERNAL is mapped."""
    with running(start_worker("echo", {"S2ST_MAX_SESSION_SECONDS": "0.5"}, log_dir=server_logs)) as worker:
        async with grpc.aio.insecure_channel(worker.address) as channel:
            call = pb_grpc.TranslatorStub(channel).Translate()
            keep_worker_status(call)
            await call.write(pb.TranslateRequest(config=pb.SessionConfig(target_language="eng")))
            await call.write(pb.TranslateRequest(audio=pb.AudioChunk(pcm=b"\x00" * 640)))
            while not (response := await call.read()).HasField("ending"):
                pass
            keep_stated_status(call, response.ending.status, response.ending.message)
            lost = grpc.aio.AioRpcError(grpc.StatusCode.INTERNAL, grpc.aio.Metadata(), grpc.aio.Metadata(),
                                        LOST_TO_A_WRITE)
            reported = await worker_error(call, lost)
            call.cancel()
    assert reported.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert reported.details() == "session reached the maximum length of 0.5 s"
