"""Fetch every SeamlessStreaming asset into FAIRSEQ2_CACHE_DIR, at image build time.

Run as a plain script (`python bake.py`), before the application code is copied
into the image, so that a code change never downloads the weights again: it
imports only upstream packages. It loads the models of upstream's joint-VAD S2ST
agent once, the way the agent does, on the CPU in fp32 (no GPU at build time),
which fetches what the worker loads, from three Hugging Face repositories and
Meta's file host (no token needed):
- facebook/seamless-streaming: the UnitY and monotonic-decoder checkpoints;
- facebook/seamless-m4t-large: the text tokenizer (the UnitY card's base card);
- facebook/seamless-m4t-v2-large: the character tokenizer of the T2U, whose
  non-autoregressive front-end loads it from the card its config names
  (seamlessM4T_v2_large);
- dl.fbaipublicfiles.com: vocoder_v2.
fp32 on the CPU (upstream loads fp16 only on a GPU): the build needs about
8-12 GB of RAM. Silero VAD is not fetched: the worker loads it from the pinned
silero-vad package (building upstream's VAD agent would call torch.hub).

Card names come from the same variables the worker reads (defaults: upstream's).
This script cannot use the worker's settings reader (s2st.runtime.settings): the
image has none of our code yet. So the three defaults live here, SeamlessSettings
takes them from here, and a test holds model_cards to what SeamlessSettings reads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

# The defaults of S2ST_SEAMLESS_UNITY_MODEL, S2ST_SEAMLESS_MONOTONIC_DECODER and S2ST_SEAMLESS_VOCODER.
UNITY_MODEL = "seamless_streaming_unity"
MONOTONIC_DECODER = "seamless_streaming_monotonic_decoder"
VOCODER = "vocoder_v2"


def model_cards(environ: Mapping[str, str]) -> tuple[str, str, str]:
    """The UnitY, monotonic-decoder and vocoder cards the worker loads with this environment."""
    return (environ.get("S2ST_SEAMLESS_UNITY_MODEL", UNITY_MODEL),
            environ.get("S2ST_SEAMLESS_MONOTONIC_DECODER", MONOTONIC_DECODER),
            environ.get("S2ST_SEAMLESS_VOCODER", VOCODER))


def main() -> None:
    import torch
    from seamless_communication.models.vocoder.loader import load_vocoder_model
    from seamless_communication.streaming.agents.seamless_streaming_s2st import SeamlessStreamingS2STJointVADAgent
    from simuleval.options import general_parser

    unity, decoder, vocoder = model_cards(os.environ)
    parser = general_parser()
    SeamlessStreamingS2STJointVADAgent.add_args(parser)
    args, unknown = parser.parse_known_args([
        "--task", "s2st", "--device", "cpu", "--dtype", "fp32", "--tgt-lang", "eng",
        "--unity-model-name", unity, "--monotonic-decoder-model-name", decoder, "--vocoder-name", vocoder,
        "--min-unit-chunk-size", "50",
    ])
    if unknown:  # the worker refuses them too (pipeline.parse_agent_arguments)
        raise SystemExit(f"arguments no SeamlessStreaming agent takes: {' '.join(unknown)}")
    SeamlessStreamingS2STJointVADAgent.load_model(args)  # UnitY, monotonic decoder, their tokenizers
    load_vocoder_model(vocoder, device=torch.device("cpu"), dtype=torch.float32)  # as upstream's VocoderAgent
    print(f"baked SeamlessStreaming assets: {unity}, {decoder}, {vocoder}", file=sys.stderr)


if __name__ == "__main__":
    main()
