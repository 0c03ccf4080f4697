"""The engine interface: what every translation engine offers the worker.

Engines speak plain dataclasses and numpy arrays; protobuf stays in the servicer.
Audio enters an engine as float32 mono samples in [-1, 1] at ENGINE_SAMPLE_RATE
and leaves it as float32 mono samples at the engine's ``output_sample_rate``.

Lifecycle: the worker builds one engine, calls ``load()`` once (blocking, in a
thread), then opens one ``EngineSession`` per stream. Session methods are
coroutines; an engine keeps heavy compute off the event loop (its own inference
thread or executor) and serialises or batches work on a shared model itself.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from s2st.runtime.settings import FromEnviron

ENGINE_SAMPLE_RATE = 16_000
"""Sample rate (Hz) of the audio every engine receives."""


class UnsupportedConfig(ValueError):
    """A session config the engine cannot serve; the message is shown to the client."""


@dataclass(frozen=True)
class EngineOptions:
    """A session's engine options, parsed and checked (inference/engines/options.py)."""

    glossary: tuple[str, ...] = ()  # terms to keep or spell as given


@dataclass(frozen=True)
class SessionSettings:
    """What a client asked for, already checked for shape by the servicer."""

    target_language: str
    source_language: str | None = None
    speech_output: bool = True
    options: EngineOptions = field(default_factory=EngineOptions)


@dataclass(frozen=True)
class LanguageRoute:
    """Every source language here reaches every target language here."""

    sources: tuple[str, ...]
    targets: tuple[str, ...]


@dataclass(frozen=True)
class VoiceInfo:
    """The voice that speaks a target language, and why it stands in for another, if it does."""

    language: str
    label: str
    kind: str
    fallback_reason: str = ""


@dataclass(frozen=True)
class LanguageCatalog:
    """Language codes (ISO 639-3, as the model names them) an engine serves."""

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    speech_targets: tuple[str, ...]
    source_selectable: bool
    routes: tuple[LanguageRoute, ...] = ()  # empty: every source reaches every target
    voices: tuple[VoiceInfo, ...] = ()  # empty: the engine does not name its voices

    def all_routes(self) -> tuple[LanguageRoute, ...]:
        return self.routes or (LanguageRoute(self.sources, self.targets),)


class Side(enum.Enum):
    SOURCE = "source"
    TARGET = "target"


@dataclass(frozen=True)
class SpeechStarted:
    """Voice activity of a new segment began ``at_ms`` into the input."""

    segment_id: int
    at_ms: int


@dataclass(frozen=True)
class SpeechEnded:
    """Voice activity of a segment ended ``at_ms`` into the input."""

    segment_id: int
    at_ms: int


@dataclass(frozen=True)
class TranscriptUpdate:
    """Text of one side of a segment: a partial replaces the previous partial."""

    side: Side
    segment_id: int
    text: str
    is_final: bool
    language: str = ""
    # How sure the engine is of a final's text, 0..1 (docs/protocol.md says how each engine measures it); None:
    # the engine does not say.
    confidence: float | None = None


@dataclass(frozen=True)
class SpeechAudio:
    """Translated speech samples (float32, output_sample_rate) of a segment.

    With speech output on, every segment ends with one SpeechAudio whose
    ``is_last`` is True (its samples may be empty): the worker closes the
    segment's latency figures on it.
    """

    segment_id: int
    samples: np.ndarray
    is_last: bool = False


@dataclass(frozen=True)
class SegmentWarning:
    """Something went wrong with one segment but the session goes on (a stable ``code``, e.g.
    ``translation_failed``: docs/protocol.md lists them)."""

    segment_id: int
    code: str
    message: str


@dataclass(frozen=True)
class LanguageHint:
    """The speech sounds like another language than the session's chosen source (ISO 639-3 codes), with the
    engine's probability of each; sent at most once per session and suggested language."""

    segment_id: int
    language: str
    probability: float
    source_language: str
    source_probability: float


EngineEvent = SpeechStarted | SpeechEnded | TranscriptUpdate | SpeechAudio | SegmentWarning | LanguageHint


class EngineSession(abc.ABC):
    """Per-stream state. Calls on one session never overlap."""

    @abc.abstractmethod
    async def push(self, audio: np.ndarray) -> list[EngineEvent]:
        """Consume input samples; return the events they made ready."""

    @abc.abstractmethod
    async def flush(self) -> list[EngineEvent]:
        """End of input: finish every pending segment and return its events."""

    @abc.abstractmethod
    async def reset(self) -> None:
        """Drop all state of the current utterance; the settings stay."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release everything the session holds. Safe to call twice."""


class Engine(abc.ABC):
    """One loaded model serving many sessions."""

    name: str
    supported_options: frozenset[str] = frozenset()  # names from inference/engines/options.py
    # The engine's settings dataclass, its only constructor argument; None: the engine has no settings.
    settings_class: ClassVar[type[FromEnviron] | None] = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Engine:
        """Build the engine from its settings class's environment variables."""
        if cls.settings_class is None:
            return cls()
        return cls(cls.settings_class.from_environ(environ))  # type: ignore[call-arg]  # each engine's __init__

    @abc.abstractmethod
    def load(self) -> None:
        """Load models once (blocking; the worker calls it in a thread)."""

    @property
    @abc.abstractmethod
    def model_id(self) -> str:
        """Model identifier(s) for display and logs."""

    @property
    @abc.abstractmethod
    def output_sample_rate(self) -> int:
        """Sample rate (Hz) of every SpeechAudio this engine emits."""

    @property
    def input_step_ms(self) -> int:
        """Audio (ms) the engine takes each decision on: input chunks this long add no delay. 0: no step."""
        return 0

    @abc.abstractmethod
    def languages(self) -> LanguageCatalog:
        """Languages this engine accepts and produces (valid after load)."""

    def step_cost_seconds(self) -> float | None:
        """Measured compute per stream per step (engines/step_cost.py), for admission; None: not measured."""
        return None

    @abc.abstractmethod
    def open_session(self, settings: SessionSettings) -> EngineSession:
        """Start a session; raise UnsupportedConfig for what it cannot serve."""

    async def aclose(self) -> None:
        """Release the model (worker shutdown). Default: nothing to release."""
