"""Whisper's known failure modes on one decode: text invented from non-speech, and repetition loops.

Thresholds (docs/lite-engine.md says what they were checked against):
- no speech: Whisper's own rule, as openai-whisper and faster-whisper apply it:
  the no-speech probability above NO_SPEECH_THRESHOLD *and* the better average
  token log-probability of the two tasks below LOGPROB_THRESHOLD (-2.0, not
  Whisper's -1.0: our segments passed the VAD already, and on 1-2 s of real
  speech Whisper base gives no-speech probabilities of 0.6-0.9 at about -1.2 to
  -1.9, where its invented "of" and "and" sit at -3 to -5); or either
  task's average log-probability below GIBBERISH_LOGPROB_THRESHOLD (-3.5), what
  Whisper base makes of loud noise that passed the VAD ("y", "the", "no" at -5) and of
  a short tail of babble ("the" at -3.9, no-speech probability 0.55);
- a loop: a phrase of 3-5 words three times or more, a word or word pair four
  times in a row, or text that zlib compresses more than COMPRESSION_RATIO_THRESHOLD
  (Whisper's temperature-fallback criterion); or a loop the decode's length cap cut
  short: a phrase of 3-5 words twice in a row, then the text ends partway into it again;
- a doubled sentence: one of 3 words or more said again right after itself, in more words than the audio
  can hold (MAX_WORDS_PER_SECOND: "You want a glass of water. You want a glass of water." from 1.6 s of
  speech). A speaker who does repeat a sentence takes the time to say it twice.
"""

from __future__ import annotations

import re
import zlib

NO_SPEECH_THRESHOLD = 0.6
LOGPROB_THRESHOLD = -2.0
GIBBERISH_LOGPROB_THRESHOLD = -3.5
COMPRESSION_RATIO_THRESHOLD = 2.4
PHRASE_REPEATS = 3
RUN_REPEATS = 4
MAX_WORDS_PER_SECOND = 4.5  # brisk speech says about 3 a second

_WORD = re.compile(r"[\w'’-]+")


def is_no_speech(no_speech_prob: float, average_logprobs: list[float]) -> bool:
    """Whether decodes of one segment (one per task) are most likely text made up from non-speech."""
    if min(average_logprobs) < GIBBERISH_LOGPROB_THRESHOLD:
        return True
    return no_speech_prob > NO_SPEECH_THRESHOLD and max(average_logprobs) < LOGPROB_THRESHOLD


def compression_ratio(text: str) -> float:
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


def loop_start(text: str) -> int | None:
    """The word index where a repetition loop starts (its second occurrence), or None for text without one."""
    words = [w.lower() for w in _WORD.findall(text)]
    for size in range(3, 6):
        seen: dict[tuple[str, ...], list[int]] = {}
        for i in range(len(words) - size + 1):
            starts = seen.setdefault(tuple(words[i : i + size]), [])
            if not starts or i >= starts[-1] + size:  # occurrences that do not overlap
                starts.append(i)
            if len(starts) >= PHRASE_REPEATS:
                return starts[1]
    cut = _cut_loop_start(words)
    if cut is not None:
        return cut
    for size in (1, 2):
        for i in range(len(words) - size * RUN_REPEATS + 1):
            unit = words[i : i + size]
            if all(words[i + k * size : i + (k + 1) * size] == unit for k in range(RUN_REPEATS)):
                return i + size
    if compression_ratio(text) > COMPRESSION_RATIO_THRESHOLD:
        return len(words) // 2
    return None


def _cut_loop_start(words: list[str]) -> int | None:
    """Where a phrase of 3-5 words said twice in a row, then begun a third time at the very end (its last
    word maybe cut mid-way), is said the second time; None without one."""
    for size in range(3, 6):
        for length in range(size, 0, -1):
            start = len(words) - 2 * size - length
            if start < 0:
                continue
            phrase, tail = words[start + size : start + 2 * size], words[len(words) - length :]
            if words[start : start + size] == phrase and tail[:-1] == phrase[: length - 1] \
                    and phrase[length - 1].startswith(tail[-1]):
                return start + size
    return None


def without_doubled_sentence(text: str, seconds: float) -> str:
    """Text decoded from seconds of audio, up to the first sentence of 3 words or more that it says again right
    after itself, when it holds more words than that audio can; otherwise the whole text."""
    if len(_WORD.findall(text)) <= MAX_WORDS_PER_SECOND * seconds:
        return text
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    words = [[w.lower() for w in _WORD.findall(sentence)] for sentence in sentences]
    for index in range(1, len(sentences)):
        if len(words[index]) >= 3 and words[index] == words[index - 1]:
            return " ".join(sentences[:index])
    return text


def cut_loop(text: str) -> str:
    """Text up to where its loop starts (the whole text when it has none)."""
    start = loop_start(text)
    if start is None:
        return text
    matches = list(_WORD.finditer(text))
    return text[: matches[start].start()].rstrip(" ,;:-") if start < len(matches) else text
