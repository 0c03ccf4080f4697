"""Display names of language codes (ISO 639-3, optionally with a script suffix such as cmn_Hant)."""

from __future__ import annotations

import functools

import pycountry

_SCRIPTS = {"Hant": "Traditional", "Hans": "Simplified", "Latn": "Latin", "Cyrl": "Cyrillic", "Arab": "Arabic"}


@functools.cache
def display_name(code: str) -> str:
    """English name of a language code, e.g. "spa" -> "Spanish"; the code itself when unknown."""
    base, _, script = code.partition("_")
    language = pycountry.languages.get(alpha_3=base) or (
        pycountry.languages.get(alpha_2=base) if len(base) == 2 else None
    )
    name = getattr(language, "common_name", None) or getattr(language, "name", None) or code
    name = name.removesuffix(" (individual language)").removesuffix(" (macrolanguage)")
    if script:
        name = f"{name} ({_SCRIPTS.get(script, script)})"
    return name
