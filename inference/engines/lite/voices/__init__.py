"""The voice stage of the lite engine: text in one language -> float32 speech at ENGINE_SAMPLE_RATE.

One `Voice` per language that has speech, picked at load by `load_voices`; the engine asks the
`VoiceCatalog` for a target language's voice and gets None when that language is text only.
eSpeak NG (a separate program) speaks every language it knows.
"""

from inference.engines.lite.voices.base import SynthesisFailed, Voice
from inference.engines.lite.voices.catalog import VoiceCatalog, load_voices

__all__ = ["SynthesisFailed", "Voice", "VoiceCatalog", "load_voices"]
