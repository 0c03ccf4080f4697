"""Nothing is invented from silence or noise: minutes of it through the real lite engine, over gRPC."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from harness.speech import NOISES, noise, read_pcm, speak

from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc

NOISE_SECONDS = 120
CHUNK_BYTES = 32_000  # 1 s a request: the worker's own pace, as fast as it takes them


async def responses_to(address: str, pcm: bytes) -> list[pb.TranslateResponse]:
    def requests():
        yield pb.TranslateRequest(config=pb.SessionConfig(target_language="eng", source_language="spa"))
        for offset in range(0, len(pcm), CHUNK_BYTES):
            yield pb.TranslateRequest(audio=pb.AudioChunk(pcm=pcm[offset : offset + CHUNK_BYTES]))
        yield pb.TranslateRequest(control=pb.Control(action=pb.Control.END_OF_INPUT))

    async with grpc.aio.insecure_channel(address) as channel:
        return [r async for r in pb_grpc.TranslatorStub(channel).Translate(requests())]


@pytest.mark.parametrize("kind", [*NOISES, "clicks"])
async def test_minutes_of_silence_or_noise_produce_no_text_speech_or_stats(lite_worker, tmp_path, kind):
    pcm, _ = read_pcm(noise(kind, NOISE_SECONDS, tmp_path / "noise.wav"))
    kinds = [r.WhichOneof("event") for r in await responses_to(lite_worker.address, pcm)]
    assert kinds == ["accepted", "end"], kinds


async def test_speech_inside_noise_still_passes(lite_worker, tmp_path):
    speech, _ = read_pcm(speak("Buenos días. Muchas gracias por su ayuda, amigo.", "es", tmp_path / "es.wav"))
    hiss, _ = read_pcm(noise("loud pink noise", len(speech) / 32_000, tmp_path / "pink.wav"))
    mixed = (np.frombuffer(speech, "<i2") + np.frombuffer(hiss, "<i2")[: len(speech) // 2] // 5).astype("<i2")
    responses = await responses_to(lite_worker.address, mixed.tobytes())
    finals = [r.transcript.text for r in responses if r.HasField("transcript") and r.transcript.is_final
              and r.transcript.side == pb.TARGET]
    assert any("morning" in text.lower() or "thank" in text.lower() for text in finals), finals
