"""One stream through the cascade: VAD segments -> Whisper (partials while speaking, finals at the end) -> eSpeak NG."""

from __future__ import annotations

import numpy as np

from inference.audio import WindowBuffer, samples_to_ms
from inference.engines.base import (
    EngineEvent,
    EngineSession,
    Side,
    SpeechAudio,
    SpeechEnded,
    SpeechStarted,
    TranscriptUpdate,
)
from inference.engines.lite.languages import ENGLISH, ENGLISH_WHISPER, to_iso3
from inference.engines.lite.recognizer import Recognition
from inference.engines.lite.runtime import LiteRuntime
from inference.engines.lite.segmenter import (
    Segment,
    SegmentClosed,
    Segmenter,
    SegmenterEvent,
    SegmentGrew,
    SegmentPaused,
    SegmentStarted,
)
from inference.engines.lite.vad import WINDOW_SAMPLES, StreamingVad

MIN_PARTIAL_AUDIO_MS = 1000  # shorter audio gives Whisper too little to say anything useful
PHRASE_END = (".", ",", "!", "?", ";", ":")
SENTENCE_END = (".", "!", "?")


def _normal(word: str) -> str:
    return word.strip(".,!?;:\"'").lower()


def stable_phrase(previous: list[str], current: list[str], committed: int) -> list[str]:
    """Words to speak now (LocalAgreement-2): the prefix two consecutive hypotheses agree on, beyond what
    was already spoken, up to its last phrase-ending punctuation, so speech never starts mid-phrase."""
    agreed = 0
    while agreed < min(len(previous), len(current)) and _normal(previous[agreed]) == _normal(current[agreed]):
        agreed += 1
    ends = [i for i in range(committed, agreed) if current[i].endswith(PHRASE_END)]
    return current[committed : ends[-1] + 1] if ends else []


class LiteSession(EngineSession):
    """Per-stream state: VAD recurrent state, the open segment, partial-decode bookkeeping."""

    def __init__(self, runtime: LiteRuntime, source_whisper: str | None, target: str, speech_output: bool,
                 glossary: tuple[str, ...] = ()) -> None:
        self._runtime = runtime
        self._glossary = glossary
        self._source = source_whisper
        self._target = target
        self._voice = runtime.voices.voice_for(target)
        self._speech_output = speech_output and self._voice is not None
        self._vad = StreamingVad(runtime.vad_model)
        self._segmenter = Segmenter(runtime.segment_policy)
        self._frames = WindowBuffer(WINDOW_SAMPLES)
        self._consumed = 0
        self._last_partial_ms = 0
        self._previous_words: list[str] = []  # target words of the segment's previous partial
        self._spoken: list[str] = []  # target words of the segment already synthesized
        self._unconfirmed: SpeechStarted | None = None  # the segment's start, until a decode finds speech in it
        self._last_partial: Recognition | None = None  # the segment's latest partial decode that found speech
        self._at_pause: tuple[int, Recognition] | None = None  # (words spoken, decode) of the latest pause

    async def push(self, audio: np.ndarray) -> list[EngineEvent]:
        frames = self._frames.push(audio)
        self._consumed += len(audio)
        if not len(frames):
            return []
        events: list[EngineEvent] = []
        for change in self._segmenter.push(frames, self._vad.probabilities(frames)):
            events += await self._on_segment_change(change)
        return events

    async def flush(self) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        for change in self._segmenter.flush():
            events += await self._on_segment_change(change)
        return events

    async def reset(self) -> None:
        self._vad.reset()
        self._segmenter.reset(self._consumed)
        self._frames.clear()
        self._start_segment()

    async def close(self) -> None:
        self._segmenter.reset(self._consumed)

    async def _on_segment_change(self, change: SegmenterEvent) -> list[EngineEvent]:
        segment = change.segment
        if isinstance(change, SegmentStarted):
            # Announced once a decode finds speech in it: noise that passes the VAD makes no events at all.
            self._start_segment()
            self._unconfirmed = SpeechStarted(segment.segment_id, samples_to_ms(segment.start_sample))
            return []
        if isinstance(change, SegmentGrew):
            return [] if change.silent else await self._partial(segment)  # a pause decode is coming
        if isinstance(change, SegmentPaused):
            return await self._pause(change)
        assert segment.speech_end_sample is not None
        final = await self._final(change)
        if final is None:
            return []
        return [*self._confirmed(), SpeechEnded(segment.segment_id, samples_to_ms(segment.speech_end_sample)), *final]

    def _start_segment(self) -> None:
        self._last_partial_ms = 0
        self._previous_words = []
        self._spoken = []
        self._unconfirmed = None
        self._last_partial = None
        self._at_pause = None

    def _confirmed(self) -> list[EngineEvent]:
        """The segment's SpeechStarted, the first time a decode finds speech in it."""
        started, self._unconfirmed = self._unconfirmed, None
        return [started] if started is not None else []

    async def _partial(self, segment: Segment) -> list[EngineEvent]:
        """A fresh hypothesis of both sides, at most once per interval and only when the model is idle;
        the part of the translation that has settled is spoken right away."""
        due = segment.duration_ms - self._last_partial_ms >= self._runtime.partial_interval_ms
        if segment.duration_ms < MIN_PARTIAL_AUDIO_MS or not due or self._runtime.busy:
            return []
        self._last_partial_ms = segment.duration_ms
        recognition = await self._recognize(segment.audio, redo_loops=False)
        if not recognition.is_speech:
            return []
        self._last_partial = recognition
        events = [*self._confirmed(), *self._transcripts(segment, recognition, is_final=False)]
        words = self._target_text(recognition).split()
        phrase = stable_phrase(self._previous_words, words, len(self._spoken))
        self._previous_words = words
        if phrase and self._speech_output:
            self._spoken += phrase
            speech = await self._voice.speak(" ".join(phrase))
            events.append(SpeechAudio(segment.segment_id, speech))
        return events

    async def _pause(self, pause: SegmentPaused) -> list[EngineEvent]:
        """A short silence: decode what the segment would end with (while the model is idle), early enough to
        be done when the pause is long enough to end it. When both texts end a sentence, the speaker most
        likely has, so the segment ends at pause_ms of silence instead of min_silence_ms. Either way, a
        close in this silence (no voice since) takes this decode as its final."""
        self._at_pause = None
        if self._runtime.busy:
            return []
        recognition = await self._recognize(pause.audio, target_prefix=" ".join(self._spoken))
        self._at_pause = (len(self._spoken), recognition)
        if not recognition.is_speech or not all(text.rstrip().endswith(SENTENCE_END) for text in
                                                 (recognition.transcript, self._target_text(recognition))):
            return []
        closed = self._segmenter.end_at_pause()
        return [] if closed is None else await self._on_segment_change(closed)

    async def _final(self, closed: SegmentClosed) -> list[EngineEvent] | None:
        """The segment's last events; None when no decode found speech in it."""
        segment = closed.segment
        if closed.after_pause and self._at_pause is not None and self._at_pause[0] == len(self._spoken):
            recognition = self._at_pause[1]  # nothing but silence since that decode
        else:
            # The final translation continues what was already spoken, so the two never disagree.
            recognition = await self._recognize(segment.audio, target_prefix=" ".join(self._spoken))
        if not recognition.is_speech:
            if self._last_partial is None:
                return None  # noise the VAD let through: no text, no speech, no events
            recognition = self._last_partial  # speech, then a tail the decoder took for noise: keep what was heard
        events = self._transcripts(segment, recognition, is_final=True)
        if self._speech_output:
            rest = self._target_text(recognition).split()[len(self._spoken):]
            speech = await self._voice.speak(" ".join(rest))
            events.append(SpeechAudio(segment.segment_id, speech, is_last=True))
        return events

    async def _recognize(self, audio: np.ndarray, target_prefix: str = "", redo_loops: bool = True) -> Recognition:
        return await self._runtime.recognize(audio.copy(), self._source, self._needs_translation(),
                                             target_prefix, self._glossary, redo_loops)

    def _needs_translation(self) -> bool:
        return self._source != ENGLISH_WHISPER

    def _transcripts(self, segment: Segment, recognition, is_final: bool) -> list[EngineEvent]:
        language = to_iso3(recognition.language) or ""
        return [
            TranscriptUpdate(Side.SOURCE, segment.segment_id, recognition.transcript, is_final, language),
            TranscriptUpdate(Side.TARGET, segment.segment_id, self._target_text(recognition), is_final, ENGLISH),
        ]

    @staticmethod
    def _target_text(recognition) -> str:
        # Detected English needs no translation: the transcript is the target text.
        if recognition.translation is None or recognition.language == ENGLISH_WHISPER:
            return recognition.transcript
        return recognition.translation
