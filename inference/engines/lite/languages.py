"""Whisper's language codes (mostly ISO 639-1) as the API's ISO 639-3 codes, and back."""

from __future__ import annotations

import pycountry

# Whisper codes that are not ISO 639-1 or map to another ISO 639-3 code than pycountry gives.
_SPECIAL = {"jw": "jav", "haw": "haw", "yue": "yue", "zh": "cmn"}
ENGLISH = "eng"
ENGLISH_WHISPER = "en"


def to_iso3(whisper_code: str) -> str | None:
    if whisper_code in _SPECIAL:
        return _SPECIAL[whisper_code]
    language = pycountry.languages.get(alpha_2=whisper_code)
    return getattr(language, "alpha_3", None)


def iso3_to_whisper(whisper_codes: tuple[str, ...]) -> dict[str, str]:
    """ISO 639-3 code -> Whisper code, for every Whisper language with a known ISO code."""
    mapping = {}
    for code in whisper_codes:
        iso3 = to_iso3(code)
        if iso3:
            mapping[iso3] = code
    return mapping
