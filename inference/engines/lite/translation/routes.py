"""Which stage makes each language pair's text, decided once at load from what is installed.

- into English: Whisper's translate task, inside recognition (one decode for both texts; on the
  built-in Spanish set it measured level with transcription + Apertium, docs/lite-engine.md);
- a language into itself (when it is a target): the transcript;
- any other pair: a `Translator` of the transcript. CTranslate2 models from S2ST_LITE_MT_DIR come
  before Apertium: an operator who converted a model for a pair asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inference.engines.base import LanguageRoute
from inference.engines.lite.languages import ENGLISH
from inference.engines.lite.translation.apertium import apertium_translators
from inference.engines.lite.translation.base import Translator
from inference.engines.lite.translation.ctranslate2_models import load_mt_dir


@dataclass(frozen=True)
class Route:
    """How one pair's target text is made."""

    whisper_translates: bool  # Whisper's translate task makes it (target English)
    translator: Translator | None = None  # else this translator translates the transcript; None: the transcript


def load_translators(mt_dir: str, threads: int, compute_type: str) -> list[Translator]:
    """Installed translators, most preferred first (MtDirInvalid when S2ST_LITE_MT_DIR does not load)."""
    models = load_mt_dir(Path(mt_dir), threads, compute_type) if mt_dir else []
    return [*models, *apertium_translators()]


class RouteTable:
    """The pairs the engine serves: Whisper's languages in; English and the translators' targets out."""

    def __init__(self, sources: tuple[str, ...], translators: list[Translator]) -> None:
        self.sources = tuple(sorted(sources))
        self._translators: dict[tuple[str, str], Translator] = {}
        for translator in translators:
            if translator.source in sources:
                self._translators.setdefault((translator.source, translator.target), translator)
        self.targets = tuple(sorted({ENGLISH, *(target for _, target in self._translators)}))

    def route(self, source: str, target: str) -> Route | None:
        """How `source` reaches `target`; None when it does not."""
        if target == ENGLISH:
            return Route(whisper_translates=True)
        if source == target and target in self.targets:
            return Route(whisper_translates=False)
        translator = self._translators.get((source, target))
        return Route(whisper_translates=False, translator=translator) if translator else None

    def reachable(self, source: str) -> tuple[str, ...]:
        return tuple(target for target in self.targets if self.route(source, target) is not None)

    def language_routes(self) -> tuple[LanguageRoute, ...]:
        """Sources grouped by the targets they reach: a handful of groups rather than one row per pair."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for source in self.sources:
            groups.setdefault(self.reachable(source), []).append(source)
        return tuple(LanguageRoute(tuple(sources), targets) for targets, sources in sorted(groups.items()))

    def translators(self) -> tuple[Translator, ...]:
        return tuple(self._translators.values())

    def close(self) -> None:
        for translator in {id(t): t for t in self._translators.values()}.values():
            translator.close()
