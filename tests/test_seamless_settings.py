"""The seamless engine's settings and agent arguments (no model needed; the engine itself is tested in tests/seamless)."""

from __future__ import annotations

from inference.engines.seamless.bake import model_cards
from inference.engines.seamless.settings import SeamlessSettings


def test_agent_arguments_are_explicit_and_flags_carry_no_values():
    arguments = SeamlessSettings().agent_arguments()
    pairs = dict(zip(arguments[::2], arguments[1::2]))
    assert pairs["--min-unit-chunk-size"] == "50" and pairs["--tgt-lang"] == "eng"
    assert pairs["--decision-threshold"] == "0.5" and pairs["--min-starting-wait-w2vbert"] == "192"
    assert pairs["--max-len-a"] == "0" and pairs["--max-len-b"] == "100"  # upstream's streaming evaluation
    assert pairs["--chunk-size-samples"] == "5120"
    for flag in ("--no-early-stop", "--block-ngrams", "--detokenize-only"):
        index = arguments.index(flag)
        assert index + 1 == len(arguments) or arguments[index + 1].startswith("--")


def test_settings_come_from_the_environment():
    settings = SeamlessSettings.from_environ({"S2ST_SEAMLESS_DEVICE": "cuda:1", "S2ST_SEAMLESS_DTYPE": "fp32",
                                              "S2ST_SEAMLESS_DECISION_THRESHOLD": "0.7"})
    assert (settings.device, settings.dtype, settings.decision_threshold) == ("cuda:1", "fp32", 0.7)


def test_the_image_bakes_the_model_cards_the_worker_then_loads():
    """bake.py reads its variables itself (it runs before our code is in the image): the worker's, the same defaults."""
    named = {"S2ST_SEAMLESS_UNITY_MODEL": "unity", "S2ST_SEAMLESS_MONOTONIC_DECODER": "decoder",
             "S2ST_SEAMLESS_VOCODER": "vocoder"}
    for environ in ({}, named):
        settings = SeamlessSettings.from_environ(environ)
        assert model_cards(environ) == (settings.unity_model, settings.monotonic_decoder, settings.vocoder)
    assert model_cards({}) == ("seamless_streaming_unity", "seamless_streaming_monotonic_decoder", "vocoder_v2")
