"""`python -m inference` serving the seamless engine (tiny random weights), called over real gRPC on loopback."""

from __future__ import annotations

import importlib.util
import itertools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import numpy as np
import pytest
from harness.servers import REPO_ROOT
from harness.tiny_models import DECODER_CARD, UNITY_CARD, UNVOICED, VOICED, VOCODER_CARD

from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc

FRAME_BYTES = 640  # 20 ms at 16 kHz


def pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def session_requests(target: str, audio: bytes, speech_output: bool = True, reset_after: int | None = None):
    yield pb.TranslateRequest(config=pb.SessionConfig(target_language=target, sample_rate_hz=16_000,
                                                      speech_output=speech_output, client_label="tiny"))
    for index, offset in enumerate(range(0, len(audio), FRAME_BYTES)):
        yield pb.TranslateRequest(audio=pb.AudioChunk(pcm=audio[offset : offset + FRAME_BYTES]))
        if index == reset_after:
            yield pb.TranslateRequest(control=pb.Control(action=pb.Control.RESET))
    yield pb.TranslateRequest(control=pb.Control(action=pb.Control.END_OF_INPUT))


async def translate(address: str, requests) -> list[pb.TranslateResponse]:
    async with grpc.aio.insecure_channel(address) as channel:
        return [r async for r in pb_grpc.TranslatorStub(channel).Translate(requests)]


def events(responses: list[pb.TranslateResponse], kind: str) -> list:
    return [getattr(r, kind) for r in responses if r.WhichOneof("event") == kind]


async def test_the_worker_lists_the_languages_of_the_model_cards(seamless_worker):
    async with grpc.aio.insecure_channel(seamless_worker.address) as channel:
        reply = await pb_grpc.TranslatorStub(channel).ListLanguages(pb.ListLanguagesRequest())
    assert reply.engine == "seamless"
    assert [lang.code for lang in reply.speech_output_languages] == list(VOICED)
    assert UNVOICED in [lang.code for lang in reply.target_languages]


async def test_a_whole_session_through_the_worker(seamless_worker, spanish):
    """Config, audio in browser-sized frames, a reset in the middle, more audio, end of input."""
    audio = pcm(np.concatenate([spanish, spanish]))
    responses = await translate(seamless_worker.address,
                                session_requests("eng", audio, reset_after=len(spanish) * 2 // FRAME_BYTES))
    kinds = [r.WhichOneof("event") for r in responses]
    assert kinds[0] == "accepted" and kinds[-1] == "end"
    accepted = responses[0].accepted
    assert accepted.engine == "seamless" and accepted.output_sample_rate_hz == 16_000
    assert accepted.input_step_ms == 320  # the encoder's chunk: clients send frames this long
    assert UNITY_CARD in accepted.model
    assert "reset_done" in kinds
    after_reset = responses[kinds.index("reset_done"):]
    for part in (responses[: kinds.index("reset_done")], after_reset):
        transcripts = events(part, "transcript")
        assert any(t.is_final and t.text for t in transcripts), [r.WhichOneof("event") for r in part]
    finals = [t for t in events(after_reset, "transcript") if t.is_final]
    assert all(t.side == pb.TARGET and t.language == "eng" for t in finals)
    audio_out = events(after_reset, "audio")
    assert sum(len(a.pcm) for a in audio_out) > 0 and any(a.segment_end for a in audio_out)
    assert events(after_reset, "stats")
    assert responses[-1].input_offset_ms >= len(audio) // 32  # every byte of input was consumed


async def test_a_text_only_session_into_a_language_without_a_voice(seamless_worker, spanish):
    responses = await translate(seamless_worker.address, session_requests(UNVOICED, pcm(spanish), speech_output=False))
    assert responses[-1].WhichOneof("event") == "end"
    assert [t.text for t in events(responses, "transcript") if t.is_final]
    assert not [a for a in events(responses, "audio") if a.pcm]


async def test_speech_output_into_a_language_without_a_voice_is_refused(seamless_worker):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        # The config alone: the refusal answers it, and a write after it could race the refusal's status
        # (grpcio's client may then read INTERNAL instead: grpc/grpc#36066, README).
        await translate(seamless_worker.address, itertools.islice(session_requests(UNVOICED, b""), 1))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no speech output" in failure.value.details()


async def test_a_glossary_is_refused_until_the_engine_supports_one(seamless_worker):
    config = pb.SessionConfig(target_language=VOICED[0], engine_options={"glossary": "Siobhan"})
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await translate(seamless_worker.address, iter([pb.TranslateRequest(config=config)]))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "the seamless engine does not support the 'glossary' option" in failure.value.details()


async def test_the_gpu_check_drives_concurrent_sessions_through_a_running_worker(seamless_worker, spanish):
    spec = importlib.util.spec_from_file_location("gpu_check", REPO_ROOT / "bench" / "gpu_check.py")
    gpu_check = sys.modules["gpu_check"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    results = await gpu_check.run_level(seamless_worker.address, pcm(spanish), 16_000, "eng", 2)
    assert len(results) == 2 and all(r.stats and r.text and r.first_audio_s for r in results)
    sessions, *figures, segments = gpu_check.report(2, results).split()
    # Every column measured ("-" is a figure no session reported), segments counted over both sessions.
    assert sessions == "2" and all(float(figure) >= 0 for figure in figures), figures
    assert int(segments) == sum(len(r.stats) for r in results) >= 2


def test_the_gpu_check_prints_serial_against_batched_in_process(tiny_models, spanish, monkeypatch, capsys):
    """``gpu_check.py --streams``: the engine from the environment (here the tiny models on the CPU), both paths."""
    spec = importlib.util.spec_from_file_location("gpu_check", REPO_ROOT / "bench" / "gpu_check.py")
    gpu_check = sys.modules["gpu_check"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    for name, value in tiny_models.worker_environ().items():
        monkeypatch.setenv(name, value)
    gpu_check.compare_in_process(pcm(spanish), 16_000, "eng", [2])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 2 |")]
    assert len(rows) == 1
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert len(cells) == 13 and float(cells[1]) > 0 and float(cells[2]) > 0
    # serial / batched, from the unrounded figures: the printed ones (3 decimals, about 0.06) are 1 % apart at most
    assert float(cells[3]) == pytest.approx(float(cells[1]) / float(cells[2]), rel=0.05)


@pytest.mark.parametrize("batching", ["1", "0"])
async def test_a_worker_past_its_step_budget_refuses_a_new_stream_with_resource_exhausted(
        tiny_models, server_logs, spanish, batching):
    """A 1 ms step budget: the first stream is taken, a second one is refused once steps are measured.

    Two tiny-model streams cost more than 1 ms per step on any machine. Once the first
    stream has left, the idle worker takes a stream again. Both paths measure their steps.
    """
    import asyncio

    from harness.servers import running, start_worker

    env = {**tiny_models.worker_environ(), "S2ST_STEP_BUDGET_MS": "1", "S2ST_SEAMLESS_BATCHING": batching}
    with running(start_worker("seamless", env=env, log_dir=server_logs)) as worker:
        async with grpc.aio.insecure_channel(worker.address) as channel:
            stub = pb_grpc.TranslatorStub(channel)
            release = asyncio.Event()

            async def held_open():
                for request in session_requests("eng", pcm(spanish)):
                    if request.WhichOneof("request") == "control":
                        await release.wait()  # end of input only once the second stream was tried
                    yield request

            first = stub.Translate(held_open())
            async for response in first:  # the VAD heard speech: the engine has measured its steps
                if response.WhichOneof("event") == "speech":
                    break
            async def config_then_wait():  # sends nothing after the config: the answer is the worker's alone
                yield next(session_requests("eng", b""))
                await release.wait()

            with pytest.raises(grpc.aio.AioRpcError) as refused:
                [r async for r in stub.Translate(config_then_wait())]
            release.set()
            assert [r.WhichOneof("event") async for r in first][-1] == "end"
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "compute budget" in refused.value.details()
        deadline = asyncio.get_running_loop().time() + 30
        while worker.metric("s2st_worker_active_sessions"):  # the first stream's slot is freed after its end
            assert asyncio.get_running_loop().time() < deadline, "the first stream's slot was never freed"
            await asyncio.sleep(0.05)
        later = await translate(worker.address, session_requests("eng", b""))
        assert later[0].WhichOneof("event") == "accepted"


@contextmanager
def http_server(directory: Path) -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server for a directory, and the paths it was asked for."""
    asked: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
            asked.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_bake_script_fetches_every_asset_the_worker_then_loads_offline(tiny_models, tmp_path):
    """The image bakes weights before it copies the application: the script may import upstream code only.

    The assets are served over HTTP (fairseq2 reads file:// in place, which would fetch
    nothing); once the server is gone the engine must load from the baked cache alone.
    """
    cache = tmp_path / "cache"
    with http_server(tiny_models.directory) as (url, asked):
        cards = tiny_models.cards_served_from(url, tmp_path / "cards")
        env = {**os.environ, **tiny_models.worker_environ(), "FAIRSEQ2_ASSET_DIR": str(cards),
               "FAIRSEQ2_CACHE_DIR": str(cache)}
        code = ("import runpy, sys\n"
                f"runpy.run_path({str(REPO_ROOT / 'inference/engines/seamless/bake.py')!r}, run_name='__main__')\n"
                "ours = sorted(m for m in sys.modules if m == 'inference' or m.startswith(('inference.', 's2st')))\n"
                "assert not ours, ours\n")
        result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(name in result.stderr for name in (UNITY_CARD, DECODER_CARD, VOCODER_CARD))
    fetched = {path.lstrip("/") for path in asked}
    assert {"unity.pt", "monotonic_decoder.pt", "vocoder.pt", "text.model", "char.model"} <= fetched, fetched
    load = ("from inference.engines.seamless import SeamlessEngine\n"
            "import os\n"
            "SeamlessEngine.from_environ(os.environ).load()\n")
    offline = subprocess.run([sys.executable, "-c", load], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
    assert offline.returncode == 0, offline.stderr[-3000:]
