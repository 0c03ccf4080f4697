"""Engine options: every name the worker knows, parsed and checked here once; each engine says which it supports.

| option | value | engines |
|---|---|---|
| glossary | terms to keep or spell as given (names, product words), separated by `;` or new lines: at most 20 terms of at most 48 characters, letters (any script), digits, spaces and `-'’.&+`, 256 bytes in all (the contract's cap on an option value) | lite (a Whisper prompt); seamless and echo refuse it |

An unknown name, an option the engine does not support and a malformed value
each end the session with INVALID_ARGUMENT and a message that says which.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from inference.engines.base import EngineOptions, UnsupportedConfig

GLOSSARY = "glossary"
KNOWN_OPTIONS = (GLOSSARY,)
MAX_GLOSSARY_TERMS = 20
MAX_TERM_CHARS = 48
TERM_PUNCTUATION = frozenset(" -'’.&+")
_TERM_SEPARATORS = re.compile(r"[;\n]")


def parse_engine_options(options: Mapping[str, str], engine_name: str,
                         supported: frozenset[str]) -> EngineOptions:
    """Check options against what the worker knows and the engine supports; UnsupportedConfig otherwise."""
    for name in sorted(options):
        if name not in KNOWN_OPTIONS:
            raise UnsupportedConfig(f"unknown engine option {name!r}; known: {', '.join(KNOWN_OPTIONS)}")
        if name not in supported:
            raise UnsupportedConfig(f"the {engine_name} engine does not support the {name!r} option yet")
    return EngineOptions(glossary=parse_glossary(options.get(GLOSSARY, "")))


def parse_glossary(value: str) -> tuple[str, ...]:
    """The terms of a glossary value, in order, without empty ones or repeats."""
    terms = tuple(dict.fromkeys(term.strip() for term in _TERM_SEPARATORS.split(value) if term.strip()))
    if len(terms) > MAX_GLOSSARY_TERMS:
        raise UnsupportedConfig(f"a glossary holds at most {MAX_GLOSSARY_TERMS} terms (got {len(terms)})")
    for term in terms:
        if len(term) > MAX_TERM_CHARS:
            raise UnsupportedConfig(f"glossary terms are at most {MAX_TERM_CHARS} characters: {term[:20]!r}...")
        if bad := next((c for c in term if not _term_character(c)), None):
            raise UnsupportedConfig(f"glossary terms hold letters, digits, spaces and -'’.&+ only; "
                                    f"{term!r} has {bad!r}")
    return terms


def _term_character(character: str) -> bool:
    return character in TERM_PUNCTUATION or unicodedata.category(character)[0] in "LMN"
