"""STAND-IN for the SeamlessStreaming agent (no model): the upstream interface, scripted behaviour.

It mimics the real objects the adapter touches, with the same names and fields:
- segments: simuleval 1.1.4's Segment / EmptySegment / TextSegment / SpeechSegment dataclass fields;
- the agent: a TreeAgentPipeline with ``source_module``, ``target_modules``,
  ``build_states()`` -> {module: states}, ``pushpop(segment, states)`` -> one segment per leaf;
- the VAD states: SileroVADStates' ``is_fresh_state``, ``source_finished``, ``input_queue``,
  ``input_chunk``, ``silence_acc_ms``, ``speech_acc_ms``, ``reset()``.
Behaviour: a 32 ms window is speech when its RMS is over 0.02; ``silence_limit_ms`` of silence
ends a segment; the text decoder writes one word per 320 ms of speech, in the segment's
target language; the vocoder speaks 100 ms of tone per word. Like the real text decoder, the
target-language prefix lives on the shared agent object during a call, so interleaved calls
from two threads would mix languages (the adapter must serialise them).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

WINDOW = 512
CHUNK = 5120
SPEECH_RMS = 0.02


@dataclass
class Segment:
    index: int = 0
    content: Any = field(default_factory=list)
    finished: bool = False
    is_empty: bool = False
    data_type: Optional[str] = None
    tgt_lang: Optional[str] = None
    config: dict = field(default_factory=dict)


@dataclass
class EmptySegment(Segment):
    is_empty: bool = True


@dataclass
class TextSegment(Segment):
    content: str = ""
    data_type: str = "text"


@dataclass
class SpeechSegment(Segment):
    sample_rate: int = -1
    data_type: str = "speech"


class StandInStates:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.source_finished = False
        self.target_finished = False
        self.tgt_lang = None


class StandInVADStates(StandInStates):
    def __init__(self, silence_limit_ms: int) -> None:
        self.silence_limit_ms = silence_limit_ms
        self.input_queue: queue.Queue = queue.Queue()
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.is_fresh_state = True
        self.silence_acc_ms = 0
        self.speech_acc_ms = 0
        self.input_chunk = np.empty(0, dtype=np.int16)
        while not self.input_queue.empty():
            self.input_queue.get_nowait()


class StandInVADAgent:
    def __init__(self, silence_limit_ms: int) -> None:
        self.silence_limit_ms = silence_limit_ms

    def build_states(self) -> StandInVADStates:
        return StandInVADStates(self.silence_limit_ms)


class StandInDecoderStates(StandInStates):
    def reset(self) -> None:
        super().reset()
        self.speech_ms = 0
        self.words = 0


class StandInDecoderAgent:
    def build_states(self) -> StandInDecoderStates:
        return StandInDecoderStates()


class StandInJointVADAgent:
    """Stand-in for SeamlessStreamingS2STJointVADAgent (a TreeAgentPipeline)."""

    def __init__(self, silence_limit_ms: int = 700, step_seconds: float = 0.0) -> None:
        self.source_module = StandInVADAgent(silence_limit_ms)
        self.text_module = StandInDecoderAgent()
        self.speech_module = StandInDecoderAgent()
        self.target_modules = [self.text_module, self.speech_module]
        self.step_seconds = step_seconds
        self.prefix: str | None = None  # shared per-call state, like UnitYMMATextDecoderAgent.prefix_indices
        self.calls = 0
        self.threads: set[int] = set()

    def build_states(self) -> dict[Any, Any]:
        states: dict[Any, Any] = {self.source_module: self.source_module.build_states()}
        states[self.text_module] = self.text_module.build_states()
        states[self.speech_module] = self.speech_module.build_states()
        return states

    def pushpop(self, segment: SpeechSegment, states: dict[Any, Any]) -> list[Segment]:
        self.calls += 1
        self.threads.add(threading.get_ident())
        vad = states[self.source_module]
        decoder = states[self.text_module]
        if decoder.tgt_lang is None:
            decoder.tgt_lang = segment.tgt_lang
        self.prefix = decoder.tgt_lang
        if self.step_seconds:
            time.sleep(self.step_seconds)  # lets another thread interleave, as a GPU step would
        content = np.asarray(segment.content, dtype=np.float32)
        for start in range(0, len(content) - WINDOW + 1, WINDOW):
            window = content[start : start + WINDOW]
            if vad.source_finished:
                continue
            if np.sqrt(np.mean(window**2)) > SPEECH_RMS:
                vad.is_fresh_state = False
                vad.silence_acc_ms = 0
                decoder.speech_ms += 32
            elif not vad.is_fresh_state:
                vad.silence_acc_ms += 32
                if vad.silence_acc_ms >= vad.silence_limit_ms:
                    vad.input_queue.put_nowait(EmptySegment(finished=True))
                    vad.source_finished = True
        if not vad.input_queue.empty():
            vad.input_queue.get_nowait()
        words_due = decoder.speech_ms // 320
        new_words = [f"{self.prefix}{n}" for n in range(decoder.words, words_due)]
        decoder.words = words_due
        finished = vad.source_finished
        text = TextSegment(content=" ".join(new_words), finished=finished, tgt_lang=self.prefix) \
            if new_words or finished else EmptySegment()
        tone = np.sin(np.arange(1600 * len(new_words)) * 0.1).astype(np.float32) * 0.3
        speech = SpeechSegment(content=tone.tolist(), finished=finished, sample_rate=16000, tgt_lang=self.prefix) \
            if new_words or finished else EmptySegment()
        return [text, speech]


def build_stand_in_agent(settings: Any) -> StandInJointVADAgent:
    return StandInJointVADAgent(settings.silence_limit_ms)
