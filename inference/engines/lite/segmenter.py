"""Cuts a stream into speech segments from per-frame speech probabilities (push / flush policy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.audio import ms_to_samples, samples_to_ms
from inference.engines.lite.vad import WINDOW_SAMPLES

NEGATIVE_MARGIN = 0.15  # hysteresis: speech ends below threshold - margin


@dataclass(frozen=True)
class SegmentPolicy:
    threshold: float
    min_speech_ms: int
    min_silence_ms: int
    pad_ms: int
    max_segment_ms: int
    pause_ms: int = 0  # silence after which a segment may end early, when the caller says so (0: never)
    pause_decode_ms: int = 0  # silence after which that pause is announced, for the caller to decide (0: pause_ms)


@dataclass
class Segment:
    """Audio of one segment so far; offsets in input samples."""

    segment_id: int
    start_sample: int
    audio: np.ndarray
    speech_end_sample: int | None = None

    @property
    def duration_ms(self) -> int:
        return samples_to_ms(len(self.audio))


@dataclass(frozen=True)
class SegmentStarted:
    segment: Segment


@dataclass(frozen=True)
class SegmentGrew:
    segment: Segment
    silent: bool  # its latest frame was silent


@dataclass(frozen=True)
class SegmentPaused:
    """The open segment has been silent for pause_decode_ms: it may have ended. ``audio`` is its speech and
    the silence after it so far, up to the pad."""

    segment: Segment
    audio: np.ndarray


@dataclass(frozen=True)
class SegmentClosed:
    segment: Segment
    after_pause: bool = False  # closed in the silence a SegmentPaused announced: no voice came since


SegmenterEvent = SegmentStarted | SegmentGrew | SegmentPaused | SegmentClosed


class Segmenter:
    """Voiced frames open a segment (with some audio before them), enough silence or the length cap closes it;
    a shorter silence announces a pause, after which the caller may have the segment end at pause_ms."""

    def __init__(self, policy: SegmentPolicy) -> None:
        self._policy = policy
        self._pad = ms_to_samples(policy.pad_ms)
        # Samples of silence that announce a pause (0: never).
        self._announce_after = ms_to_samples(min(policy.pause_decode_ms or policy.pause_ms, policy.pause_ms))
        self._next_id = 1
        self.reset(0)

    def reset(self, consumed_samples: int) -> None:
        """Forget any segment; the stream goes on from consumed_samples."""
        self._samples = consumed_samples
        self._history = np.zeros(0, dtype=np.float32)  # recent audio while no segment is open
        self._voiced_run = 0
        self._silent_run = 0
        self._pause_announced = False  # a SegmentPaused went out for the current silence
        self._end_at_pause = False  # the caller wants the segment closed once the silence reaches pause_ms
        self._open: Segment | None = None

    def push(self, frames: np.ndarray, probabilities: np.ndarray) -> list[SegmenterEvent]:
        """Frames: audio of whole VAD windows; one probability per window."""
        events: list[SegmenterEvent] = []
        for index, probability in enumerate(probabilities):
            window = frames[index * WINDOW_SAMPLES : (index + 1) * WINDOW_SAMPLES]
            events += self._step(window, float(probability))
        if self._open is not None and not any(isinstance(e, SegmentClosed) and e.segment is self._open
                                              for e in events):
            events.append(self._progress(self._open))
        return events

    def end_at_pause(self) -> SegmentClosed | None:
        """After a SegmentPaused: close the segment once its silence reaches pause_ms (now, if it has), as
        min_silence_ms of silence would have, unless voice comes first."""
        assert self._open is not None and self._pause_announced
        if self._silent_run >= ms_to_samples(self._policy.pause_ms):
            return self._close_after_silence(self._open)
        self._end_at_pause = True
        return None

    def _progress(self, segment: Segment) -> SegmentGrew | SegmentPaused:
        # Announced once per silence: the first push after which the segment has been silent for pause_decode_ms.
        announce = self._announce_after
        if not announce or self._silent_run < announce or self._pause_announced:
            return SegmentGrew(segment, silent=self._silent_run > 0)
        self._pause_announced = True
        return SegmentPaused(segment, segment.audio[: len(segment.audio) - self._trailing_silence_kept()].copy())

    def _trailing_silence_kept(self) -> int:
        """Samples of the current silence that a close drops: all but the pad."""
        return self._silent_run - min(self._pad, self._silent_run)

    def flush(self) -> list[SegmenterEvent]:
        """End of input: close the open segment, if any."""
        if self._open is None:
            return []
        return [self._close(self._samples)]

    def _step(self, window: np.ndarray, probability: float) -> list[SegmenterEvent]:
        policy = self._policy
        self._samples += len(window)
        if self._open is None:
            self._history = np.concatenate([self._history, window])[-(self._pad + ms_to_samples(policy.min_speech_ms) + WINDOW_SAMPLES):]
            self._voiced_run = self._voiced_run + len(window) if probability >= policy.threshold else 0
            if self._voiced_run < ms_to_samples(policy.min_speech_ms):
                return []
            audio = self._history[-(self._voiced_run + self._pad):]
            self._open = Segment(self._next_id, self._samples - len(audio), audio.copy())
            self._next_id += 1
            self._history = np.zeros(0, dtype=np.float32)
            self._silent_run = 0
            return [SegmentStarted(self._open)]
        segment = self._open
        segment.audio = np.concatenate([segment.audio, window])
        voiced = probability >= policy.threshold - NEGATIVE_MARGIN
        self._silent_run = 0 if voiced else self._silent_run + len(window)
        if voiced:
            self._pause_announced = self._end_at_pause = False
        if self._silent_run >= ms_to_samples(policy.pause_ms if self._end_at_pause else policy.min_silence_ms):
            return [self._close_after_silence(segment)]
        if segment.duration_ms >= policy.max_segment_ms:
            # A monologue without pauses: cut here; if speech goes on, the next frames open a new segment.
            closed = self._close(self._samples)
            self._voiced_run = ms_to_samples(self._policy.min_speech_ms) if voiced else 0
            return [closed]
        return []

    def _close_after_silence(self, segment: Segment) -> SegmentClosed:
        speech_end = self._samples - self._silent_run
        segment.audio = segment.audio[: len(segment.audio) - self._trailing_silence_kept()]
        return self._close(speech_end, after_pause=self._pause_announced)

    def _close(self, speech_end_sample: int, after_pause: bool = False) -> SegmentClosed:
        assert self._open is not None
        segment, self._open = self._open, None
        segment.speech_end_sample = speech_end_sample
        self._silent_run = 0
        self._voiced_run = 0
        self._pause_announced = self._end_at_pause = False
        return SegmentClosed(segment, after_pause)
