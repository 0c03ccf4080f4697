"""The worker's gRPC surface, called directly as any service would: real grpc.aio server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from harness.polling import until
from harness.servers import running, start_worker, worker_serving

from gateway.worker.client import KEEPALIVE_PING_MS
from inference.server import SERVICE_NAME
from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc
from s2st.v1.limits import MIN_KEEPALIVE_PING_INTERVAL_MS


def config(**fields) -> pb.TranslateRequest:
    return pb.TranslateRequest(config=pb.SessionConfig(target_language="eng", **fields))


def audio(pcm: bytes) -> pb.TranslateRequest:
    return pb.TranslateRequest(audio=pb.AudioChunk(pcm=pcm))


END = pb.TranslateRequest(control=pb.Control(action=pb.Control.END_OF_INPUT))


async def translate(address: str, requests: list[pb.TranslateRequest]) -> list[pb.TranslateResponse]:
    async with grpc.aio.insecure_channel(address) as channel:
        return [r async for r in pb_grpc.TranslatorStub(channel).Translate(iter(requests))]


def active_sessions(worker) -> float:
    for line in worker.metrics_text().splitlines():
        if line.startswith("s2st_worker_active_sessions "):
            return float(line.split()[1])
    raise AssertionError("s2st_worker_active_sessions not exported")


async def test_a_stream_must_open_with_a_config(echo_worker):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await translate(echo_worker.address, [audio(b"\x00\x00")])
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "first request" in failure.value.details()


@pytest.mark.parametrize(("requests", "words"), [
    ([config(), config()], "one config"),
    ([config(), audio(b"\x00" * 3)], "whole 16-bit samples"),
    ([config(), audio(b"\x00" * 66000)], "2 to 65536 bytes"),
    ([config(), pb.TranslateRequest(control=pb.Control())], "unknown control"),
    ([config(encoding=7)], "LINEAR16"),
    ([config(client_label="x" * 65)], "client_label"),
])
async def test_contract_breaches_end_the_stream_with_invalid_argument(echo_worker, requests, words):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await translate(echo_worker.address, requests)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in failure.value.details()


async def test_messages_beyond_the_transport_limit_are_refused_as_resource_exhausted(echo_worker):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await translate(echo_worker.address, [config(), audio(b"\x00" * 80000)])
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_a_stream_yields_accepted_events_audio_stats_and_end(echo_worker):
    pcm = np.arange(-1600, 1600, dtype="<i2").tobytes()
    responses = await translate(echo_worker.address, [config(), audio(pcm), END])
    kinds = [r.WhichOneof("event") for r in responses]
    assert kinds[0] == "accepted" and kinds[-1] == "end"
    assert {"speech", "audio", "stats"} <= set(kinds)
    assert b"".join(r.audio.pcm for r in responses if r.HasField("audio")) == pcm
    assert responses[-1].input_offset_ms == 200


async def test_input_at_48_khz_is_resampled_to_the_engine_rate(echo_worker):
    seconds = 1.0
    t = np.arange(int(48000 * seconds)) / 48000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2").tobytes()
    chunks = [audio(tone[i : i + 3840]) for i in range(0, len(tone), 3840)]
    responses = await translate(echo_worker.address, [config(sample_rate_hz=48000), *chunks, END])
    out = np.frombuffer(b"".join(r.audio.pcm for r in responses if r.HasField("audio")), dtype="<i2")
    assert abs(len(out) - 16000 * seconds) <= 32
    spectrum = np.abs(np.fft.rfft(out.astype(np.float64)))
    assert abs(np.argmax(spectrum) * 16000 / len(out) - 440) < 5
    assert responses[-1].input_offset_ms == 1000


async def test_list_languages_names_each_code(echo_worker):
    async with grpc.aio.insecure_channel(echo_worker.address) as channel:
        reply = await pb_grpc.TranslatorStub(channel).ListLanguages(pb.ListLanguagesRequest())
    assert reply.engine == "echo"
    assert [(lang.code, lang.name) for lang in reply.target_languages] == [("eng", "English")]
    # An engine without routes of its own reaches every target from every source: echo, English into itself.
    assert [(list(r.sources), list(r.targets)) for r in reply.routes] == [(["eng"], ["eng"])]


async def test_health_and_reflection_are_served(echo_worker):
    async with grpc.aio.insecure_channel(echo_worker.address) as channel:
        health = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="s2st.v1.Translator"))
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        services = [s.name async for r in reflection for s in r.list_services_response.service]
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert "s2st.v1.Translator" in services and "grpc.health.v1.Health" in services


async def test_a_cancelled_stream_frees_its_session(echo_worker):
    async with grpc.aio.insecure_channel(echo_worker.address) as channel:
        call = pb_grpc.TranslatorStub(channel).Translate()
        await call.write(config())
        await call.read()
        assert active_sessions(echo_worker) >= 1
        call.cancel()
    await until(lambda: active_sessions(echo_worker) == 0, timeout=5, interval=0.05, what="the slot was not freed")


async def quiet_stream_failure(worker) -> tuple[grpc.aio.AioRpcError, float]:
    """Open a stream, send one chunk, then go quiet without ending: how the worker ends it, and after how long."""
    async with grpc.aio.insecure_channel(worker.address) as channel:
        call = pb_grpc.TranslatorStub(channel).Translate()
        await call.write(config())
        await call.write(audio(b"\x00" * 640))
        began = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            while await call.read() is not grpc.aio.EOF:
                pass
    return failure.value, time.monotonic() - began


async def test_sessions_past_the_maximum_length_end_with_deadline_exceeded(server_logs):
    with running(start_worker("echo", {"S2ST_MAX_SESSION_SECONDS": "0.5"}, log_dir=server_logs)) as worker:
        failure, _ = await quiet_stream_failure(worker)
    assert failure.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "maximum length" in failure.details()


async def test_a_stream_the_worker_ends_says_its_status_in_band_first(server_logs):
    """The StreamEnding a grpcio client still writing reads when grpcio loses the status itself (grpc/grpc#36066)."""
    with running(start_worker("echo", {"S2ST_MAX_SESSION_SECONDS": "0.5"}, log_dir=server_logs)) as worker:
        async with grpc.aio.insecure_channel(worker.address) as channel:
            call = pb_grpc.TranslatorStub(channel).Translate()
            await call.write(config())
            await call.write(audio(b"\x00" * 640))
            responses = []
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                while (response := await call.read()) is not grpc.aio.EOF:
                    responses.append(response)
                    if response.HasField("ending"):
                        await call.done_writing()  # as the contract asks: the worker sends its status at once
    kinds = [response.WhichOneof("event") for response in responses]
    assert (kinds[0], kinds[-1], kinds.count("ending")) == ("accepted", "ending", 1)
    ending = responses[-1].ending
    assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert (ending.status, ending.message) == ("DEADLINE_EXCEEDED", failure.value.details())


async def test_sigterm_turns_health_off_lets_live_streams_finish_and_refuses_new_ones(server_logs):
    worker = start_worker("echo", {"S2ST_SHUTDOWN_GRACE_SECONDS": "10"}, log_dir=server_logs)
    with running(worker):
        async with grpc.aio.insecure_channel(worker.address) as channel:
            stub = pb_grpc.TranslatorStub(channel)
            live = stub.Translate()
            await live.write(config())
            await live.read()
            worker.process.send_signal(signal.SIGTERM)
            await until(lambda: not worker_serving(worker.address), what="the worker still says SERVING")
            health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await translate(worker.address, [config(), END])
            await live.write(audio(b"\x01\x00" * 320))
            await live.write(END)
            await live.done_writing()
            rest = []
            while (response := await live.read()) is not grpc.aio.EOF:
                rest.append(response)
        assert rest[-1].HasField("end")
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert worker.process.wait(15) == 0


def outcome_count(worker, outcome: str) -> float:
    prefix = f's2st_worker_sessions_total{{engine="echo",outcome="{outcome}"}} '
    return next((float(line.split()[-1]) for line in worker.metrics_text().splitlines() if line.startswith(prefix)),
                0.0)


async def test_clients_that_stop_reading_lose_their_slots_and_the_worker_stays_bounded(server_logs):
    from harness.servers import rss_mb

    # 20 queued chunks of 64 KiB per stream: what the worker may hold for a client that does not read.
    env = {"S2ST_MAX_SESSIONS": "4", "S2ST_MAX_SESSION_SECONDS": "30", "S2ST_CLIENT_STALL_SECONDS": "2",
           "S2ST_INPUT_QUEUE_CHUNKS": "20"}
    with running(start_worker("echo", env, log_dir=server_logs)) as worker:
        before = rss_mb(worker.process.pid)
        async with grpc.aio.insecure_channel(worker.address) as channel:
            stub = pb_grpc.TranslatorStub(channel)
            hogs = []
            for _ in range(4):
                call = stub.Translate()
                await call.write(config())
                hogs.append(call)

            async def flood(call) -> None:  # 64 KiB chunks, all echoed back, none read
                with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                    for _ in range(400):
                        await call.write(audio(b"\x01\x00" * 32768))

            flooding = [asyncio.create_task(flood(call)) for call in hogs]
            await until(lambda: active_sessions(worker) == 4, what="the four sessions did not open")
            await until(lambda: active_sessions(worker) == 0, what="a client that reads nothing still holds its slot")
            grown = rss_mb(worker.process.pid) - before
            responses = await translate(worker.address, [config(), audio(b"\x02\x00" * 320), END])
            assert responses[-1].HasField("end")  # a well-behaved client gets a slot at once
            for task in flooding:
                task.cancel()
            for call in hogs:
                call.cancel()
    assert grown < 60, f"worker RSS grew {grown:.0f} MB"
    assert "client stopped reading" in worker.log()


async def test_a_stream_that_never_sends_its_config_is_counted_then_ended(server_logs):
    with running(start_worker("echo", {"S2ST_CONFIG_TIMEOUT_SECONDS": "1"}, log_dir=server_logs)) as worker:
        async with grpc.aio.insecure_channel(worker.address) as channel:
            call = pb_grpc.TranslatorStub(channel).Translate()
            await until(lambda: worker.metric("s2st_worker_pending_streams") == 1, timeout=5, interval=0.05,
                        what="the stream was not counted as pending")
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await call.read()
        assert worker.metric("s2st_worker_pending_streams") == 0
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no config within 1 s" in failure.value.details()


async def test_streams_waiting_for_their_config_are_capped_and_one_more_is_refused_at_once(server_logs):
    env = {"S2ST_MAX_PENDING_STREAMS": "3", "S2ST_CONFIG_TIMEOUT_SECONDS": "30"}
    with running(start_worker("echo", env, log_dir=server_logs)) as worker:
        async with grpc.aio.insecure_channel(worker.address) as channel:
            stub = pb_grpc.TranslatorStub(channel)
            waiting = [stub.Translate() for _ in range(3)]
            await until(lambda: worker.metric("s2st_worker_pending_streams") == 3)
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await stub.Translate().read()  # not after the config timeout: now
            assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "waiting for their config" in failure.value.details()
            await waiting[0].write(config())  # a waiting stream that sends its config is served, and frees a place
            assert (await waiting[0].read()).HasField("accepted")
            newcomer = stub.Translate()
            await newcomer.write(config())
            assert (await newcomer.read()).HasField("accepted")
            for call in (*waiting, newcomer):
                call.cancel()


async def test_audio_sent_faster_than_real_time_reaches_the_engine_at_real_time_beyond_the_burst(server_logs):
    """Four seconds of audio sent at once, a burst of one: the worker never runs more than a second ahead of the
    clock. (Only an upper bound on its pace is asserted: a slow machine makes it slower, never faster.)"""
    burst_s = 1.0
    with running(start_worker("echo", {"S2ST_AUDIO_BURST_SECONDS": str(burst_s)}, log_dir=server_logs)) as worker:
        chunk = b"\x01\x00" * 1600  # 100 ms
        began = time.monotonic()
        ahead = []
        async with grpc.aio.insecure_channel(worker.address) as channel:
            call = pb_grpc.TranslatorStub(channel).Translate(iter([config(), *[audio(chunk)] * 40, END]))
            echoed = 0
            async for response in call:
                if response.HasField("audio"):
                    echoed += len(response.audio.pcm)
                    ahead.append(response.input_offset_ms / 1000 - (time.monotonic() - began))
    assert echoed == len(chunk) * 40  # all of it, in its time
    assert max(ahead) <= burst_s + 0.1, f"the engine ran {max(ahead):.2f} s ahead of real time"


async def test_a_session_without_audio_ends_as_idle_and_frees_its_slot(server_logs):
    with running(start_worker("echo", {"S2ST_IDLE_SESSION_SECONDS": "1"}, log_dir=server_logs)) as worker:
        failure, waited = await quiet_stream_failure(worker)
        assert active_sessions(worker) == 0
    assert failure.code() == grpc.StatusCode.ABORTED and "no audio for 1 s" in failure.details()
    assert 0.8 < waited < 3


async def test_streams_the_client_cancels_are_counted_as_cancelled_not_ok(server_logs):
    with running(start_worker("echo", log_dir=server_logs)) as worker:
        async with grpc.aio.insecure_channel(worker.address) as channel:
            stub = pb_grpc.TranslatorStub(channel)
            for index in range(20):
                call = stub.Translate()
                await call.write(config())
                await call.read()
                if index % 2:
                    await call.write(audio(b"\x00" * 640))
                call.cancel()
        await until(lambda: outcome_count(worker, "CANCELLED") >= 20, timeout=5, what="cancellations not counted")
        assert (outcome_count(worker, "CANCELLED"), outcome_count(worker, "ok")) == (20, 0)


@pytest.mark.timeout(90)
async def test_keepalive_pings_as_often_as_the_contract_allows_never_end_a_silent_stream(echo_worker):
    """A gateway watches each worker's health on a stream that stays silent for hours, pinging all along; gRPC's
    default policy would answer the third ping with GOAWAY "too many pings", ending every stream on the
    connection (live sessions with it)."""
    assert KEEPALIVE_PING_MS >= MIN_KEEPALIVE_PING_INTERVAL_MS  # the gateway keeps to the contract
    options = [("grpc.keepalive_time_ms", MIN_KEEPALIVE_PING_INTERVAL_MS),
               ("grpc.http2.max_pings_without_data", 0)]  # keep pinging however silent the worker is
    async with grpc.aio.insecure_channel(echo_worker.address, options=options) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
        first = await watch.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        next_status = asyncio.ensure_future(watch.read())  # (cancelling a read would cancel the call)
        await asyncio.wait([next_status], timeout=4.5 * MIN_KEEPALIVE_PING_INTERVAL_MS / 1000)  # four pings' time
        assert not next_status.done(), next_status.exception() or next_status.result()
        watch.cancel()
