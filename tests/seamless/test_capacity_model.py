"""The capacity model (bench/capacity_model.py) is built from the real architectures, and docs/capacity.json is
what it computes from them (docs/capacity.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.capacity_model import TYPICAL_SEGMENT_SECONDS, RealSizeModels, StepModel, capacity, parameter_bytes
from harness.tiny_models import TinyModels

ROOT = Path(__file__).resolve().parents[2]
BYTES_PER_PARAMETER = 2  # fp16


@pytest.fixture(scope="module")
def real_size(tiny_models: TinyModels) -> RealSizeModels:
    return RealSizeModels.build(tokenizers=tiny_models)


def millions(*modules) -> int:
    return round(parameter_bytes(*modules) / BYTES_PER_PARAMETER / 1e6)


def test_the_model_is_built_at_the_real_architectures_sizes(real_size: RealSizeModels) -> None:
    # Counted from the real cards' configurations (shared/DESIGN.md): w2v-BERT 635 M, monotonic decoder 1,068 M
    # (its embeddings tied to its 256k-way projection), NAR T2U 262 M, vocoder_v2 42 M.
    assert millions(real_size.unity.speech_encoder_frontend, real_size.unity.speech_encoder) == 635
    assert millions(real_size.decoder) == 1068
    assert millions(real_size.unity.t2u_model) == 262
    assert millions(real_size.vocoder) == 42


def test_the_committed_capacity_table_is_what_the_model_computes(real_size: RealSizeModels) -> None:
    committed = json.loads((ROOT / "docs" / "capacity.json").read_text())
    weights = parameter_bytes(real_size.unity, real_size.decoder, real_size.vocoder)
    assert committed["typical_segment_seconds"] == f"{TYPICAL_SEGMENT_SECONDS:g}"
    assert committed["streams"] == capacity(StepModel(real_size), weights)
