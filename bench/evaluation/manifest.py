"""What to evaluate: a TSV manifest of audio files with their references.

One utterance per line, tab-separated: audio path (relative to the manifest's folder or absolute), source
language (ISO 639-3, as ListLanguages names it; empty: let the engine detect it), reference translation,
and optionally the reference transcript of the source speech. Lines starting with '#' and blank lines are
skipped; so is a header line whose first column is ``audio``. Every line is translated into the one target
language the run names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Utterance:
    """One file to stream, with what its translation (and transcript, when known) should be."""

    audio: Path
    source_language: str
    target_language: str
    reference: str
    transcript: str | None = None
    # Where the speech lies in the audio (ms), when known: noise mixed over a file hides it from a level meter.
    speech_span_ms: tuple[float, float] | None = None

    @property
    def pair(self) -> str:
        return pair_name(self.source_language, self.target_language)


def pair_name(source_language: str, target_language: str) -> str:
    """A language pair as the tool names it and the report groups utterances: ``spa-eng``, ``auto-eng``."""
    return f"{source_language or 'auto'}-{target_language}"


class ManifestError(ValueError):
    """A manifest line that cannot be read; the message names the line."""


def read_manifest(path: Path, target_language: str) -> list[Utterance]:
    utterances = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        if number == 1 and columns[0].strip().lower() == "audio":
            continue
        if len(columns) not in (3, 4):
            raise ManifestError(f"{path}:{number}: expected 3 or 4 tab-separated columns, got {len(columns)}")
        audio = Path(columns[0].strip())
        transcript = columns[3].strip() if len(columns) == 4 and columns[3].strip() else None
        utterances.append(Utterance(audio if audio.is_absolute() else path.parent / audio, columns[1].strip(),
                                    target_language, columns[2].strip(), transcript))
    return utterances
