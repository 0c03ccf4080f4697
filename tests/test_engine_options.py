"""Engine options over the real gRPC API: what each engine accepts, what every bad value gets, and what a
glossary does to the lite engine's spelling of names."""

from __future__ import annotations

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from harness.speech import speak
from harness.wsclient import finals, stream_file

from inference.engines.base import UnsupportedConfig
from inference.engines.options import MAX_GLOSSARY_TERMS, parse_engine_options
from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc


async def refusal(address: str, options: dict[str, str]) -> str:
    """The INVALID_ARGUMENT details of a session opened with these options."""
    config = pb.SessionConfig(target_language="eng", engine_options=options)
    async with grpc.aio.insecure_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in pb_grpc.TranslatorStub(channel).Translate(iter([pb.TranslateRequest(config=config)])):
                pass
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return refused.value.details()


@pytest.mark.parametrize(("options", "words"), [
    ({"beam": "5"}, "unknown engine option 'beam'; known: glossary"),
    ({"glossary": "; ".join(f"term{i}" for i in range(MAX_GLOSSARY_TERMS + 1))}, "at most 20 terms"),
    ({"glossary": "x" * 49}, "at most 48 characters"),
    ({"glossary": "<|endoftext|>"}, "has '<'"),
    ({"glossary": "tab\tbed"}, "has '\\t'"),
], ids=["unknown", "too many terms", "long term", "special token", "control character"])
async def test_bad_options_are_refused_with_a_reason(lite_worker, options, words):
    assert words in await refusal(lite_worker.address, options)


async def test_an_engine_without_a_glossary_refuses_it_by_name(echo_worker):
    assert "the echo engine does not support the 'glossary' option yet" in await refusal(
        echo_worker.address, {"glossary": "Siobhan"})


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["glossary", "beam"]) | st.text(), st.text()))
def test_any_options_parse_or_are_refused_never_raise_otherwise(options):
    try:
        parsed = parse_engine_options(options, "lite", frozenset({"glossary"}))
    except UnsupportedConfig:
        return
    assert all(term and term == term.strip() for term in parsed.glossary)


async def test_a_glossary_makes_the_lite_engine_spell_names_as_given(lite_gateway, tmp_path):
    """Whisper base writes "Shivon" or "Shimon" for Siobhan without help (this machine's espeak-ng voice)."""
    audio = speak("I had lunch with Siobhan and Nguyen yesterday.", "en", tmp_path / "names.wav")
    plain = finals(await stream_file(lite_gateway.ws_url, audio, source_language="eng"), "target")
    with_glossary = finals(await stream_file(lite_gateway.ws_url, audio, source_language="eng",
                                             options={"glossary": "Siobhan; Nguyen"}), "target")
    assert "Siobhan" not in plain, plain
    assert "Siobhan" in with_glossary, with_glossary
