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
    pause_ms: int = 0  # silence after which a segment is announced as paused (0: never)


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


@dataclass(frozen=True)
class SegmentPaused:
    """The open segment has been silent for pause_ms: it may have ended. ``audio`` is what closing it now
    would keep (speech and pad), the same audio a close by silence keeps if no voice comes first."""

    segment: Segment
    audio: np.ndarray


@dataclass(frozen=True)
class SegmentClosed:
    segment: Segment


SegmenterEvent = SegmentStarted | SegmentGrew | SegmentPaused | SegmentClosed


class Segmenter:
    """Voiced frames open a segment (with some audio before them), enough silence or the length cap closes it;
    a shorter silence announces a pause, after which the caller may close the segment itself."""

    def __init__(self, policy: SegmentPolicy) -> None:
        self._policy = policy
        self._pad = ms_to_samples(policy.pad_ms)
        self._next_id = 1
        self.reset(0)

    def reset(self, consumed_samples: int) -> None:
        """Forget any segment; the stream goes on from consumed_samples."""
        self._samples = consumed_samples
        self._history = np.zeros(0, dtype=np.float32)  # recent audio while no segment is open
        self._voiced_run = 0
        self._silent_run = 0
        self._pause_announced = False  # a SegmentPaused went out for the current silence
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

    def close_paused(self) -> SegmentClosed:
        """Close the open, silent segment now, as min_silence_ms of silence would have."""
        assert self._open is not None and self._silent_run > 0
        return self._close_after_silence(self._open)

    def _progress(self, segment: Segment) -> SegmentGrew | SegmentPaused:
        # Announced once per silence: the first push after which the segment has been silent for pause_ms.
        pause = ms_to_samples(self._policy.pause_ms)
        if not pause or self._silent_run < pause or self._pause_announced:
            return SegmentGrew(segment)
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
            self._pause_announced = False
        if self._silent_run >= ms_to_samples(policy.min_silence_ms):
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
        return self._close(speech_end)

    def _close(self, speech_end_sample: int) -> SegmentClosed:
        assert self._open is not None
        segment, self._open = self._open, None
        segment.speech_end_sample = speech_end_sample
        self._silent_run = 0
        self._voiced_run = 0
        self._pause_announced = False
        return SegmentClosed(segment)
