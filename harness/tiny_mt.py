"""Tiny random-weight translation models, made at test time: a Marian transformer (as Opus-MT ships
them: model .npz, YAML vocabulary, SentencePiece models) converted by CTranslate2's own Opus-MT
converter into what S2ST_LITE_MT_DIR holds. Its output is noise; the path it takes is the real one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import sentencepiece
import yaml
from ctranslate2.converters import OpusMTConverter

DIM = 16
FFN = 32
HEADS = 2
CORPUS = [
    "Good morning. Thank you very much for your help, my friend.",
    "Buenos días. Muchas gracias por su ayuda, amigo.",
    "The weather is nice today and the cat sleeps in the sun.",
    "El tiempo es bueno hoy y el gato duerme al sol.",
]
LANGUAGE_TOKENS = {"eng": "__en__", "spa": "__es__"}


def tiny_mt_model(directory: Path, family: str = "marian", seed: int = 0) -> Path:
    """A converted model in `directory` with its s2st-mt.json: marian (eng -> spa) or m2m100 (eng <-> spa)."""
    work = directory.parent / f"{directory.name}-marian"
    work.mkdir(parents=True)
    spm = _train_spm(work / "spm", user_symbols=list(LANGUAGE_TOKENS.values()) if family != "marian" else [])
    vocab = [sentencepiece.SentencePieceProcessor(model_file=spm).id_to_piece(i) for i in range(
        sentencepiece.SentencePieceProcessor(model_file=spm).get_piece_size())]
    tokens = ["</s>", "<unk>", "<s>", *[p for p in vocab if p not in ("</s>", "<unk>", "<s>")]]
    (work / "vocab.yml").write_text("".join(f"{json.dumps(token, ensure_ascii=False)}: {index}\n" for index, token in enumerate(tokens)))
    np.savez(work / "model.npz", **_weights(len(tokens), np.random.default_rng(seed)))
    (work / "decoder.yml").write_text(yaml.safe_dump({"models": ["model.npz"], "vocabs": ["vocab.yml", "vocab.yml"]}))
    OpusMTConverter(str(work)).convert(str(directory))
    if family == "marian":
        shutil.copy(spm, directory / "source.spm")
        shutil.copy(spm, directory / "target.spm")
        manifest = {"family": "marian", "source": "eng", "target": "spa"}
    else:
        shutil.copy(spm, directory / "sentencepiece.bpe.model")
        manifest = {"family": family, "languages": LANGUAGE_TOKENS}
    (directory / "s2st-mt.json").write_text(json.dumps(manifest))
    shutil.rmtree(work)
    return directory


def _train_spm(prefix: Path, user_symbols: list[str]) -> str:
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS), model_prefix=str(prefix), vocab_size=80, model_type="bpe",
        hard_vocab_limit=False, user_defined_symbols=user_symbols, bos_id=-1, eos_id=2, unk_id=1, pad_id=-1,
        minloglevel=2)
    return f"{prefix}.model"


def _weights(vocab: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    def matrix(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    config = {"type": "transformer", "transformer-decoder-autoreg": "self-attention",
              "transformer-no-projection": False, "transformer-ffn-activation": "relu",
              "transformer-preprocess": "", "transformer-postprocess": "dan", "transformer-postprocess-top": "",
              "transformer-postprocess-emb": "d", "transformer-guided-alignment-layer": "last",
              "enc-depth": 1, "dec-depth": 1, "transformer-heads": HEADS}
    weights = {"special:model.yml": np.frombuffer(yaml.safe_dump(config).encode() + b"\0", dtype=np.int8),
               "Wemb": matrix(vocab, DIM), "decoder_ff_logit_out_b": matrix(1, vocab)}

    def attention(scope: str) -> None:
        for name in "qkvo":
            weights[f"{scope}_W{name}"] = matrix(DIM, DIM)
            weights[f"{scope}_b{name}"] = matrix(1, DIM)
        weights[f"{scope}_Wo_ln_scale"] = np.ones((1, DIM), np.float32)
        weights[f"{scope}_Wo_ln_bias"] = np.zeros((1, DIM), np.float32)

    def ffn(scope: str) -> None:
        weights.update({f"{scope}_W1": matrix(DIM, FFN), f"{scope}_b1": matrix(1, FFN),
                        f"{scope}_W2": matrix(FFN, DIM), f"{scope}_b2": matrix(1, DIM),
                        f"{scope}_ffn_ln_scale": np.ones((1, DIM), np.float32),
                        f"{scope}_ffn_ln_bias": np.zeros((1, DIM), np.float32)})

    attention("encoder_l1_self")
    ffn("encoder_l1_ffn")
    attention("decoder_l1_self")
    attention("decoder_l1_context")
    ffn("decoder_l1_ffn")
    return weights
