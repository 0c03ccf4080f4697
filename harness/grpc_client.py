"""A client of the worker's gRPC API that streams a recording as a microphone would."""

from __future__ import annotations

import asyncio
import time

import grpc

from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc

CHUNK_BYTES = 640  # 20 ms of 16 kHz 16-bit audio
CHUNK_SECONDS = 0.02


async def translate_in_real_time(address: str, config: pb.SessionConfig, pcm: bytes) -> list[pb.TranslateResponse]:
    """One Translate stream: config, pcm in 20 ms chunks at real-time pace, end of input; every response,
    read while the audio is still being sent (as the worker expects of a live client)."""
    async with grpc.aio.insecure_channel(address) as channel:
        call = pb_grpc.TranslatorStub(channel).Translate()
        await call.write(pb.TranslateRequest(config=config))

        async def send() -> None:
            start = time.perf_counter()
            for index, offset in enumerate(range(0, len(pcm), CHUNK_BYTES)):
                await asyncio.sleep(max(0.0, start + index * CHUNK_SECONDS - time.perf_counter()))
                await call.write(pb.TranslateRequest(audio=pb.AudioChunk(pcm=pcm[offset : offset + CHUNK_BYTES])))
            await call.write(pb.TranslateRequest(control=pb.Control(action=pb.Control.END_OF_INPUT)))
            await call.done_writing()

        sender = asyncio.create_task(send())
        responses = [response async for response in call]
        await sender
        return responses
