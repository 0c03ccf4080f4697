"""A small WebSocket client of the browser protocol, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import json
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

from gateway.protocol import AUDIO_HEADER  # the wire format's one definition

RECEIVE_TIMEOUT_S = 10.0


@dataclass
class AudioFrame:
    segment_id: int
    sequence: int
    input_offset_ms: int
    pcm: bytes


@dataclass
class ProtocolClient:
    """Sends protocol messages and collects what the gateway answers, in order."""

    ws: websockets.ClientConnection
    events: list[dict[str, Any]] = field(default_factory=list)
    audio: list[AudioFrame] = field(default_factory=list)

    async def send(self, message: dict[str, Any] | bytes | str) -> None:
        await self.ws.send(json.dumps(message) if isinstance(message, dict) else message)

    async def receive(self, timeout: float = RECEIVE_TIMEOUT_S) -> dict[str, Any] | AudioFrame:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        if isinstance(raw, bytes):
            frame = AudioFrame(*AUDIO_HEADER.unpack_from(raw), raw[AUDIO_HEADER.size:])
            self.audio.append(frame)
            return frame
        event = json.loads(raw)
        self.events.append(event)
        return event

    async def until(self, *event_types: str, timeout: float = RECEIVE_TIMEOUT_S) -> dict[str, Any]:
        """Receive until an event of one of event_types arrives; return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            item = await self.receive(max(0.01, deadline - loop.time()))
            if isinstance(item, dict) and item["type"] in event_types:
                return item

    async def start(self, **fields: Any) -> dict[str, Any]:
        await self.send({"type": "start", "target_language": "eng", **fields})
        return await self.until("ready", "error")

    def received_pcm(self) -> bytes:
        return b"".join(frame.pcm for frame in self.audio)


async def open_session(ws: websockets.ClientConnection, **fields: Any) -> dict[str, Any]:
    """Send `start` on a raw socket and return `ready`; raise on the error that refuses it (busy, ...)."""
    await ws.send(json.dumps({"type": "start", "target_language": "eng", **fields}))
    while True:
        raw = await ws.recv()
        event = json.loads(raw) if isinstance(raw, str) else {}
        if event.get("type") == "ready":
            return event
        if event.get("type") == "error":
            raise RuntimeError(f"the gateway refused the session: {event['code']}: {event['message']}")


def connect(url: str, **kwargs: Any) -> websockets.connect:
    """Open a protocol connection: `async with connect(url) as ws: client = ProtocolClient(ws)`."""
    return websockets.connect(url, max_size=2**21, **kwargs)


FILE_FRAME_BYTES = 640  # 20 ms at 16 kHz
FILE_PACE_S = 0.01  # twice real time: fast, yet the worker still sees a stream


async def stream_file(ws_url: str, path: Path, timeout: float = 60, **start: Any) -> ProtocolClient:
    """One session over a new socket: `start`, a WAV file's audio at twice real time, `stop`, until `ended`."""
    with wave.open(str(path)) as reader:
        pcm, rate = reader.readframes(reader.getnframes()), reader.getframerate()
    async with connect(ws_url) as ws:
        client = ProtocolClient(ws)
        ready = await client.start(sample_rate=rate, **start)
        assert ready["type"] == "ready", ready

        async def send_audio() -> None:
            for offset in range(0, len(pcm), FILE_FRAME_BYTES):
                await client.send(pcm[offset : offset + FILE_FRAME_BYTES])
                await asyncio.sleep(FILE_PACE_S)
            await client.send({"type": "stop"})

        sender = asyncio.create_task(send_audio())
        await client.until("ended", timeout=timeout)
        await sender
    return client


async def returned_audio(ws_url: str, pcm: bytes, frame_bytes: int = FILE_FRAME_BYTES) -> bytes:
    """One session on a new socket: `start`, pcm in frames, `stop`, until `ended`; the audio that came back
    (through an echo worker: the same bytes)."""
    async with connect(ws_url) as ws:
        client = ProtocolClient(ws)
        ready = await client.start()
        assert ready["type"] == "ready", ready
        for offset in range(0, len(pcm), frame_bytes):
            await client.send(pcm[offset : offset + frame_bytes])
        await client.send({"type": "stop"})
        await client.until("ended")
    return client.received_pcm()


def finals(client: ProtocolClient, side: str) -> str:
    """The final transcripts of one side (`source` or `target`), joined."""
    return " ".join(e["text"] for e in client.events if e["type"] == "transcript" and e["side"] == side and e["final"])
