"""Does the lite engine load the models this machine gives it? Run where they are put in place (the CPU
image's build, Dockerfile.inference) so a model that does not load stops the build, not the first session.

It runs the engine's own loaders on the folders its settings name (S2ST_LITE_*): the Whisper model lookup,
every CTranslate2 model of S2ST_LITE_MT_DIR, and every voice (a Piper voice that fails to load would leave
its language to eSpeak NG at run time: here it is an error). Prints what loaded; exit status 1 and the
reason when anything did not.
    python -m inference.engines.lite.preflight
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from inference.engines.lite.models import ModelNotFound, whisper_model_source
from inference.engines.lite.settings import LiteSettings
from inference.engines.lite.translation.ctranslate2_models import MtDirInvalid, load_mt_dir
from inference.engines.lite.voices import load_voices


class PreflightFailed(RuntimeError):
    """A model the settings name does not load; the message says which and why."""


def check(settings: LiteSettings) -> list[str]:
    """One line per stage saying what loaded; PreflightFailed when something did not."""
    try:
        source, label = whisper_model_source(settings)
        lines = [f"recognition: {label} from {source}"]
        if settings.mt_dir:
            translators = load_mt_dir(Path(settings.mt_dir), 1, settings.compute_type)
            for translator in translators:
                translator.close()
            lines.append(f"translation: {len(translators)} pairs from {settings.mt_dir}")
    except (ModelNotFound, MtDirInvalid) as exc:
        raise PreflightFailed(str(exc)) from exc
    catalog = load_voices(settings)
    try:
        voices = [catalog.voice_for(language) for language in catalog.languages()]
    finally:
        catalog.close()
    failed = [f"{voice.language}: {voice.fallback_reason}" for voice in voices if voice and voice.fallback_reason]
    if failed:
        raise PreflightFailed("voices that do not load: " + "; ".join(failed))
    neural = sorted(f"{voice.language} {voice.label}" for voice in voices if voice and voice.kind != "espeak")
    lines.append(f"voices: {len(voices)} languages; neural: {', '.join(neural) or 'none'}")
    return lines


def main() -> int:
    try:
        lines = check(LiteSettings.from_environ(os.environ))
    except PreflightFailed as exc:
        print(f"preflight: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
