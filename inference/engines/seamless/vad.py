"""Upstream's Silero VAD agent with its model from the pinned `silero-vad` package instead of torch.hub.

Upstream's ``SileroVADStates.__init__`` calls ``torch.hub.load("snakers4/silero-vad")``
with no ref for every stream: an unpinned model, and an HTTP probe of GitHub
(no timeout) on the inference thread each time a stream starts. Here the agent
loads the packaged JIT model once and each stream's states get their own copy
(the model is stateful). Everything else is upstream's code.
Imported only by a worker that serves the seamless engine.
"""

from __future__ import annotations

import copy
import queue
from argparse import Namespace
from typing import Any

from seamless_communication.streaming.agents.silero_vad import SileroVADAgent, SileroVADStates


def load_pinned_silero_model() -> Any:
    """Silero VAD's TorchScript model as the silero-vad package ships it (the file torch.hub would fetch)."""
    from silero_vad import load_silero_vad

    return load_silero_vad(onnx=False)


class PinnedSileroVADStates(SileroVADStates):
    """SileroVADStates over a given model: the same fields upstream's __init__ sets, without its hub call."""

    def __init__(self, args: Namespace, model: Any) -> None:  # noqa: super().__init__ would call torch.hub
        self.model = model
        self.silence_limit_ms = args.silence_limit_ms
        self.speech_soft_limit_ms = args.speech_soft_limit_ms
        self.window_size_samples = args.window_size_samples
        self.chunk_size_samples = args.chunk_size_samples
        self.sample_rate = args.sample_rate
        self.init_speech_prob = args.init_speech_prob
        self.debug = args.debug
        self.test_input_segments_wav = None
        self.input_queue: queue.Queue[Any] = queue.Queue()
        self.next_input_queue: queue.Queue[Any] = queue.Queue()
        super(SileroVADStates, self).__init__()  # AgentStates: reset() sets the remaining fields

    def drop_everything(self) -> None:
        """Reset, then drop what reset keeps: upstream moves speech heard after the segment ended into the queue."""
        self.reset()
        while not self.input_queue.empty():
            self.input_queue.get_nowait()


class PinnedSileroVADAgent(SileroVADAgent):
    """SileroVADAgent whose states copy one model loaded from the package at start-up."""

    def __init__(self, args: Namespace) -> None:
        self._model = load_pinned_silero_model()  # before super().__init__, which builds a default states
        super().__init__(args)

    def build_states(self) -> PinnedSileroVADStates:
        return PinnedSileroVADStates(self.args, copy.deepcopy(self._model))
