"""The deployments' worker session caps come from the capacity model (docs/capacity.md), not from a constant."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GPU = "L4"  # the GPU the Terraform roots and the chart deploy by default


def modelled_streams() -> int:
    """Streams per worker on the default GPU today: the serial path's (batch 1) figure at typical segments."""
    figures = json.loads((ROOT / "docs" / "capacity.json").read_text())
    return figures["streams"][DEFAULT_GPU][figures["typical_segment_seconds"]]["batch_1"]


def test_the_charts_worker_cap_is_the_modelled_streams_per_gpu() -> None:
    values = yaml.safe_load((ROOT / "k8s" / "values.yaml").read_text())
    assert values["worker"]["maxSessions"] == modelled_streams()


def test_the_compose_workers_cap_defaults_to_the_modelled_streams_per_gpu() -> None:
    compose = yaml.safe_load((ROOT / "compose" / "docker-compose.yml").read_text())
    setting = compose["services"]["inference"]["environment"]["S2ST_MAX_SESSIONS"]
    default = re.fullmatch(r"\$\{S2ST_MAX_SESSIONS:-(\d+)\}", setting)
    assert default and int(default.group(1)) == modelled_streams()
    example = dict(line.split("=", 1) for line in (ROOT / "compose" / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert int(example["S2ST_MAX_SESSIONS"]) == modelled_streams()
