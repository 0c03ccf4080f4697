"""The agent arguments against upstream's own code: its agents' add_args and its streaming evaluation's settings."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
from pathlib import Path

import pytest

from inference.engines.seamless import SeamlessEngine
from inference.engines.seamless.pipeline import joint_agent_class, parse_agent_arguments
from inference.engines.seamless.settings import SAMPLE_RATE, SeamlessSettings


def upstream_evaluation_settings() -> dict[str, object]:
    """`model_configs` of upstream's streaming evaluation (cli/streaming/evaluate.py), as installed, plus its s2st extra."""
    spec = importlib.util.find_spec("seamless_communication.cli.streaming.evaluate")
    tree = ast.parse(Path(spec.origin).read_text())
    configs: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "model_configs":
            configs.update({k.arg: ast.literal_eval(k.value) for k in node.value.keywords})
        elif isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "model_configs['min_unit_chunk_size']":
            configs["min_unit_chunk_size"] = ast.literal_eval(node.value)
    return configs


def test_the_defaults_are_upstreams_streaming_evaluation_settings():
    evaluation = upstream_evaluation_settings()
    assert len(evaluation) == 9, evaluation  # this upstream commit's list; a new one needs a look
    args = parse_agent_arguments(joint_agent_class(), SeamlessSettings().agent_arguments())
    ours = {name: getattr(args, name) for name in evaluation if name != "source_segment_size"}
    ours["source_segment_size"] = args.chunk_size_samples * 1000 // SAMPLE_RATE  # ms pushed per step
    assert ours == evaluation


def test_every_argument_we_pass_is_one_an_agent_declares():
    parse_agent_arguments(joint_agent_class(), SeamlessSettings().agent_arguments())


@pytest.mark.parametrize("typo", [["--decision-treshold", "0.9"], ["--max-len", "5"], ["--silence-limit", "300"]])
def test_a_misspelt_or_abbreviated_agent_argument_is_refused(typo):
    with pytest.raises(ValueError, match=typo[0]):
        parse_agent_arguments(joint_agent_class(), [*SeamlessSettings().agent_arguments(), *typo])


def test_the_engine_refuses_to_load_with_an_argument_no_agent_takes(tiny_models):
    """The arguments come from SeamlessSettings.agent_arguments: one that no agent declares stops the load."""
    settings = SeamlessSettings.from_environ(tiny_models.worker_environ())

    @dataclasses.dataclass(frozen=True)
    class MisspeltSettings(SeamlessSettings):
        def agent_arguments(self, tgt_lang: str = "eng") -> list[str]:
            return [*super().agent_arguments(tgt_lang), "--decision-treshold", "0.9"]

    engine = SeamlessEngine(MisspeltSettings(**dataclasses.asdict(settings)))
    with pytest.raises(ValueError, match="--decision-treshold"):
        engine.load()
