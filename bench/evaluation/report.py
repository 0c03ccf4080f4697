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


Summary = dict[str, float | int]


def _summary_rows(label: str, summary: Summary) -> list[str]:
    means = " ".join(_cell(summary[field], width, spec) for _, field, width, spec in COLUMNS)
    medians = " ".join(_cell(summary[f"median_{field}"] if f"median_{field}" in summary else None, width, spec)
                       for _, field, width, spec in COLUMNS)
    return [f"{label + ' (corpus BLEU/chrF, mean latency)':<{LABEL_WIDTH}} {means}",
            f"{label + ' (median latency)':<{LABEL_WIDTH}} {medians}"]


def table(scores: list[UtteranceScore], summary: Summary, by_pair: dict[str, Summary]) -> str:
    header = f"{'utterance':<{LABEL_WIDTH}} " + " ".join(f"{name:>{width}}" for name, _, width, _ in COLUMNS)
    lines = [header]
    for score in scores:
        label = f"[{score.pair}] {score.source_reference or Path(score.audio).name}"[:LABEL_WIDTH]
        cells = " ".join(_cell(getattr(score, field), width, spec) for _, field, width, spec in COLUMNS)
        lines.append(f"{label:<{LABEL_WIDTH}} {cells}")
        lines.append(f"{'':<4}-> {score.hypothesis or '(nothing)'}" + (f"   ERROR {score.error}" if score.error else ""))
    if len(by_pair) > 1:
        for pair, pair_summary in by_pair.items():
            lines += _summary_rows(f"[{pair}]", pair_summary)
    lines += _summary_rows("overall", summary)
    lines.append(f"utterances: {summary['utterances']}, errors: {summary['errors']}")
    return "\n".join(lines)


def _clean(summary: Summary) -> dict:
    return {key: (None if isinstance(value, float) and math.isnan(value) else value) for key, value in summary.items()}


def write_json(path: Path, scores: list[UtteranceScore], summary: Summary, by_pair: dict[str, Summary],
               run: dict) -> None:
    path.write_text(json.dumps({"run": run, "overall": _clean(summary),
                                "pairs": {pair: _clean(s) for pair, s in by_pair.items()},
                                "utterances": [s.as_dict() for s in scores]}, indent=2, ensure_ascii=False))
