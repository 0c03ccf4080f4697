"""The committed gRPC stubs are exactly what proto/generate.py makes from the .proto files."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def load_generator():
    spec = importlib.util.spec_from_file_location("proto_generate", REPO_ROOT / "proto" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regenerating_the_stubs_changes_nothing(tmp_path):
    generator = load_generator()
    generator.generate(tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.py*"))
    assert generated, "protoc produced no files"
    for relative in generated:
        committed = generator.PROTO_ROOT / relative
        assert committed.read_text() == (tmp_path / relative).read_text(), f"{relative} is stale: run `make proto`"


def test_the_proto_states_the_sizes_the_services_enforce():
    from s2st.v1 import limits

    proto = (REPO_ROOT / "proto" / "s2st" / "v1" / "translation.proto").read_text()
    for name in ("MAX_CHUNK_BYTES", "MAX_CLIENT_LABEL_BYTES", "MAX_LANGUAGE_CODE_BYTES"):
        assert f"{name} ({getattr(limits, name)})" in proto
    stated_message_limits = set(re.findall(r"exceeded (\d+) bytes|over (\d+) bytes", proto))
    assert {int(a or b) for a, b in stated_message_limits} == {limits.MAX_REQUEST_MESSAGE_BYTES}
