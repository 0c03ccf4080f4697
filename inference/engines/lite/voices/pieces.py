"""A sentence cut into pieces a slow voice speaks one after the other, so that its first words go out
while the rest is still being synthesized (Kokoro takes about as long as the speech lasts here).

Cuts fall after clause punctuation (`,` `;` `:` and sentence ends); a clause longer than `max_words`
is cut at word boundaries too, into parts as even as can be, never inside a word and never right after
a short word: a piece that ends on an article or a preposition ("del", "a la") is spoken as if the
sentence ended there, and Whisper heard "cerca del | río" as "cerca de él, río" (docs/lite-engine.md).
No piece has fewer than MIN_PIECE_WORDS words: a word or two alone come out clipped.
"""

from __future__ import annotations

import math

CLAUSE_ENDS = (",", ";", ":", ".", "!", "?", "…")
MIN_PIECE_WORDS = 3
MIN_LAST_WORD_LETTERS = 4  # a piece ends on a content word, not "de", "la", "the", "and"


def speech_pieces(text: str, max_words: int) -> list[str]:
    """The text's pieces, in order; max_words 0: the whole text as one piece."""
    words = text.split()
    if max_words <= 0 or not words:
        return [" ".join(words)] if words else []
    return [" ".join(piece) for clause in _clauses(words) for piece in _parts(clause, max_words)]


def _clauses(words: list[str]) -> list[list[str]]:
    """Words grouped into clauses ending at clause punctuation; short ones joined to the next."""
    clauses: list[list[str]] = [[]]
    for word in words:
        clauses[-1].append(word)
        if word.endswith(CLAUSE_ENDS) and len(clauses[-1]) >= MIN_PIECE_WORDS:
            clauses.append([])
    if not clauses[-1]:
        clauses.pop()
    elif len(clauses) > 1 and len(clauses[-1]) < MIN_PIECE_WORDS:
        short = clauses.pop()
        clauses[-1] += short  # a short last clause joins the one before
    return clauses


def _parts(clause: list[str], max_words: int) -> list[list[str]]:
    """A clause of more than max_words in as many even parts as that takes, each cut after the content
    word nearest its even share (so a part may run a word or two over)."""
    count = math.ceil(len(clause) / max_words)
    cuts = [0]
    for part in range(1, count):
        cut = _cut(clause, cuts[-1], round(part * len(clause) / count))
        if cut is not None:
            cuts.append(cut)
    return [clause[start:end] for start, end in zip(cuts, [*cuts[1:], len(clause)])]


def _cut(clause: list[str], start: int, aim: int) -> int | None:
    """The index nearest aim to cut the clause at, leaving MIN_PIECE_WORDS on each side."""
    allowed = [index for index in range(start + MIN_PIECE_WORDS, len(clause) - MIN_PIECE_WORDS + 1)
               if len(clause[index - 1].strip("\"'¿¡")) >= MIN_LAST_WORD_LETTERS]
    return min(allowed, key=lambda index: abs(index - aim), default=None)
