"""The contract modules' documented limits, called in-process: fast enough for `make mutate` to run for every
mutant (tests over real servers prove the same rows end to end, but a mutant in a server process is out of the
mutation tool's sight). Each assertion is a row of docs/protocol.md, README's limits or an option's table."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.identity.authenticator import Authenticator
from gateway.identity.grant import UNRESTRICTED, Grant
from gateway.identity.jwt_settings import JwtSettings
from gateway.identity.jwt_tokens import InvalidToken, grant_from_claims, mint_token, signing_algorithm
from gateway.limits import LocalClientLimits, PerClientLimiter, TokenBucket
from gateway.protocol import (
    MAX_TEXT_FRAME_BYTES,
    CreateRoom,
    EndRoom,
    Join,
    Leave,
    ProtocolError,
    Reset,
    RevokeListenerLink,
    Speak,
    Start,
    Stop,
    check_audio,
    error_event,
    parse_text,
)
from inference.engines.base import UnsupportedConfig
from s2st.v1 import translation_pb2 as pb
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


def test_frames_pass_for_the_buckets_capacity_then_are_refused():
    limiter = TokenBucket(rate=50, capacity=100)  # the relay's audio bucket: 2 s of burst at 50 frames a second
    passed = sum(limiter.allow() for _ in range(150))
    assert 100 <= passed <= 102  # a frame or two may refill while the loop runs


def test_a_rate_of_0_is_no_limit():
    limiter = TokenBucket(rate=0, capacity=5)
    assert all(limiter.allow() for _ in range(10_000))


@pytest.mark.parametrize(("frame", "code"), [
    (b"", "odd_length"), (b"\x00", "odd_length"), (b"\x00" * 65_538, "frame_too_large"),
])
def test_audio_frames_that_are_not_whole_samples_or_too_large_are_refused(frame, code):
    with pytest.raises(ProtocolError) as refused:
        check_audio(frame, 65_536)
    assert (refused.value.code, refused.value.fatal) == (code, False)
    assert str(refused.value) not in ("", "None")


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
    assert str(refused.value) not in ("", "None")


def start(**fields) -> str:
    """A start frame as a client sends it (lone surrogates arrive as JSON escapes: UTF-8 cannot carry them)."""
    return json.dumps({"type": "start", "target_language": "eng", **fields})


@pytest.mark.parametrize("text", [
    '{"type": ["start"]}', '{"type": null}', '{"type": "Start"}', '{}',
], ids=["type-list", "type-null", "type-case", "no-type"])
def test_a_type_that_is_not_one_of_the_documented_strings_is_unknown_type(text):
    with pytest.raises(ProtocolError) as refused:
        parse_text(text)
    assert refused.value.code == "unknown_type" and "expected start, reset, stop" in str(refused.value)


@pytest.mark.parametrize("text", [
    start(target_language=""), start(target_language=None), start(source_language=5), start(sample_rate=True),
    start(sample_rate=16000.5), start(sample_rate="16000"), start(speech_output="yes"), start(speech_output=1),
    start(options=["glossary"]), start(options={"glossary": None}), start(client_label=7),
    start(source_language="\ud800"), start(options={"\ud800": "x"}), start(options={"glossary": "\udfff"}),
    start(client_label="\udc00"), start(target_language="\ud800"),
    '{"type": "create_room"}', '{"type": "create_room", "languages": []}', '{"type": "create_room", "languages": "eng"}',
    '{"type": "create_room", "languages": ["eng", ""]}', '{"type": "create_room", "languages": ["eng", "eng"]}',
    '{"type": "create_room", "languages": ["\\ud800"]}', '{"type": "create_room", "languages": ["eng"], "sample_rate": -1}',
    '{"type": "speak"}', '{"type": "speak", "key": ""}', '{"type": "join", "key": "k"}',
    '{"type": "join", "target_language": "eng"}', '{"type": "join", "key": "k", "target_language": 3}',
])
def test_missing_or_ill_typed_fields_are_bad_message(text):
    with pytest.raises(ProtocolError) as refused:
        parse_text(text)
    assert (refused.value.code, refused.value.fatal) == ("bad_message", False)
    assert str(refused.value) not in ("", "None")  # the error event's message says what is wrong


def test_text_frames_up_to_the_limit_are_read_and_one_byte_more_is_too_large():
    def labelled(label: str) -> str:
        return json.dumps({"type": "start", "target_language": "eng", "client_label": label}, ensure_ascii=False)

    padding = MAX_TEXT_FRAME_BYTES - len(labelled("").encode())
    label = "é" * (padding // 2) + "a" * (padding % 2)  # exactly the limit, counted in bytes, not characters
    assert len(labelled(label).encode()) == MAX_TEXT_FRAME_BYTES
    assert isinstance(parse_text(labelled(label)), Start)
    with pytest.raises(ProtocolError) as refused:
        parse_text(labelled(label + "a"))
    assert refused.value.code == "text_too_large"


def test_nesting_deeper_than_the_parser_is_bad_json():
    with pytest.raises(ProtocolError) as refused:
        parse_text("[" * 2000 + "]" * 2000)
    assert refused.value.code == "bad_json"


def test_the_sample_rate_is_any_32_bit_whole_number_and_the_worker_judges_it():
    assert parse_text(start(sample_rate=0)).sample_rate == 0
    assert parse_text(start(sample_rate=2**32 - 1)).sample_rate == 2**32 - 1


def test_every_documented_message_type_parses_to_its_message():
    assert parse_text('{"type": "reset"}') == Reset() and parse_text('{"type": "stop"}') == Stop()
    assert parse_text('{"type": "leave"}') == Leave() and parse_text('{"type": "end_room"}') == EndRoom()
    assert parse_text('{"type": "revoke_listener_link"}') == RevokeListenerLink()
    assert parse_text('{"type": "speak", "key": "K"}') == Speak("K")
    assert parse_text('{"type": "join", "key": "K", "target_language": "fra"}') == Join("K", "fra")
    room = parse_text('{"type": "create_room", "languages": ["eng", "fra"], "source_language": "spa", '
                      '"sample_rate": 48000, "options": {"glossary": "Siobhan"}}')
    assert room == CreateRoom(("eng", "fra"), "spa", 48000, {"glossary": "Siobhan"})
    assert parse_text('{"type": "create_room", "languages": ["eng"], "source_language": null}') == CreateRoom(("eng",))


def test_a_start_carries_every_field_to_the_workers_config():
    message = parse_text(start(target_language="fra", source_language="spa", sample_rate=8000, speech_output=False,
                               options={"glossary": "Siobhan"}, client_label="booth 3"))
    assert message == Start("fra", "spa", 8000, False, {"glossary": "Siobhan"}, "booth 3")
    config = message.to_request().config
    assert (config.target_language, config.source_language, config.sample_rate_hz, config.speech_output,
            dict(config.engine_options), config.client_label) == ("fra", "spa", 8000, False, {"glossary": "Siobhan"},
                                                                  "booth 3")
    assert parse_text(start(source_language=None, options=None, client_label=None)) == Start("eng")
    assert Start("eng").to_request().config.speech_output is True
    assert Start("eng").to_request().config.encoding == pb.LINEAR16


def test_a_start_carries_its_settings_and_the_defaults():
    start = parse_text('{"type": "start", "target_language": "fra", "source_language": "spa"}')
    assert isinstance(start, Start)
    assert (start.target_language, start.source_language, start.sample_rate) == ("fra", "spa", 16000)
    assert start.speech_output is True
    explicit = parse_text('{"type": "start", "target_language": "fra", "sample_rate": 48000, "speech_output": false}')
    assert (explicit.sample_rate, explicit.speech_output) == (48000, False)


def test_an_error_event_has_the_documented_fields():
    assert ProtocolError("bad_json", "x").fatal is False  # a dropped frame unless said otherwise
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


def test_jwt_settings_refuse_a_short_secret_and_a_plain_http_jwks_off_loopback():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        JwtSettings(secret="s" * 31)
    assert JwtSettings(secret="s" * 32).enabled
    with pytest.raises(ValueError, match="S2ST_JWT_JWKS_URL must be https://"):
        JwtSettings(jwks_url="http://idp.example/jwks")
    with pytest.raises(ValueError, match="https://"):
        JwtSettings(jwks_url="ftp://127.0.0.1/jwks")
    assert JwtSettings(jwks_url="http://127.0.0.1:9/jwks").enabled and JwtSettings(jwks_url="https://idp.example/j").enabled
    assert not JwtSettings().enabled


async def test_without_credentials_configured_every_client_may_connect_and_with_them_only_their_holders():
    assert await Authenticator().grant(None) is UNRESTRICTED
    static = Authenticator(api_tokens=("static-token",))
    assert await static.grant("static-token") is UNRESTRICTED
    assert await static.grant("static-tokeN") is None and await static.grant(None) is None


async def test_a_token_must_match_the_configured_key_audience_issuer_and_expiry(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "key.pem"
    pem.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    authenticator = Authenticator(jwt_settings=JwtSettings(public_key_file=str(pem), audience="aud-1",
                                                           issuer="https://id.example", leeway_seconds=5))
    assert await authenticator.grant(mint_token(key, 60, audience="aud-1", issuer="https://id.example"))
    for refused in (mint_token(key, 60, audience="s2st", issuer="https://id.example"),
                    mint_token(key, 60, audience="aud-1", issuer="https://other.example"),
                    mint_token(key, 60, audience="aud-1"),
                    mint_token(key, 60, audience="aud-1", issuer="https://id.example", now=time.time() - 70),
                    mint_token(rsa.generate_private_key(public_exponent=65537, key_size=2048), 60, audience="aud-1",
                               issuer="https://id.example")):
        assert await authenticator.grant(refused) is None
    # Expired 3 s ago: within the leeway.
    assert await authenticator.grant(mint_token(key, 60, audience="aud-1", issuer="https://id.example",
                                                now=time.time() - 63))


def test_the_mint_tool_writes_the_claims_and_the_key_id_it_is_given_and_no_others():
    """`python -m gateway.identity` (README: S2ST_JWT_SECRET) mints test tokens: what it was asked for, nothing more."""
    token = mint_token("s" * 32, 60, subject="booth-3", kid="k1", now=1_000_000)
    assert jwt.get_unverified_header(token)["kid"] == "k1"
    assert jwt.decode(token, options={"verify_signature": False}) == {
        "aud": "s2st", "iat": 1_000_000, "exp": 1_000_060, "sub": "booth-3"}
    plain = mint_token("s" * 32, 60, now=1_000_000)
    assert "kid" not in jwt.get_unverified_header(plain)
    assert jwt.decode(plain, options={"verify_signature": False}) == {"aud": "s2st", "iat": 1_000_000, "exp": 1_000_060}


def token_of_length(secret: str, length: int) -> str:
    """A valid HS256 token exactly `length` characters long, padded by a claim the gateway does not read."""
    def token(size: int, header_pad: int) -> str:
        return jwt.encode({"exp": int(time.time()) + 60, "aud": "s2st", "pad": "x" * size}, secret, algorithm="HS256",
                          headers={"typ": "JWT" + "x" * header_pad})

    estimate = (length - len(token(0, 0))) * 3 // 4  # 3 bytes of claims take 4 characters
    for header_pad in range(4):  # base64url never makes a part of 4n+1 characters: a longer header moves the sum
        for size in range(max(0, estimate - 8), estimate + 8):
            if len(found := token(size, header_pad)) == length:
                return found
    raise AssertionError(f"no token of {length} characters")


async def test_a_token_of_8000_characters_is_read_and_one_longer_is_refused():
    secret = "s" * 32
    authenticator = Authenticator(jwt_settings=JwtSettings(secret=secret))
    assert await authenticator.grant(token_of_length(secret, 8000)) is not None
    assert await authenticator.grant(token_of_length(secret, 8001)) is None


def test_a_tokens_scopes_become_its_grant():
    grant = grant_from_claims({"sub": "booth-3", "s2st": {
        "target_languages": ["fra", "deu"], "max_session_seconds": 90, "engines": ["lite"], "room": "r" * 128,
        "room_role": "listener"}})
    assert grant == Grant(subject="booth-3", target_languages=frozenset({"fra", "deu"}), max_session_seconds=90.0,
                          engines=frozenset({"lite"}), room="r" * 128, room_role="listener")
    assert grant_from_claims({}) == Grant()
    assert grant_from_claims({"sub": "x" * 64, "s2st": {"room_role": "speaker", "target_languages": []}}) == Grant(
        subject="x" * 64, room_role="speaker", target_languages=frozenset())
    assert grant_from_claims({"s2st": {"target_languages": ["a" * 16] * 256}}).target_languages == {"a" * 16}


@pytest.mark.parametrize("claims", [
    {"sub": "x" * 65}, {"sub": 5}, {"sub": "\ud800"}, {"s2st": []}, {"s2st": {"admin": True}},
    {"s2st": {"max_session_seconds": 0}}, {"s2st": {"max_session_seconds": -1}},
    {"s2st": {"max_session_seconds": True}}, {"s2st": {"max_session_seconds": "60"}},
    {"s2st": {"max_session_seconds": float("inf")}}, {"s2st": {"room": "r" * 129}}, {"s2st": {"room": 1}},
    {"s2st": {"room_role": "admin"}}, {"s2st": {"target_languages": "fra"}}, {"s2st": {"engines": ["a" * 17]}},
    {"s2st": {"target_languages": ["fra"] * 257}}, {"s2st": {"engines": [1]}},
])
def test_a_malformed_or_unknown_scope_makes_the_token_invalid(claims):
    with pytest.raises(InvalidToken):
        grant_from_claims(claims)


def test_a_session_length_scope_beyond_a_year_counts_as_a_year():
    """A gRPC deadline of now + 1e10 s overflows int64 nanoseconds and ended the session at once: clamped."""
    year = 365 * 86_400.0
    for seconds, kept in ((1e10, year), (year + 1, year), (year, year), (year - 1, year - 1)):
        assert grant_from_claims({"s2st": {"max_session_seconds": seconds}}).max_session_seconds == kept


@pytest.mark.parametrize(("claim", "value"), [("exp", "str"), ("nbf", "str"), ("iat", "str"), ("nbf", True),
                                              ("iat", True)])
async def test_a_date_claim_that_is_not_a_json_number_makes_the_token_invalid(claim, value):
    """RFC 7519 says NumericDate is a number; PyJWT alone takes "1796320949" (and True is 1)."""
    secret = "s" * 48
    now = int(time.time())
    claims = {"aud": "s2st", "exp": now + 60, "nbf": now - 1, "iat": now}
    authenticator = Authenticator(jwt_settings=JwtSettings(secret=secret))
    assert await authenticator.grant(jwt.encode(claims, secret, algorithm="HS256"))
    odd = {**claims, claim: str(claims[claim]) if value == "str" else value}
    assert await authenticator.grant(jwt.encode(odd, secret, algorithm="HS256")) is None


@pytest.mark.parametrize(("rate", "capacity", "passed"), [
    (0.1, 0.1, 1),  # a capacity below one frame still lets one through
    (1, 1, 1),  # a rate of 1 is a limit, not "no limit"
    (0.001, 2, 2),  # exactly the capacity, not one less
])
def test_the_token_buckets_edges(rate, capacity, passed):
    limiter = TokenBucket(rate, capacity)
    assert sum(limiter.allow() for _ in range(5)) == passed


def test_the_bucket_refills_at_the_rate():
    limiter = TokenBucket(rate=50, capacity=50)
    while limiter.allow():
        pass
    time.sleep(0.4)  # the timing is the behaviour: 20 frames' worth at 50 a second
    assert 10 <= sum(limiter.allow() for _ in range(100)) <= 30


async def test_a_token_with_a_lone_surrogate_is_refused_not_raised():
    assert await Authenticator(api_tokens=("static-token",)).grant("\ud800") is None


async def test_each_configured_key_checks_its_own_algorithm_and_the_required_claims(tmp_path):
    secret = "s" * 48  # long enough for HS384 too, the algorithm no key is configured for
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "ec.pem"
    pem.write_bytes(ec_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    authenticator = Authenticator(jwt_settings=JwtSettings(secret=secret, public_key_file=str(pem)))
    now = int(time.time())
    assert await authenticator.grant(mint_token(secret, 60))  # HS256 with the secret
    assert await authenticator.grant(mint_token(ec_key, 60))  # ES256 with the public key
    assert await authenticator.grant(mint_token(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                                                60)) is None  # RS256: no RSA key configured
    for refused in (jwt.encode({"aud": "s2st"}, secret, algorithm="HS256"),  # no exp
                    jwt.encode({"exp": now + 60}, secret, algorithm="HS256"),  # no aud
                    jwt.encode({"aud": "s2st", "exp": now + 60, "s2st": {"max_session_seconds": 0.5}}, secret,
                               algorithm="HS384")):
        assert await authenticator.grant(refused) is None
    grant = await authenticator.grant(mint_token(secret, 60, scopes={"max_session_seconds": 0.5}))
    assert grant.max_session_seconds == 0.5



def test_only_rsa_and_p256_keys_are_accepted_for_tokens():
    assert signing_algorithm(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()) == "RS256"
    assert signing_algorithm(ec.generate_private_key(ec.SECP256R1()).public_key()) == "ES256"
    with pytest.raises(ValueError, match="RSA \\(RS256\\) or EC P-256"):
        signing_algorithm(ec.generate_private_key(ec.SECP384R1()).public_key())
