"""Neural translation models an operator converted to CTranslate2 (`ct2-transformers-converter`,
`ct2-opus-mt-converter`), loaded from S2ST_LITE_MT_DIR.

The directory holds one model, or one model per subdirectory. Each model directory has the
converter's output (`model.bin`, its vocabulary files), the SentencePiece model(s) of its tokenizer,
and `s2st-mt.json`, which says what the model is and which languages it serves:

- `{"family": "marian", "source": "eng", "target": "spa"}`: one pair (Opus-MT); tokenizer files
  `source.spm` and `target.spm`.
- `{"family": "m2m100" | "nllb", "languages": {"eng": "__en__", "spa": "__es__"}}`: every pair among
  the listed ISO 639-3 codes, each mapped to the model's own language token (M2M100: `__es__`,
  NLLB-200: `spa_Latn`); tokenizer file `sentencepiece.bpe.model`.

A directory that does not load raises MtDirInvalid with what is wrong: the worker does not start
rather than serve without the models it was given.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import ctranslate2
import sentencepiece

from inference.engines.lite.translation.base import TranslationFailed, Translator
from inference.engines.serial import InferenceThread

log = logging.getLogger("inference.engines.lite.translation")

MANIFEST = "s2st-mt.json"
FAMILIES = ("marian", "m2m100", "nllb")
BEAM_SIZE = 2
MAX_DECODING_LENGTH = 256
MAX_INPUT_TOKENS = 512


class MtDirInvalid(ValueError):
    """S2ST_LITE_MT_DIR holds something that does not load; the message says what."""


@dataclass(frozen=True)
class _Tokenizer:
    """SentencePiece pieces in and out, with the language tokens multilingual families need."""

    source: sentencepiece.SentencePieceProcessor
    target: sentencepiece.SentencePieceProcessor
    language_tokens: dict[str, str]  # empty for a one-pair model

    def encode(self, text: str, source: str) -> list[str]:
        pieces = self.source.encode(text, out_type=str)[:MAX_INPUT_TOKENS]
        return [self.language_tokens[source], *pieces, "</s>"] if self.language_tokens else pieces

    def prefix(self, target: str) -> list[str] | None:
        return [self.language_tokens[target]] if self.language_tokens else None

    def decode(self, tokens: list[str]) -> str:
        if self.language_tokens and tokens and tokens[0] in self.language_tokens.values():
            tokens = tokens[1:]
        return self.target.decode_pieces(tokens).strip()


class _Model:
    """One loaded model and the thread its translations run on (one at a time: CTranslate2 uses
    S2ST_LITE_THREADS within each)."""

    def __init__(self, directory: Path, tokenizer: _Tokenizer, threads: int, compute_type: str) -> None:
        self.directory = directory
        self.tokenizer = tokenizer
        try:
            self.translator = ctranslate2.Translator(str(directory), device="cpu", compute_type=compute_type,
                                                     intra_threads=threads)
        except (RuntimeError, ValueError) as exc:
            raise MtDirInvalid(f"{directory}: CTranslate2 cannot load the model: {exc}") from exc
        self.thread = InferenceThread(f"lite-mt-{directory.name}")

    def translate(self, text: str, source: str, target: str) -> str:
        prefix = self.tokenizer.prefix(target)
        (result,) = self.translator.translate_batch([self.tokenizer.encode(text, source)],
                                                    target_prefix=[prefix] if prefix else None,
                                                    beam_size=BEAM_SIZE, max_decoding_length=MAX_DECODING_LENGTH)
        return self.tokenizer.decode(result.hypotheses[0])


class CTranslate2Translator(Translator):
    """One language pair of a loaded model."""

    kind = "ctranslate2"

    def __init__(self, model: _Model, family: str, source: str, target: str) -> None:
        self._model = model
        self.source = source
        self.target = target
        self.label = f"CTranslate2 {family} {model.directory.name}"

    async def translate(self, text: str) -> str:
        text = " ".join(text.split())
        if not text:
            return ""
        try:
            return await self._model.thread.run(self._model.translate, text, self.source, self.target)
        except RuntimeError as exc:
            raise TranslationFailed(f"{self.label} failed: {exc}") from exc

    def close(self) -> None:
        self._model.thread.close()


def load_mt_dir(root: Path, threads: int, compute_type: str) -> list[Translator]:
    """A translator for every pair the models in `root` serve; MtDirInvalid when any model does not load."""
    if not root.is_dir():
        raise MtDirInvalid(f"S2ST_LITE_MT_DIR={root} is not a directory")
    directories = [root] if (root / MANIFEST).is_file() else sorted(
        child for child in root.iterdir() if (child / MANIFEST).is_file())
    if not directories:
        raise MtDirInvalid(f"S2ST_LITE_MT_DIR={root} holds no model: expected {MANIFEST} in it or in its "
                           "subdirectories (docs/lite-engine.md)")
    translators: list[Translator] = []
    for directory in directories:
        translators += _load_model(directory, threads, compute_type)
    return translators


def _load_model(directory: Path, threads: int, compute_type: str) -> list[Translator]:
    manifest = _manifest(directory)
    family = manifest.get("family")
    if family not in FAMILIES:
        raise MtDirInvalid(f"{directory / MANIFEST}: family must be one of {', '.join(FAMILIES)}, not {family!r}")
    if family == "marian":
        source, target = manifest.get("source"), manifest.get("target")
        if not (_is_code(source) and _is_code(target)):
            raise MtDirInvalid(f"{directory / MANIFEST}: a marian model needs source and target ISO 639-3 codes")
        tokenizer = _Tokenizer(_spm(directory / "source.spm"), _spm(directory / "target.spm"), {})
        pairs = [(source, target)]
    else:
        languages = manifest.get("languages")
        if not isinstance(languages, dict) or len(languages) < 2 or not all(
                _is_code(code) and isinstance(token, str) and token for code, token in languages.items()):
            raise MtDirInvalid(f"{directory / MANIFEST}: a {family} model needs languages: at least two ISO 639-3 "
                               "codes, each mapped to the model's language token")
        processor = _spm(directory / "sentencepiece.bpe.model")
        tokenizer = _Tokenizer(processor, processor, dict(languages))
        pairs = [(source, target) for source in languages for target in languages if source != target]
    model = _Model(directory, tokenizer, threads, compute_type)
    log.info("translation model loaded", extra={"model": str(directory), "pairs": len(pairs)})
    return [CTranslate2Translator(model, family, source, target) for source, target in pairs]


def _manifest(directory: Path) -> dict:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise MtDirInvalid(f"{directory / MANIFEST}: not readable JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise MtDirInvalid(f"{directory / MANIFEST}: must be a JSON object")
    return manifest


def _spm(path: Path) -> sentencepiece.SentencePieceProcessor:
    if not path.is_file():
        raise MtDirInvalid(f"{path} is missing: the tokenizer's SentencePiece model must sit beside model.bin")
    try:
        return sentencepiece.SentencePieceProcessor(model_file=str(path))
    except (OSError, RuntimeError) as exc:
        raise MtDirInvalid(f"{path}: not a SentencePiece model: {exc}") from exc


def _is_code(code: object) -> bool:
    return isinstance(code, str) and len(code) == 3 and code.isalpha() and code.islower()
