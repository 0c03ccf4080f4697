"""Speech in, translated speech out, over the full path: WebSocket -> gateway -> gRPC -> worker -> lite engine."""

from __future__ import annotations

import json
import urllib.request

import pytest
from harness.speech import SENTENCES, phrases, rms, speak
from harness.wsclient import ProtocolClient, connect, finals, stream_file


@pytest.mark.parametrize("language", ["spa", "fra"])
async def test_speech_comes_back_as_english_speech_with_transcripts(lite_gateway, tmp_path, language):
    voice, text = SENTENCES[language]
    client = await stream_file(lite_gateway.ws_url, speak(text, voice, tmp_path / f"{language}.wav"),
                                  source_language=language)
    translation = finals(client, "target").lower()
    assert any(word in translation for word in ("good morning", "thank", "hello", "help")), translation
    assert finals(client, "source")
    speech = client.received_pcm()
    assert 0.8 < len(speech) / 2 / 16000 < 8
    assert rms(speech) > 0.02
    stats = [e for e in client.events if e["type"] == "stats"]
    assert stats and stats[0]["ending_offset_ms"] is not None and stats[0]["first_output_latency_ms"] is not None


async def test_partial_transcripts_arrive_before_the_final_one(lite_gateway, tmp_path):
    voice, text = SENTENCES["spa"]
    client = await stream_file(lite_gateway.ws_url, speak(f"{text} {text}", voice, tmp_path / "long.wav"),
                                  source_language="spa")
    transcripts = [e for e in client.events if e["type"] == "transcript"]
    assert not transcripts[0]["final"]
    assert any(e["final"] for e in transcripts)


async def test_48_khz_input_is_translated_like_16_khz(lite_gateway, tmp_path):
    voice, text = SENTENCES["spa"]
    client = await stream_file(lite_gateway.ws_url, speak(text, voice, tmp_path / "es48.wav", rate=48000),
                                  source_language="spa")
    assert "thank" in finals(client, "target").lower() or "morning" in finals(client, "target").lower()


ENGLISH = ("en-us", "Good morning. Thank you very much for your help, my friend.")


async def test_english_speech_becomes_spanish_text_and_speech(lite_gateway, tmp_path):
    voice, text = ENGLISH
    client = await stream_file(lite_gateway.ws_url, speak(text, voice, tmp_path / "en.wav"),
                               source_language="eng", target_language="spa")
    translation = finals(client, "target").lower()
    assert "buenos" in translation and "gracias" in translation, translation
    assert {e["language"] for e in client.events if e["type"] == "transcript" and e["side"] == "target"} == {"spa"}
    speech = client.received_pcm()
    assert 0.8 < len(speech) / 2 / 16000 < 10
    assert rms(speech) > 0.02
    assert not [e for e in client.events if e["type"] == "error"]


@pytest.mark.parametrize("start, words", [
    ({"target_language": "deu"}, "cannot translate into German (deu)"),
    ({"source_language": "deu", "target_language": "spa"}, "cannot translate German (deu) into Spanish (spa)"),
])
async def test_a_pair_the_engine_cannot_do_is_refused_naming_the_pair(lite_gateway, start, words):
    async with connect(lite_gateway.ws_url) as ws:
        error = await ProtocolClient(ws).start(**start)
    assert (error["code"], error["fatal"]) == ("invalid_config", True)
    assert words in error["message"]


async def test_a_detected_language_that_cannot_reach_the_target_gets_no_route_and_its_source_text(
        lite_gateway, tmp_path):
    """Spanish detected, Catalan asked for (only English reaches it): the segment's `no_route` error, not fatal,
    carries its segment id and names the pair; the source text still comes, and the session ends cleanly."""
    voice, text = SENTENCES["spa"]
    client = await stream_file(lite_gateway.ws_url, speak(text, voice, tmp_path / "es.wav"), target_language="cat")
    errors = [e for e in client.events if e["type"] == "error"]
    assert [(e["code"], e["fatal"]) for e in errors] == [("no_route", False)], errors
    assert "Spanish (spa)" in errors[0]["message"] and "Catalan (cat)" in errors[0]["message"]
    sources = {e["segment_id"] for e in client.events if e["type"] == "transcript" and e["side"] == "source"}
    assert errors[0]["segment_id"] in sources
    assert "gracias" in finals(client, "source").lower()
    assert client.events[-1]["type"] == "ended"


def test_languages_say_which_targets_each_source_reaches_and_with_which_voice(lite_gateway):
    with urllib.request.urlopen(f"{lite_gateway.base_url}/api/languages", timeout=10) as reply:
        languages = json.load(reply)
    assert languages["engine"] == "lite"
    codes = {lang["code"] for lang in languages["source_languages"]}
    assert {"spa", "fra", "deu"} <= codes
    assert {"eng", "spa"} <= {lang["code"] for lang in languages["target_languages"]}
    reach = {source: set(route["targets"]) for route in languages["routes"] for source in route["sources"]}
    assert {"eng", "spa"} <= reach["eng"] and {"eng"} <= reach["spa"]
    assert reach["deu"] == {"eng"}  # Whisper translates it into English; no installed pair goes further
    voices = {voice["language"]: voice for voice in languages["voices"]}
    assert {"eng", "spa"} <= set(voices) <= {lang["code"] for lang in languages["speech_output_languages"]}
    assert (voices["spa"]["kind"], voices["spa"]["label"], voices["spa"]["fallback_reason"]) == \
        ("kokoro", "Kokoro jm_kumo", "")  # the default: it measures far clearer than eSpeak NG
    assert voices["eng"]["kind"] == "piper" and voices["fra"]["kind"] == "espeak"


async def test_an_unknown_source_language_is_refused_with_a_readable_reason(lite_gateway):
    async with connect(lite_gateway.ws_url) as ws:
        error = await ProtocolClient(ws).start(source_language="xxx")
    assert (error["code"], error["fatal"]) == ("invalid_config", True)
    assert "xxx" in error["message"]


def test_health_says_not_serving_while_the_model_loads(server_logs):
    import time

    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from harness.servers import running, start_worker

    seen = []
    with running(start_worker("lite", log_dir=server_logs, wait=False)) as worker:
        deadline = time.monotonic() + 120
        # Retry the connection every 20 ms (not gRPC's default 1 s backoff) so a fast load is seen too.
        retry_fast = [("grpc.initial_reconnect_backoff_ms", 20), ("grpc.min_reconnect_backoff_ms", 20),
                      ("grpc.max_reconnect_backoff_ms", 20)]
        with grpc.insecure_channel(worker.address, options=retry_fast) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline and (not seen or seen[-1] != "SERVING"):
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    seen.append(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
                except grpc.RpcError:
                    pass  # not listening yet
                time.sleep(0.02)
    assert "NOT_SERVING" in seen and seen[-1] == "SERVING"
    assert seen.index("NOT_SERVING") < seen.index("SERVING")


async def test_french_chosen_for_spanish_speech_gets_a_language_hint_and_finals_carry_their_confidence(
        lite_gateway, tmp_path):
    voice, text = SENTENCES["spa"]
    client = await stream_file(lite_gateway.ws_url, speak(f"{text} {text}", voice, tmp_path / "es.wav"),
                               source_language="fra")
    hints = [e for e in client.events if e["type"] == "language_hint"]
    assert len(hints) == 1, hints  # once per session and language
    assert (hints[0]["language"], hints[0]["source_language"]) == ("spa", "fra")
    assert hints[0]["probability"] > 0.8 > 0.1 > hints[0]["source_probability"]
    transcripts = [e for e in client.events if e["type"] == "transcript"]
    assert all(0 <= e["confidence"] <= 1 for e in transcripts if e["final"]) and any(e["final"] for e in transcripts)
    assert not any("confidence" in e for e in transcripts if not e["final"])
    assert min(e["confidence"] for e in transcripts if e["final"] and e["side"] == "source") < 0.4  # French gibberish


SHORT_REPLIES = ("Hasta luego.", "Por favor.", "Buenos días.")  # each under a second of speech


async def test_short_replies_each_too_short_to_identify_get_a_language_hint_together(lite_gateway, tmp_path):
    # Each reply is its own segment, under the 1.5 s Whisper's language identification needs; the session's
    # speech so far is what gets identified.
    replies = phrases([(reply, 1.2) for reply in SHORT_REPLIES], "es", tmp_path / "replies.wav")
    client = await stream_file(lite_gateway.ws_url, replies, source_language="fra")
    source_finals = [e for e in client.events if e["type"] == "transcript" and e["final"] and e["side"] == "source"]
    assert len(source_finals) >= 2, source_finals  # more than one segment
    hints = [e for e in client.events if e["type"] == "language_hint"]
    assert [(e["language"], e["source_language"]) for e in hints] == [("spa", "fra")]
