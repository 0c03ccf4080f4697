"""Whisper (CTranslate2, through faster-whisper) recognising and translating one segment in one pass.

Two measured choices (bench/engine.py, 2 cores, int8, Whisper base):
- The encoder runs on the segment plus one second of padding, not on Whisper's
  fixed 30 s window: 0.18 s instead of 1.3 s for a 4 s segment, with the same
  or better text (whisper.cpp calls this a reduced audio context).
- Source transcript and English translation are decoded as a batch of two
  prompts over one encoder output.

Decodes that look invented from non-speech (hallucination.is_no_speech) come
back empty. Decoding is plain greedy; a sentence doubled in less time than
saying it twice takes is said once (hallucination.without_doubled_sentence); a
decode that loops (hallucination.loop_start) is done again by beam search with a
repetition penalty and a ban on repeated 3-grams, and cut where its loop starts
if it still loops (a partial's is only cut: the final decodes again anyway).

Each text comes with a confidence: exp of its decode's average token log-probability (CTranslate2's
score, the sum of the log-probabilities over the length: faster-whisper's `avg_logprob`), 0 to 1. Measured on
Whisper base here: clean eSpeak Spanish 0.47-0.81, the same under loud pink noise 0.30-0.43, Spanish decoded
as French 0.17-0.19. Whisper's probability of each language over some audio (its language-identification
step) is asked for separately, over a session's speech so far, so that it can say its chosen source looks
wrong (language_hint.py).

A session's glossary goes before both prompts as Whisper's "previous text"
(`<|startofprev|>`, what faster-whisper's `initial_prompt` and `hotwords` do):
the decoder then spells those terms as given.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer

from inference.engines.base import ENGINE_SAMPLE_RATE
from inference.engines.lite.hallucination import cut_loop, is_no_speech, loop_start, without_doubled_sentence

log = logging.getLogger("inference.engines.lite.recognizer")

FRAMES_PER_SECOND = 100  # Whisper's mel hop is 10 ms
MAX_FRAMES = 3000  # Whisper's 30 s window
PADDING_SECONDS = 1.0
WINDOW_STEP_FRAMES = 200  # round windows up to 2 s so similar lengths share shapes
MAX_TEXT_TOKENS = 160
# Speech carries at most about 6 text tokens a second (fast talk, long German words); a greedy decode that
# goes on much longer is a loop, and a batch takes as long as its longest member: on 2 s segments, loops
# running to MAX_TEXT_TOKENS took 0.9 s instead of 0.2 s. The loop fallback keeps MAX_TEXT_TOKENS: its
# repetition penalty ends it on its own, and a cap there made beam search pick a cut-off hypothesis.
TOKENS_PER_SECOND = 15
BASE_TOKENS = 20
FALLBACK_BEAM_SIZE = 5
MAX_PREVIOUS_TOKENS = 223  # Whisper's limit on the previous-text prompt (half its text context, less one)


@dataclass(frozen=True)
class Recognition:
    language: str  # Whisper's two-letter code
    transcript: str
    translation: str | None  # None when no translation was asked for
    is_speech: bool = True  # False: the decode was judged invented from non-speech; both texts are empty
    confidence: float | None = None  # of the transcript: exp(average token log-probability), 0..1
    translation_confidence: float | None = None  # the same of the translation, when Whisper made one


class Recognizer:
    """Recognition and translation to English of one audio segment (call from one thread at a time)."""

    def __init__(self, source: str, compute_type: str, threads: int) -> None:
        self._model = WhisperModel(source, device="cpu", compute_type=compute_type, cpu_threads=threads)
        self.languages: tuple[str, ...] = tuple(self._model.supported_languages)

    def recognize(self, audio: np.ndarray, language: str | None, translate: bool,
                  target_prefix: str = "", glossary: tuple[str, ...] = (), redo_loops: bool = True) -> Recognition:
        """Transcript, and the English translation when asked; the target text is forced to start with
        target_prefix (words already spoken), which goes into the prompt of the task that makes it.
        Glossary terms are spelled as given. redo_loops False: a decode that loops is only cut.
        language None: the language Whisper finds likeliest."""
        tasks = ["transcribe", "translate"] if translate else ["transcribe"]
        features = np.repeat(self._encoder_input(audio), len(tasks), axis=0)
        encoded = self._model.model.encode(ctranslate2.StorageView.from_array(features))
        if language is None:
            probabilities = self._language_probabilities(encoded)
            language = max(probabilities, key=probabilities.__getitem__)
        target_task = tasks[-1]
        prompts = [self._prompt(language, task, target_prefix if task == target_task else "", glossary)
                   for task in tasks]
        # Plain greedy decoding: penalties against repeats would also shorten speech that does repeat itself.
        max_length = self._max_length(audio, prompts)
        results = self._model.model.generate(encoded, prompts, beam_size=1, max_length=max_length,
                                             suppress_blank=True, return_scores=True, return_no_speech_prob=True)
        # The no-speech probability comes from the first step, the same for both prompts.
        if is_no_speech(results[0].no_speech_prob, [result.scores[0] for result in results]):
            return Recognition(language, "", "" if translate else None, is_speech=False)
        seconds = len(audio) / ENGINE_SAMPLE_RATE
        texts = [without_doubled_sentence(self._decode(result.sequences_ids[0]), seconds) for result in results]
        scores = [result.scores[0] for result in results]
        for index, text in enumerate(texts):
            if loop_start(text) is not None:
                if redo_loops:
                    texts[index], scores[index] = self._decode_without_loop(encoded, index, prompts[index])
                else:
                    texts[index] = cut_loop(text)
        if target_prefix and not texts[-1].startswith(target_prefix):
            texts[-1] = f"{target_prefix} {texts[-1]}".strip()
        confidences = [math.exp(min(0.0, score)) for score in scores]
        return Recognition(language, texts[0], texts[1] if translate else None, confidence=confidences[0],
                           translation_confidence=confidences[1] if translate else None)

    @staticmethod
    def _max_length(audio: np.ndarray, prompts: list[list[int]]) -> int:
        """Tokens a decode of this audio may need (a forced prefix counts too), at most MAX_TEXT_TOKENS."""
        seconds = len(audio) / ENGINE_SAMPLE_RATE
        return min(MAX_TEXT_TOKENS, BASE_TOKENS + int(TOKENS_PER_SECOND * seconds) + max(map(len, prompts)))

    def _decode_without_loop(self, encoded: ctranslate2.StorageView, index: int, prompt: list[int]) -> tuple[str, float]:
        """The fallback of a decode that looped: beam search banning repeated 3-grams, cut if it still loops;
        with its score (a loop scores high: the looping decode's score would overstate the confidence)."""
        log.info("a decode looped; decoding again", extra={"task": "transcribe" if index == 0 else "translate"})
        single = ctranslate2.StorageView.from_array(np.asarray(encoded)[index : index + 1])
        (result,) = self._model.model.generate(single, [prompt], beam_size=FALLBACK_BEAM_SIZE,
                                               max_length=MAX_TEXT_TOKENS, suppress_blank=True,
                                               repetition_penalty=1.3, no_repeat_ngram_size=3,
                                               return_scores=True)
        return cut_loop(self._decode(result.sequences_ids[0])), result.scores[0]

    def _encoder_input(self, audio: np.ndarray) -> np.ndarray:
        padded = np.concatenate([audio, np.zeros(int(PADDING_SECONDS * ENGINE_SAMPLE_RATE), np.float32)])
        mel = self._model.feature_extractor(padded)
        frames = min(MAX_FRAMES, -(-mel.shape[1] // WINDOW_STEP_FRAMES) * WINDOW_STEP_FRAMES)
        window = np.zeros((mel.shape[0], frames), dtype=np.float32)
        window[:, : min(frames, mel.shape[1])] = mel[:, :frames]
        return np.ascontiguousarray(window[None])

    def language_probabilities(self, audio: np.ndarray) -> dict[str, float]:
        """Whisper's probability of each language (two-letter code) over the audio."""
        return self._language_probabilities(self._model.model.encode(
            ctranslate2.StorageView.from_array(self._encoder_input(audio))))

    def _language_probabilities(self, encoded: ctranslate2.StorageView) -> dict[str, float]:
        """Whisper's probability of each language (two-letter code); every row of the batch is the same audio."""
        single = ctranslate2.StorageView.from_array(np.asarray(encoded)[:1])
        return {token.strip("<|>"): probability for token, probability in self._model.model.detect_language(single)[0]}

    def _prompt(self, language: str, task: str, prefix: str = "", glossary: tuple[str, ...] = ()) -> list[int]:
        tokenizer = Tokenizer(self._model.hf_tokenizer, True, task=task, language=language)
        prefix_tokens = tokenizer.encode(" " + prefix.strip()) if prefix.strip() else []
        # As a finished sentence: a bare list of names made Whisper base answer some segments with an
        # invented "Yes, ma'am." (4 of 15 eSpeak recordings), the final period none (15 of 15 right).
        previous = [tokenizer.sot_prev, *tokenizer.encode(f" {', '.join(glossary)}.")[-MAX_PREVIOUS_TOKENS:]] \
            if glossary else []
        return [*previous, *tokenizer.sot_sequence, tokenizer.no_timestamps, *prefix_tokens]

    def _decode(self, tokens: list[int]) -> str:
        tokenizer = Tokenizer(self._model.hf_tokenizer, True, task="transcribe", language="en")
        return tokenizer.decode([t for t in tokens if t < tokenizer.eot]).strip()
