"""One stream through the cascade: VAD segments -> Whisper (partials while speaking, finals at the end)
-> translation (Whisper's translate task into English, else a Translator of the transcript) -> voice.

Speech goes out phrase by phrase: the settled part of each partial, then each sentence of the final as
soon as its translation is ready, spoken beside the session (speech_queue.SpeechQueue)."""

from __future__ import annotations

import numpy as np

from inference.audio import WindowBuffer, samples_to_ms
from inference.engines.base import (
    EngineEvent,
    EngineSession,
    LanguageHint,
    SegmentWarning,
    Side,
    SpeechEnded,
    SpeechStarted,
    TranscriptUpdate,
)
from inference.languages import display_name
from inference.engines.lite.language_hint import LanguageHints
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
from inference.engines.lite.speech_queue import SpeechQueue
from inference.engines.lite.translation import TranslationFailed
from inference.engines.lite.translation.routes import Route
from inference.engines.lite.vad import WINDOW_SAMPLES, StreamingVad

MIN_PARTIAL_AUDIO_MS = 1000  # shorter audio gives Whisper too little to say anything useful
PHRASE_END = (".", ",", "!", "?", ";", ":")
SENTENCE_END = (".", "!", "?")


def _normal(word: str) -> str:
    return word.strip(".,!?;:\"'").lower()


def stable_phrase(previous: list[str], current: list[str], committed: int,
                  ends: tuple[str, ...] = PHRASE_END) -> list[str]:
    """Words to speak now (LocalAgreement-2): the prefix two consecutive hypotheses agree on, beyond what
    was already spoken, up to its last phrase-ending punctuation, so speech never starts mid-phrase."""
    agreed = 0
    while agreed < min(len(previous), len(current)) and _normal(previous[agreed]) == _normal(current[agreed]):
        agreed += 1
    ends = [i for i in range(committed, agreed) if current[i].endswith(ends)]
    return current[committed : ends[-1] + 1] if ends else []


def sentences(words: list[str]) -> list[str]:
    """Words as sentences, each ending at a word that ends one (the last one may not)."""
    result: list[str] = []
    start = 0
    for index, word in enumerate(words):
        if word.endswith(SENTENCE_END):
            result.append(" ".join(words[start : index + 1]))
            start = index + 1
    if start < len(words):
        result.append(" ".join(words[start:]))
    return result


class LiteSession(EngineSession):
    """Per-stream state: VAD recurrent state, the open segment, partial-decode bookkeeping, speech on its way."""

    def __init__(self, runtime: LiteRuntime, source: str | None, target: str, speech_output: bool,
                 glossary: tuple[str, ...] = ()) -> None:
        self._runtime = runtime
        self._glossary = glossary
        self._source_whisper = runtime.whisper_code(source) if source else None
        self._route = runtime.routes.route(source, target) if source else None  # None: per detected language
        self._hints = LanguageHints(self._source_whisper) if self._source_whisper else None
        self._target = target
        self._speech = SpeechQueue(runtime.voices.voice_for(target)) if speech_output else None
        self._vad = StreamingVad(runtime.vad_model)
        self._segmenter = Segmenter(runtime.segment_policy)
        self._frames = WindowBuffer(WINDOW_SAMPLES)
        self._consumed = 0
        self._last_partial_ms = 0
        self._previous_words: list[str] = []  # decoded words of the segment's previous partial
        self._spoken: list[str] = []  # decoded words of the segment already sent to the voice
        self._spoken_text: list[str] = []  # their target text, phrase by phrase
        self._unconfirmed: SpeechStarted | None = None  # the segment's start, until a decode finds speech in it
        self._last_partial: Recognition | None = None  # the segment's latest partial decode that found speech
        self._at_pause: tuple[int, Recognition] | None = None  # (words spoken, decode) of the latest pause

    async def push(self, audio: np.ndarray) -> list[EngineEvent]:
        frames = self._frames.push(audio)
        self._consumed += len(audio)
        events = self._ready_speech()
        if not len(frames):
            return events
        for change in self._segmenter.push(frames, self._vad.probabilities(frames)):
            events += await self._on_segment_change(change)
        return events

    async def flush(self) -> list[EngineEvent]:
        events = self._ready_speech()
        for change in self._segmenter.flush():
            events += await self._on_segment_change(change)
        return events + (await self._speech.drain() if self._speech else [])

    async def reset(self) -> None:
        self._vad.reset()
        self._segmenter.reset(self._consumed)
        self._frames.clear()
        self._start_segment()
        if self._speech:
            await self._speech.cancel()

    async def close(self) -> None:
        self._segmenter.reset(self._consumed)
        if self._speech:
            await self._speech.cancel()

    def _ready_speech(self) -> list[EngineEvent]:
        return self._speech.take() if self._speech else []

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
        self._spoken_text = []
        self._unconfirmed = None
        self._last_partial = None
        self._at_pause = None

    def _confirmed(self) -> list[EngineEvent]:
        """The segment's SpeechStarted, the first time a decode finds speech in it."""
        started, self._unconfirmed = self._unconfirmed, None
        return [started] if started is not None else []

    async def _partial(self, segment: Segment) -> list[EngineEvent]:
        """A fresh hypothesis of both sides, at most once per interval and only when the model is idle;
        the part of the translation that has settled goes to the voice right away."""
        due = segment.duration_ms - self._last_partial_ms >= self._runtime.partial_interval_ms
        if segment.duration_ms < MIN_PARTIAL_AUDIO_MS or not due or self._runtime.busy:
            return []
        self._last_partial_ms = segment.duration_ms
        recognition = await self._recognize(segment.audio, redo_loops=False)
        if not recognition.is_speech:
            return []
        self._last_partial = recognition
        events = [*self._confirmed(), self._source_text(segment, recognition, is_final=False)]
        route = self._route_for(recognition)
        if route is None:
            return events
        words = self._decoded(recognition).split()
        # A translator gets whole sentences: a phrase cut at a comma translates worse than its sentence.
        phrase = stable_phrase(self._previous_words, words, len(self._spoken),
                               PHRASE_END if route.translator is None else SENTENCE_END)
        self._previous_words = words
        try:
            if phrase and self._speech:
                text = await self._translated(route, " ".join(phrase))
                self._spoken += phrase
                self._spoken_text.append(text)
                self._speech.put(segment.segment_id, text)
            rest = await self._translated(route, " ".join(words[len(self._spoken):]))
        except TranslationFailed as exc:
            return [*events, self._translation_failed(segment, exc)]  # restarted: the next call may work
        target = " ".join([*self._spoken_text, rest]).strip()
        return [*events, TranscriptUpdate(Side.TARGET, segment.segment_id, target, False, self._target)]

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
                                                 (recognition.transcript, self._decoded(recognition))):
            return []
        closed = self._segmenter.end_at_pause()
        return [] if closed is None else await self._on_segment_change(closed)

    async def _final(self, closed: SegmentClosed) -> list[EngineEvent] | None:
        """The segment's last events; None when no decode found speech in it."""
        segment = closed.segment
        if closed.after_pause and self._at_pause is not None and self._at_pause[0] == len(self._spoken):
            recognition = self._at_pause[1]  # nothing but silence since that decode
        else:
            # The final decode continues what was already spoken, so the two never disagree.
            recognition = await self._recognize(segment.audio, target_prefix=" ".join(self._spoken))
        if not recognition.is_speech:
            if self._last_partial is None:
                return None  # noise the VAD let through: no text, no speech, no events
            recognition = self._last_partial  # speech, then a tail the decoder took for noise: keep what was heard
        events: list[EngineEvent] = [self._source_text(segment, recognition, is_final=True)]
        route = self._route_for(recognition)
        texts = list(self._spoken_text)
        if route is None:
            events.append(self._no_route(segment, recognition))
        else:
            events += await self._speak_sentences(segment, route, self._decoded(recognition).split()[len(self._spoken):],
                                                  texts)
        events.insert(1, TranscriptUpdate(Side.TARGET, segment.segment_id, " ".join(texts), True, self._target,
                                          self._target_confidence(recognition)))
        if self._speech:
            self._speech.put(segment.segment_id, "", is_last=True)
        return events + await self._language_hint(segment)

    async def _language_hint(self, segment: Segment) -> list[EngineEvent]:
        """A LanguageHint when the session's speech so far sounds like another source language the engine can
        take (language_hint.py has the rule)."""
        heard = self._hints.hear(segment.audio) if self._hints else None
        if heard is None:
            return []
        suggestion = self._hints.check(await self._runtime.language_probabilities(heard))
        language = to_iso3(suggestion.language) if suggestion else None
        if suggestion is None or language not in self._runtime.routes.sources:
            return []
        return [LanguageHint(segment.segment_id, language, suggestion.probability, to_iso3(self._hints.chosen) or "",
                             suggestion.chosen_probability)]

    async def _speak_sentences(self, segment: Segment, route: Route, words: list[str],
                               texts: list[str]) -> list[EngineEvent]:
        """Translate the rest sentence by sentence, each to the voice as soon as it is ready; appends to texts.
        A translation that fails leaves the rest of the segment untranslated, with a warning."""
        for sentence in sentences(words):
            try:
                text = await self._translated(route, sentence)
            except TranslationFailed as exc:
                return [self._translation_failed(segment, exc)]
            texts.append(text)
            if self._speech:
                self._speech.put(segment.segment_id, text)
        return []

    @staticmethod
    def _translation_failed(segment: Segment, exc: TranslationFailed) -> SegmentWarning:
        return SegmentWarning(segment.segment_id, "translation_failed", f"{exc}; this segment is sent as source text")

    def _no_route(self, segment: Segment, recognition: Recognition) -> SegmentWarning:
        heard = to_iso3(recognition.language) or recognition.language
        return SegmentWarning(segment.segment_id, "no_route",
                              f"the speech sounds like {display_name(heard)} ({heard}), which the lite engine "
                              f"cannot translate into {display_name(self._target)} ({self._target}): pick the "
                              "spoken language or another target; this segment is sent as source text")

    def _route_for(self, recognition: Recognition) -> Route | None:
        if self._route is not None:
            return self._route
        return self._runtime.routes.route(to_iso3(recognition.language) or "", self._target)

    @staticmethod
    async def _translated(route: Route, text: str) -> str:
        return await route.translator.translate(text) if route.translator and text.strip() else text

    async def _recognize(self, audio: np.ndarray, target_prefix: str = "", redo_loops: bool = True) -> Recognition:
        # Whisper's translate task makes English; any other target starts from the transcript.
        translate = self._target == ENGLISH and self._source_whisper != ENGLISH_WHISPER
        return await self._runtime.recognize(audio.copy(), self._source_whisper, translate, target_prefix,
                                             self._glossary, redo_loops)

    @staticmethod
    def _source_text(segment: Segment, recognition: Recognition, is_final: bool) -> TranscriptUpdate:
        return TranscriptUpdate(Side.SOURCE, segment.segment_id, recognition.transcript, is_final,
                                to_iso3(recognition.language) or "", recognition.confidence if is_final else None)

    @staticmethod
    def _target_confidence(recognition: Recognition) -> float | None:
        """The confidence of the decode the target text comes from: Whisper's translation, else the transcript
        (a translator of the transcript cannot be surer than what was heard)."""
        return recognition.translation_confidence if _whisper_translated(recognition) else recognition.confidence

    @staticmethod
    def _decoded(recognition: Recognition) -> str:
        """The text the last decode task made: the English translation, else the transcript (detected
        English needs no translation: its transcript is the target text)."""
        return recognition.translation if _whisper_translated(recognition) else recognition.transcript


def _whisper_translated(recognition: Recognition) -> bool:
    """Whether Whisper's translate task made the target text (detected English needs no translation)."""
    return recognition.translation is not None and recognition.language != ENGLISH_WHISPER
