"""Upstream's detokenizer agent, keeping the word boundary at the front of what it writes.

Upstream's ``DetokenizerAgent.decode`` turns SentencePiece pieces into text and then
strips it, so the space that SentencePiece's ``▁`` put before a word that starts in
this step is gone: a word whose pieces come out in two steps ("▁Hel", then "lo")
cannot be told from two words. This agent keeps that leading space; whoever joins
the steps concatenates them as they are. Everything else is upstream's code.
Imported only by a worker that serves the seamless engine.
"""

from __future__ import annotations

from seamless_communication.streaming.agents.detokenizer import UnitYDetokenizerAgent

WORD_START = "\u2581"  # SentencePiece's mark of a piece that starts a word


class WordBoundaryDetokenizerAgent(UnitYDetokenizerAgent):
    """UnitYDetokenizerAgent whose output starts with a space when its first piece starts a word."""

    def decode(self, x: str) -> str:
        return x.replace(" ", "").replace(WORD_START, " ").rstrip()
