"""What a room remembers of what was said, and the part of it a listener who joins late is sent."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from s2st.v1 import translation_pb2 as pb

HISTORY_SEGMENTS = 1000  # finals kept per room and per language for listeners who join late


@dataclass
class HistoryEntry:
    source: str
    target: str | None = None


class TranscriptHistory:
    """One language's finals, each segment's source and target together, the last HISTORY_SEGMENTS of them."""

    def __init__(self) -> None:
        self.entries: deque[HistoryEntry] = deque(maxlen=HISTORY_SEGMENTS)
        self._segments: dict[int, HistoryEntry] = {}  # this worker stream's finals, by its segment id

    def restart(self) -> None:
        """A new worker stream numbers its segments from 1 again: its ids name new entries."""
        self._segments = {}

    def remember(self, transcript: pb.Transcript) -> bool:
        """Keep a final; True when it is the source text of a segment not seen before."""
        if not transcript.is_final:
            return False
        new = False
        entry = self._segments.get(transcript.segment_id)
        if transcript.side == pb.SOURCE:
            if entry is None:
                entry = self._segments[transcript.segment_id] = HistoryEntry(transcript.text)
                self.entries.append(entry)
                new = True
            else:
                entry.source = transcript.text
        elif entry is not None:
            entry.target = transcript.text
        if len(self._segments) > HISTORY_SEGMENTS:
            self._segments.pop(next(iter(self._segments)))
        return new


def replay(history: TranscriptHistory, source_only: Iterable[str], max_bytes: int) -> list[dict[str, str | None]]:
    """The transcript a `joined` carries: the language's own history or, for a language nobody heard yet, the source
    texts of the room's first stream; the latest of it that fits max_bytes (latest_within)."""
    entries = [{"source": entry.source, "target": entry.target} for entry in history.entries]
    if not entries:
        entries = [{"source": text, "target": None} for text in source_only]
    return latest_within(entries, max_bytes)


def latest_within(history: list[dict[str, str | None]], max_bytes: int) -> list[dict[str, str | None]]:
    """The latest entries whose texts add up to at most max_bytes (UTF-8), oldest first: what one `joined` replays,
    so that a listener who joins again and again cannot make the gateway queue the whole history each time."""
    kept: list[dict[str, str | None]] = []
    size = 0
    for entry in reversed(history):
        size += sum(len(text.encode()) for text in entry.values() if text)
        if size > max_bytes:
            break
        kept.append(entry)
    return kept[::-1]
