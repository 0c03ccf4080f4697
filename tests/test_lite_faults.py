"""Faults inside the lite engine's stages, over a real worker and gateway: a translation or synthesis
process killed mid-session costs one segment its translation or speech (a non-fatal `error`), is
restarted, and the session goes on."""

from __future__ import annotations

import asyncio
import os
import signal
import wave
from pathlib import Path

from harness.polling import until
from harness.servers import process_tree
from harness.speech import speak
from harness.wsclient import FILE_FRAME_BYTES, FILE_PACE_S, ProtocolClient, connect

SENTENCES = ("Good morning, my friend.", "Thank you very much for your help.", "The weather is nice today.")


def processes_of(worker, marker: str) -> list[int]:
    """Processes below the worker whose command line holds marker."""
    found = []
    for pid in process_tree(worker.process.pid)[1:]:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in command:
            found.append(pid)
    return found


async def say(client: ProtocolClient, path: Path) -> dict:
    """Send one sentence's audio at twice real time; return the final target transcript it makes."""
    with wave.open(str(path)) as reader:
        pcm = reader.readframes(reader.getnframes())

    async def send() -> None:
        for offset in range(0, len(pcm), FILE_FRAME_BYTES):
            await client.send(pcm[offset : offset + FILE_FRAME_BYTES])
            await asyncio.sleep(FILE_PACE_S)

    sender = asyncio.create_task(send())
    while True:
        event = await client.until("transcript", timeout=60)
        if event["final"] and event["side"] == "target":
            break
    await sender
    return event


async def session_with_a_fault(gateway, tmp_path, start: dict, kill) -> ProtocolClient:
    """Three sentences; `kill` runs after the first one's translation came back."""
    async with connect(gateway.ws_url) as ws:
        client = ProtocolClient(ws)
        assert (await client.start(**start))["type"] == "ready"
        await say(client, speak(SENTENCES[0], "en-us", tmp_path / "0.wav"))
        kill()
        for index in (1, 2):
            await say(client, speak(SENTENCES[index], "en-us", tmp_path / f"{index}.wav"))
        await client.send({"type": "stop"})
        await client.until("ended", timeout=60)
    return client


def kill_group(pids: list[int]) -> None:
    """Kill the process groups of pids: Apertium's pipeline of programs runs in a group of its own."""
    assert pids, "nothing to kill"
    groups = {os.getpgid(pid) for pid in pids}
    assert os.getpgid(0) not in groups  # never this test's own group
    for pgid in groups:
        os.killpg(pgid, signal.SIGKILL)


def kill(pids: list[int]) -> None:
    assert pids, "nothing to kill"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


async def test_a_killed_apertium_process_costs_one_segment_and_is_restarted(lite_worker, lite_gateway, tmp_path):
    client = await session_with_a_fault(lite_gateway, tmp_path, {"source_language": "eng", "target_language": "spa"},
                                        lambda: kill_group(processes_of(lite_worker, "eng-spa.automorf.bin")))
    errors = [e for e in client.events if e["type"] == "error"]
    assert [(e["code"], e["fatal"]) for e in errors] == [("translation_failed", False)], [
        (e["type"], e.get("side"), e.get("final"), e.get("text")) for e in client.events]
    assert "Apertium eng-spa" in errors[0]["message"]
    targets = [e["text"].lower() for e in client.events if e["type"] == "transcript" and e["side"] == "target"
               and e["final"]]
    assert "amigo" in targets[0] and "tiempo" in targets[-1], targets  # restarted: the last sentence is Spanish
    await until(lambda: processes_of(lite_worker, "eng-spa.automorf.bin"), what="apertium running again")


async def test_a_killed_voice_process_costs_one_segment_its_speech_and_is_restarted(lite_worker, lite_gateway,
                                                                                     tmp_path):
    client = await session_with_a_fault(lite_gateway, tmp_path, {"source_language": "eng", "target_language": "eng"},
                                        lambda: kill(processes_of(lite_worker, "piper_worker")))
    errors = [e for e in client.events if e["type"] == "error"]
    assert [(e["code"], e["fatal"]) for e in errors] == [("synthesis_failed", False)], errors
    silent = errors[0]["segment_id"]
    spoken = {frame.segment_id for frame in client.audio if frame.pcm}
    assert silent not in spoken and max(spoken) > silent  # speech again after the restart
    targets = [e for e in client.events if e["type"] == "transcript" and e["side"] == "target" and e["final"]]
    assert len(targets) == 3 and all(e["text"] for e in targets)  # every segment's text came
