"""The voice stage of the lite engine: text in one language -> float32 speech at ENGINE_SAMPLE_RATE.

One `Voice` per language that has speech, picked at load by `load_voices`; the engine asks the
`VoiceCatalog` for a target language's voice and gets None when that language is text only.
Piper (`piper`: English's joe voice, any voice in S2ST_LITE_VOICES_DIR) and Kokoro (`kokoro`, opt-in)
run in synthesis processes (`process`, `worker`); eSpeak NG (`espeak`, a separate program) speaks
every other language it knows. docs/lite-engine.md, Voices, has the measured choice.
"""

from inference.engines.lite.voices.base import SynthesisFailed, Voice
from inference.engines.lite.voices.catalog import VoiceCatalog, load_voices

__all__ = ["SynthesisFailed", "Voice", "VoiceCatalog", "load_voices"]
