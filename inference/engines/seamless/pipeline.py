"""Building the SeamlessStreaming agent and reading its languages, the way SimulEval does.

Imports of seamless_communication / simuleval / fairseq2 / torch stay inside these
functions: only a worker that serves this engine needs them.
"""

from __future__ import annotations

import importlib
from argparse import Namespace
from dataclasses import dataclass
from typing import Any

from inference.engines.seamless.settings import SeamlessSettings


@dataclass(frozen=True)
class SeamlessAgents:
    """One loaded model, two trees over the same module objects (nothing is loaded twice).

    ``speech``: upstream's joint-VAD S2ST tree (text and speech out).
    ``text``: the same modules without the unit decoder and vocoder, for text-only
    sessions: the S2ST tree always runs the vocoder, which raises on a target it has no voice for.
    """

    speech: Any
    text: Any


def joint_agent_class() -> type:
    """Upstream's joint-VAD S2ST tree with two of its agents replaced by subclasses of ours.

    The Silero VAD agent loads its model from the pinned package (vad.py); the
    detokenizer keeps the word boundary at the front of its output (detokenizer.py).
    """
    from seamless_communication.streaming.agents.detokenizer import UnitYDetokenizerAgent
    from seamless_communication.streaming.agents.seamless_streaming_s2st import SeamlessStreamingS2STJointVADAgent
    from seamless_communication.streaming.agents.silero_vad import SileroVADAgent

    from inference.engines.seamless.detokenizer import WordBoundaryDetokenizerAgent
    from inference.engines.seamless.vad import PinnedSileroVADAgent

    ours = {SileroVADAgent: PinnedSileroVADAgent, UnitYDetokenizerAgent: WordBoundaryDetokenizerAgent}

    class JointAgent(SeamlessStreamingS2STJointVADAgent):
        pipeline = {ours.get(module, module): [ours.get(child, child) for child in children]
                    for module, children in SeamlessStreamingS2STJointVADAgent.pipeline.items()}

    return JointAgent


def parse_agent_arguments(agent_class: type, arguments: list[str]) -> Namespace:
    """Parse an explicit argument list with SimulEval's parser and the agents' own ``add_args``.

    simuleval's CLI helpers would read sys.argv (the worker's). An argument no agent
    declares is refused: skipped, a misspelt setting would silently run upstream's default.
    Abbreviations are refused too, so that a prefix cannot stand for a longer name.
    """
    from simuleval.options import general_parser

    parser = general_parser()
    parser.allow_abbrev = False
    agent_class.add_args(parser)
    args, unknown = parser.parse_known_args(arguments)
    if unknown:
        raise ValueError(f"arguments no SeamlessStreaming agent takes: {' '.join(unknown)}")
    return args


def build_agents(settings: SeamlessSettings) -> SeamlessAgents:
    """The joint-VAD speech-to-speech tree pipeline, loaded once (models on settings.device)."""
    import torch
    from simuleval.agents import TreeAgentPipeline

    if torch.device(settings.device).type == "cpu":
        # oneDNN builds a new conv_transpose1d primitive for each new input length (every vocoder
        # call): seconds per call. The plain CPU kernels are what a CPU worker wants.
        torch.backends.mkldnn.enabled = False

    agent_class = joint_agent_class()
    args = parse_agent_arguments(agent_class, settings.agent_arguments())
    speech = agent_class.from_args(args)

    text_tree = {module: [child for child in children if _on_text_path(child)]
                 for module, children in speech.module_dict.items() if _on_text_path(module)}
    # The same class (its pop() handles early stops), set up over the loaded modules: its own
    # __init__ would load every model again.
    text = object.__new__(type(speech))
    TreeAgentPipeline.__init__(text, text_tree, args)
    return SeamlessAgents(speech=speech, text=text)


def _on_text_path(module: Any) -> bool:
    from seamless_communication.streaming.agents.online_unit_decoder import NARUnitYUnitDecoderAgent
    from seamless_communication.streaming.agents.online_vocoder import VocoderAgent

    return not isinstance(module, (NARUnitYUnitDecoderAgent, VocoderAgent))


@dataclass(frozen=True)
class ModelLanguages:
    """Languages as the model's asset cards list them."""

    text: tuple[str, ...]  # the text tokenizer's languages: targets of text output, and spoken input
    speech: tuple[str, ...]  # languages the unit decoder and the vocoder both speak


def read_model_languages(settings: SeamlessSettings) -> ModelLanguages:
    """Languages from the fairseq2 asset cards of the configured models, not from a hand-typed table."""
    # The SeamlessStreaming cards are registered by importing seamless_communication.
    importlib.import_module("seamless_communication")
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
