"""The translation stage of the lite engine: a final source text in one language -> text in another.

Whisper's own translate task makes English (it runs inside recognition); for other targets a
`Translator` per language pair does it, picked at load from what is installed (`routes.RouteTable`):
an operator's CTranslate2 models in S2ST_LITE_MT_DIR, then Debian's Apertium pairs.
"""

from inference.engines.lite.translation.base import TranslationFailed, Translator
from inference.engines.lite.translation.routes import RouteTable, load_translators

__all__ = ["RouteTable", "TranslationFailed", "Translator", "load_translators"]
