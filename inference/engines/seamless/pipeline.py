"""Building the SeamlessStreaming agent and reading its languages, the way SimulEval does.

Imports of seamless_communication / simuleval / fairseq2 stay inside these
functions: only a worker that serves this engine needs them (the GPU image).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inference.engines.seamless.settings import SeamlessSettings

AGENT_MODULE = "seamless_communication.streaming.agents.seamless_streaming_s2st"
AGENT_CLASS = "SeamlessStreamingS2STJointVADAgent"


def build_agent(settings: SeamlessSettings) -> Any:
    """The joint-VAD speech-to-speech tree pipeline, loaded once (models on settings.device)."""
    import importlib

    from simuleval.options import general_parser

    agent_class = getattr(importlib.import_module(AGENT_MODULE), AGENT_CLASS)
    parser = general_parser()
    agent_class.add_args(parser)
    # An explicit list: simuleval's own CLI helpers would read sys.argv, which is the worker's.
    args, _unknown = parser.parse_known_args(settings.agent_arguments())
    return agent_class.from_args(args)


@dataclass(frozen=True)
class ModelLanguages:
    """Languages as the model's asset cards list them."""

    text: tuple[str, ...]  # the text tokenizer's languages: targets of text output, and spoken input
    speech: tuple[str, ...]  # languages the unit decoder and the vocoder both speak


def read_model_languages(settings: SeamlessSettings) -> ModelLanguages:
    """Languages from the fairseq2 asset cards of the loaded models, not from a hand-typed table."""
    from fairseq2.assets import asset_store

    unity = asset_store.retrieve_card(settings.unity_model)
    text_languages = unity.field("langs").as_(list)
    unit_languages = unity.field("unit_langs").as_(list)
    vocoder_config = asset_store.retrieve_card(settings.vocoder).field("model_config").as_(dict)
    vocoder_languages = set(vocoder_config["lang_spkr_idx_map"]["multilingual"])
    return ModelLanguages(
        text=tuple(sorted(text_languages)),
        speech=tuple(sorted(lang for lang in unit_languages if lang in vocoder_languages)),
    )
