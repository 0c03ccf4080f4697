"""`python -m inference` serving the seamless engine (tiny random weights), called over real gRPC on loopback."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import grpc
import numpy as np
import pytest
from tests.harness.servers import REPO_ROOT
from tests.harness.tiny_models import DECODER_CARD, UNITY_CARD, UNVOICED, VOICED, VOCODER_CARD

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
        await translate(seamless_worker.address, session_requests(UNVOICED, b""))
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
    assert len(results) == 2 and all(r.stats and r.text for r in results)
    assert "2" in gpu_check.report(2, results)


def test_the_bake_script_fetches_every_asset_without_the_application_code(tiny_models, tmp_path):
    """The image bakes weights before it copies the application: the script may import upstream code only."""
    env = {**os.environ, **tiny_models.worker_environ(), "FAIRSEQ2_CACHE_DIR": str(tmp_path / "cache")}
    code = ("import runpy, sys\n"
            f"runpy.run_path({str(REPO_ROOT / 'inference/engines/seamless/bake.py')!r}, run_name='__main__')\n"
            "ours = sorted(m for m in sys.modules if m == 'inference' or m.startswith(('inference.', 's2st')))\n"
            "assert not ours, ours\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(name in result.stderr for name in (UNITY_CARD, DECODER_CARD, VOCODER_CARD))
