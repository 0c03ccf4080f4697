"""The evaluation's table (stdout) and JSON file."""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench.evaluation.scoring import UtteranceScore

COLUMNS = (  # (header, field, width, format)
    ("BLEU", "bleu", 6, ".1f"), ("chrF", "chrf", 6, ".1f"), ("ASR-BLEU", "asr_bleu", 8, ".1f"),
    ("WER%", "source_wer", 6, ".1f"), ("first ms", "first_output_latency_ms", 8, ".0f"),
    ("AL ms", "average_lagging_ms", 7, ".0f"), ("LAAL ms", "length_adaptive_average_lagging_ms", 7, ".0f"),
    ("end off ms", "speech_ending_offset_ms", 10, ".0f"),
)
LABEL_WIDTH = 44


def _cell(value: float | None, width: int, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>{width}}"
    return f"{value:>{width}{spec}}"


def table(scores: list[UtteranceScore], summary: dict[str, float | int]) -> str:
    header = f"{'utterance':<{LABEL_WIDTH}} " + " ".join(f"{name:>{width}}" for name, _, width, _ in COLUMNS)
    lines = [header]
    for score in scores:
        label = f"[{score.source_language}] {score.source_reference or Path(score.audio).name}"[:LABEL_WIDTH]
        cells = " ".join(_cell(getattr(score, field), width, spec) for _, field, width, spec in COLUMNS)
        lines.append(f"{label:<{LABEL_WIDTH}} {cells}")
        lines.append(f"{'':<4}-> {score.hypothesis or '(nothing)'}" + (f"   ERROR {score.error}" if score.error else ""))
    cells = " ".join(_cell(summary[field], width, spec) for _, field, width, spec in COLUMNS)
    lines.append(f"{'overall (corpus BLEU/chrF, mean latency)':<{LABEL_WIDTH}} {cells}")
    lines.append(f"utterances: {summary['utterances']}, errors: {summary['errors']}")
    return "\n".join(lines)


def write_json(path: Path, scores: list[UtteranceScore], summary: dict[str, float | int], run: dict) -> None:
    clean = {key: (None if isinstance(value, float) and math.isnan(value) else value) for key, value in summary.items()}
    path.write_text(json.dumps({"run": run, "overall": clean, "utterances": [s.as_dict() for s in scores]},
                               indent=2, ensure_ascii=False))
