"""The contract modules' documented limits, called in-process: fast enough for `make mutate` to run for every
mutant (tests over real servers prove the same rows end to end, but a mutant in a server process is out of the
mutation tool's sight). Each assertion is a row of docs/protocol.md, README's limits or an option's table."""

from __future__ import annotations

import json

import pytest

from gateway.limits import AudioRateLimiter, LocalClientLimits, PerClientLimiter
from gateway.protocol import MAX_TEXT_FRAME_BYTES, ProtocolError, Start, check_audio, error_event, parse_text
from inference.engines.base import UnsupportedConfig
from inference.engines.options import MAX_GLOSSARY_TERMS, MAX_TERM_CHARS, parse_engine_options


def test_a_client_address_holds_at_most_its_limit_and_a_release_frees_one():
    limiter = PerClientLimiter(2)
    assert limiter.try_hold("10.0.0.1") and limiter.try_hold("10.0.0.1")
    assert not limiter.try_hold("10.0.0.1")
    assert limiter.try_hold("10.0.0.2")  # another address is counted apart
    limiter.release("10.0.0.1")
    assert limiter.try_hold("10.0.0.1")
    assert not limiter.try_hold("10.0.0.1")


def test_a_limit_of_0_holds_any_number():
    limiter = PerClientLimiter(0)
    assert all(limiter.try_hold("10.0.0.1") for _ in range(100))


async def test_a_held_slot_is_freed_when_its_block_ends_and_a_refusal_takes_none():
    limits = LocalClientLimits(max_connections_per_ip=1, max_sessions_per_ip=1)
    async with limits.hold("sessions", "10.0.0.1") as first:
        async with limits.hold("sessions", "10.0.0.1") as second:
            assert first and not second
        async with limits.hold("connections", "10.0.0.1") as connection:
            assert connection  # each kind of limit counts apart
            async with limits.hold("connections", "10.0.0.1") as another:
                assert not another  # S2ST_MAX_CONNECTIONS_PER_IP applies to sockets as the other to sessions
    async with limits.hold("sessions", "10.0.0.1") as again:
        assert again


def test_audio_frames_pass_for_the_burst_allowance_then_are_refused():
    limiter = AudioRateLimiter(rate=50, burst_seconds=2)  # a burst of 100 frames
    passed = sum(limiter.allow() for _ in range(150))
    assert 100 <= passed <= 102  # a frame or two may refill while the loop runs


def test_a_rate_of_0_is_no_limit():
    limiter = AudioRateLimiter(rate=0, burst_seconds=5)
    assert all(limiter.allow() for _ in range(10_000))


@pytest.mark.parametrize(("frame", "code"), [
    (b"", "odd_length"), (b"\x00", "odd_length"), (b"\x00" * 65_538, "frame_too_large"),
])
def test_audio_frames_that_are_not_whole_samples_or_too_large_are_refused(frame, code):
    with pytest.raises(ProtocolError) as refused:
        check_audio(frame, 65_536)
    assert (refused.value.code, refused.value.fatal) == (code, False)


def test_audio_frames_of_2_to_the_maximum_bytes_pass():
    check_audio(b"\x00\x00", 65_536)
    check_audio(b"\x00" * 65_536, 65_536)


@pytest.mark.parametrize(("text", "code"), [
    ("[1]", "bad_json"), ("not json", "bad_json"), ('{"type": "dance"}', "unknown_type"),
    ('{"type": "start"}', "bad_message"), ('{"type": "start", "target_language": 5}', "bad_message"),
    ('{"type": "start", "target_language": "eng", "sample_rate": -1}', "bad_message"),
    ('{"type": "start", "target_language": "eng", "sample_rate": 4294967296}', "bad_message"),
    ('{"type": "start", "target_language": "eng", "options": {"glossary": 5}}', "bad_message"),
    (json.dumps({"type": "start", "target_language": "eng", "client_label": "x" * MAX_TEXT_FRAME_BYTES}),
     "text_too_large"),
])
def test_bad_text_frames_get_their_documented_code_and_are_not_fatal(text, code):
    with pytest.raises(ProtocolError) as refused:
        parse_text(text)
    assert (refused.value.code, refused.value.fatal) == (code, False)


def test_a_start_carries_its_settings_and_the_defaults():
    start = parse_text('{"type": "start", "target_language": "fra", "source_language": "spa"}')
    assert isinstance(start, Start)
    assert (start.target_language, start.source_language, start.sample_rate) == ("fra", "spa", 16000)
    assert start.speech_output is True
    explicit = parse_text('{"type": "start", "target_language": "fra", "sample_rate": 48000, "speech_output": false}')
    assert (explicit.sample_rate, explicit.speech_output) == (48000, False)


def test_an_error_event_has_the_documented_fields():
    assert error_event("busy", "try later", fatal=True) == {"type": "error", "code": "busy", "message": "try later",
                                                             "fatal": True}


def test_options_the_worker_does_not_know_or_the_engine_does_not_support_are_refused_by_name():
    with pytest.raises(UnsupportedConfig, match="unknown engine option 'beam'"):
        parse_engine_options({"beam": "5"}, "lite", frozenset({"glossary"}))
    with pytest.raises(UnsupportedConfig, match="the echo engine does not support the 'glossary' option"):
        parse_engine_options({"glossary": "Siobhan"}, "echo", frozenset())


def test_a_glossary_keeps_its_terms_in_order_once_each():
    options = parse_engine_options({"glossary": " Siobhan ;Kubernetes\nSiobhan;; Ōsaka-ku "}, "lite",
                                   frozenset({"glossary"}))
    assert options.glossary == ("Siobhan", "Kubernetes", "Ōsaka-ku")
    assert parse_engine_options({}, "lite", frozenset({"glossary"})).glossary == ()


@pytest.mark.parametrize(("glossary", "words"), [
    (";".join(f"term{n}" for n in range(MAX_GLOSSARY_TERMS + 1)), f"at most {MAX_GLOSSARY_TERMS} terms"),
    ("x" * (MAX_TERM_CHARS + 1), f"at most {MAX_TERM_CHARS} characters"),
    ("Siobhan <script>", "has '<'"),
])
def test_a_glossary_past_its_limits_is_refused_with_the_reason(glossary, words):
    with pytest.raises(UnsupportedConfig, match=words):
        parse_engine_options({"glossary": glossary}, "lite", frozenset({"glossary"}))


def test_a_glossary_at_its_limits_is_accepted():
    terms = ";".join("T" * MAX_TERM_CHARS for _ in range(1))
    assert parse_engine_options({"glossary": terms}, "lite", frozenset({"glossary"})).glossary == ("T" * 48,)
    many = ";".join(f"t{n}" for n in range(MAX_GLOSSARY_TERMS))
    assert len(parse_engine_options({"glossary": many}, "lite", frozenset({"glossary"})).glossary) == 20
    assert parse_engine_options({"glossary": "A-b'c’d.e&f+g 1"}, "lite", frozenset({"glossary"})).glossary
