"""`python -m inference.engines.seamless.bake`: download every SeamlessStreaming asset into the image.

Run at image build time. It builds the agent once, exactly as the worker will
(on the CPU, fp32, so no GPU is needed at build time), and one set of stream
states, which fetches: the UnitY and monotonic-decoder checkpoints and
tokenizers (Hugging Face facebook/seamless-streaming) and vocoder_v2 into
FAIRSEQ2_CACHE_DIR, and the Silero VAD hub repository into TORCH_HOME.
"""

from __future__ import annotations

import dataclasses
import os

from inference.engines.seamless.pipeline import build_agent, read_model_languages
from inference.engines.seamless.settings import SeamlessSettings


def main() -> None:
    settings = dataclasses.replace(SeamlessSettings.from_environ(os.environ), device="cpu", dtype="fp32")
    agent = build_agent(settings)
    agent.build_states()
    languages = read_model_languages(settings)
    print(f"baked SeamlessStreaming: {len(languages.text)} text languages, {len(languages.speech)} speech outputs")


if __name__ == "__main__":
    main()
