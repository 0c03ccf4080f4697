"""TINY RANDOM-WEIGHT SeamlessStreaming models, made at test time: upstream's architectures, shrunk.

SeamlessStreaming's weights cannot be downloaded here, so this writes, into a
directory, everything the real loading path reads: fairseq2 asset cards (a UnitY
card on upstream's ``base_v2`` architecture, a ``dense_1b`` monotonic decoder
card, a ``base`` vocoder card, each with ``model_config`` overrides that shrink
them), SentencePiece text and character tokenizers trained on a few sentences,
and checkpoints of randomly initialised models built by upstream's own
builders. A worker pointed at the directory (``FAIRSEQ2_ASSET_DIR``, see
``worker_environ``) runs the unchanged production code: upstream's agents,
loaders, tokenizers, segment types and language maps. Outputs are noise.

Languages: eng, fra, spa have speech output; deu is a text-only target (the
vocoder has no voice for it), as 65 of the real model's 101 languages are.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

UNITY_CARD = "s2st_tiny_unity"
DECODER_CARD = "s2st_tiny_monotonic_decoder"
VOCODER_CARD = "s2st_tiny_vocoder"
LANGUAGES = ("deu", "eng", "fra", "spa")
VOICED = ("eng", "fra", "spa")
UNVOICED = "deu"
NUM_UNITS = 100
MODEL_DIM = 64
SEED = 1234
# The position-encoding frequency 10000^(-i/31) whose sine overtakes its cosine (pi/4) at the
# decoder step at which </s> starts to win: i = 7 gives f = 0.125, step 7 (about 5 tokens after the prefix).
SENTENCE_FREQUENCY_INDEX = 7

_SENTENCES = [
    "the weather is very nice today so we are going to the park",
    "good morning thank you very much for your help my friend",
    "le train pour paris part a huit heures demain matin",
    "bonjour merci beaucoup pour votre aide mon ami",
    "manana por la tarde vamos a visitar el museo de la ciudad",
    "buenos dias muchas gracias por su ayuda amigo",
    "das wetter ist heute sehr schon deshalb gehen wir spazieren",
    "guten morgen vielen dank fur ihre hilfe",
    "zebra quick brown fox jumps over the lazy dog 0123456789",
]


@dataclass(frozen=True)
class TinyModels:
    """Where the tiny models live and how a worker reaches them."""

    directory: Path

    def worker_environ(self) -> dict[str, str]:
        """Environment for `python -m inference` (or SeamlessSettings) to serve the tiny models on the CPU."""
        return {
            "FAIRSEQ2_ASSET_DIR": str(self.directory / "cards"),
            "S2ST_ENGINE": "seamless",
            "S2ST_SEAMLESS_DEVICE": "cpu",
            "S2ST_SEAMLESS_DTYPE": "fp32",
            "S2ST_SEAMLESS_UNITY_MODEL": UNITY_CARD,
            "S2ST_SEAMLESS_MONOTONIC_DECODER": DECODER_CARD,
            "S2ST_SEAMLESS_VOCODER": VOCODER_CARD,
            "S2ST_SEAMLESS_MIN_STARTING_WAIT_W2VBERT": "8",
        }

    def cards_served_from(self, base_url: str, into: Path) -> Path:
        """Copies of the cards whose checkpoints and tokenizers point at ``base_url`` (this directory served over HTTP).

        fairseq2 reads ``file://`` assets in place; over HTTP it downloads them into
        FAIRSEQ2_CACHE_DIR, as the image's bake does from Hugging Face.
        """
        into.mkdir(parents=True, exist_ok=True)
        for card in (self.directory / "cards").glob("*.yaml"):
            text = card.read_text().replace(self.directory.as_uri(), base_url.rstrip("/"))
            (into / card.name).write_text(text)
        return into


def make_tiny_models(directory: Path) -> TinyModels:
    """Train the tokenizers, write the cards, build and save the three models; deterministic (fixed seed)."""
    cards = directory / "cards"
    cards.mkdir(parents=True, exist_ok=True)
    text_spm, char_spm = _train_tokenizers(directory)
    char_size = _piece_count(char_spm)

    # The text vocabulary as the models see it (NllbTokenizer adds language symbols and <pad>) is
    # known only once the tokenizer card exists: write the cards, read it, write them again.
    _write_cards(directory, text_spm, char_spm, char_size, text_vocab=None)
    asset_store = _register_cards(cards)
    text_vocab = _read_text_vocab()
    _write_cards(directory, text_spm, char_spm, char_size, text_vocab=text_vocab)
    asset_store.clear_cache()  # the provider reads the rewritten cards
    _build_checkpoints(directory)
    return TinyModels(directory)


def _train_tokenizers(directory: Path) -> tuple[Path, Path]:
    import sentencepiece

    corpus = directory / "corpus.txt"
    corpus.write_text("\n".join(_SENTENCES * 4) + "\n")
    text_prefix, char_prefix = directory / "text", directory / "char"
    common = {"input": str(corpus), "character_coverage": 1.0, "minloglevel": 2, "num_threads": 1}
    sentencepiece.SentencePieceTrainer.train(
        model_prefix=str(text_prefix), model_type="bpe", vocab_size=256, hard_vocab_limit=False,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, **common)
    sentencepiece.SentencePieceTrainer.train(
        model_prefix=str(char_prefix), model_type="char", vocab_size=64, hard_vocab_limit=False,
        unk_id=0, bos_id=1, eos_id=2, pad_id=3, **common)
    return text_prefix.with_suffix(".model"), char_prefix.with_suffix(".model")


def _piece_count(model: Path) -> int:
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_file=str(model)).get_piece_size()


def _vocab(info: Any) -> dict[str, int]:
    return {"size": info.size, "unk_idx": info.unk_idx, "bos_idx": info.bos_idx, "eos_idx": info.eos_idx,
            "pad_idx": info.pad_idx}


def _write_cards(directory: Path, text_spm: Path, char_spm: Path, char_size: int,
                 text_vocab: dict[str, int] | None) -> None:
    heads, ffn = 4, 2 * MODEL_DIM
    unity_config: dict[str, Any] = {
        "model_dim": MODEL_DIM,
        "w2v2_encoder_config": {"model_dim": MODEL_DIM, "num_encoder_layers": 2, "num_encoder_attn_heads": heads,
                                "ffn_inner_dim": ffn, "depthwise_conv_kernel_size": 7},
        "mt_model_config": {"model_dim": MODEL_DIM, "num_encoder_layers": 1, "num_decoder_layers": 1,
                            "num_encoder_attn_heads": heads, "num_decoder_attn_heads": heads, "ffn_inner_dim": ffn},
        # The streaming pipeline turns both off before loading, and loading is strict.
        "use_text_encoder": False,
        "use_text_decoder": False,
        "t2u_config": {
            "model_dim": MODEL_DIM,
            "target_vocab_info": {"size": NUM_UNITS + (len(LANGUAGES) + 1) + 4, "unk_idx": 3, "bos_idx": 0,
                                  "eos_idx": 2, "pad_idx": 1},
            "num_encoder_layers": 1, "num_decoder_layers": 1, "num_encoder_attn_heads": heads,
            "num_decoder_attn_heads": heads, "ffn_inner_dim": ffn,
            "nar_decoder_frontend_config": {"duration_predictor_config": {"var_pred_hidden_dim": MODEL_DIM}},
            # The NAR front-end loads its text and character tokenizers from this card.
            "nar_decoder_config": {"model_name_or_card": UNITY_CARD, "char_vocabulary_size": char_size,
                                   "conv1d_inner_dim": MODEL_DIM},
        },
    }
    decoder_config: dict[str, Any] = {
        "model_dim": MODEL_DIM, "num_decoder_layers": 2, "num_decoder_attn_heads": heads, "ffn_inner_dim": ffn,
        "num_monotonic_energy_layers": 2,
        "energy_bias_value": 2.0,  # so that random weights decide to write
    }
    if text_vocab is not None:
        unity_config["mt_model_config"]["vocab_info"] = text_vocab
        decoder_config["vocab_info"] = text_vocab
    speakers = {lang: [index] for index, lang in enumerate(VOICED)}
    vocoder_config = {
        "upsample_initial_channel": 64, "resblock_kernel_sizes": [3], "resblock_dilation_sizes": [[1, 3, 5]],
        "num_embeddings": NUM_UNITS, "embedding_dim": 16, "lang_embedding_dim": 8, "spkr_embedding_dim": 8,
        "model_in_dim": 16 + 8 + 8, "num_langs": len(VOICED), "num_spkrs": len(VOICED),
        "dur_predictor_params": {"encoder_embed_dim": 16, "var_pred_hidden_dim": 16, "var_pred_kernel_size": 3,
                                 "var_pred_dropout": 0.5},
        "lang_spkr_idx_map": {"multilingual": {lang: index for index, lang in enumerate(VOICED)},
                              "multispkr": speakers},
    }
    cards = {
        UNITY_CARD: {
            "model_type": "unity",
            "model_arch": "base_v2",  # the streaming model's; its _v2 suffix makes the unit decoder non-autoregressive
            "checkpoint": (directory / "unity.pt").as_uri(),
            "tokenizer": text_spm.as_uri(),
            "char_tokenizer": char_spm.as_uri(),
            "default_lang": "eng",
            "langs": list(LANGUAGES),
            "num_units": NUM_UNITS,
            "unit_langs": list(LANGUAGES),
            "model_config": unity_config,
        },
        DECODER_CARD: {"model_type": "monotonic_decoder", "model_arch": "dense_1b",
                       "checkpoint": (directory / "monotonic_decoder.pt").as_uri(), "model_config": decoder_config},
        VOCODER_CARD: {"model_type": "vocoder_code_hifigan", "model_arch": "base",
                       "checkpoint": (directory / "vocoder.pt").as_uri(), "model_config": vocoder_config},
    }
    for name, fields in cards.items():
        (directory / "cards" / f"{name}.yaml").write_text(yaml.safe_dump({"name": name, **fields}, sort_keys=False))


def _register_cards(cards: Path) -> Any:
    """Make this process's asset store read the cards (a worker process reads FAIRSEQ2_ASSET_DIR at import)."""
    import seamless_communication  # noqa: F401  (registers upstream's cards first, as in the worker)
    from fairseq2.assets import FileAssetMetadataProvider, asset_store

    asset_store.metadata_providers.append(FileAssetMetadataProvider(cards))
    return asset_store


def _read_text_vocab() -> dict[str, int]:
    from seamless_communication.models.unity import load_unity_text_tokenizer

    return _vocab(load_unity_text_tokenizer(UNITY_CARD).vocab_info)


def _build_checkpoints(directory: Path) -> None:
    import torch
    from seamless_communication.models.monotonic_decoder import (
        create_monotonic_decoder_model,
        load_monotonic_decoder_config,
    )
    from seamless_communication.models.unity import create_unity_model, load_unity_config, load_unity_text_tokenizer
    from seamless_communication.models.vocoder.builder import create_vocoder_model
    from seamless_communication.models.vocoder.loader import load_vocoder_config

    cpu = torch.device("cpu")
    torch.manual_seed(SEED)
    unity = create_unity_model(load_unity_config(UNITY_CARD), device=cpu)
    t2u = unity.t2u_model
    units = [4 + unit for unit in range(NUM_UNITS)]  # after bos, pad, eos, unk; language symbols follow
    _only_ordinary_tokens(t2u.decoder.layer_norm, t2u.decoder_frontend.embed.weight, units,
                          t2u.target_vocab_info.pad_idx)
    torch.save({"model": unity.state_dict()}, directory / "unity.pt")

    decoder = create_monotonic_decoder_model(load_monotonic_decoder_config(DECODER_CARD), device=cpu)
    vocabulary = load_unity_text_tokenizer(UNITY_CARD).model
    pieces = [index for index in range(vocabulary.vocabulary_size)
              if not vocabulary.index_to_token(index).startswith(("<", "__"))]
    _only_ordinary_tokens(decoder.text_decoder.layer_norm, decoder.text_decoder_frontend.embed.weight, pieces,
                          vocabulary.pad_idx)
    _end_sentences(decoder, load_unity_text_tokenizer(UNITY_CARD).vocab_info.eos_idx)
    torch.save({"model": decoder.state_dict()}, directory / "monotonic_decoder.pt")

    vocoder = create_vocoder_model(copy.deepcopy(load_vocoder_config(VOCODER_CARD)), device=cpu)
    torch.save({"model": vocoder.state_dict()}, directory / "vocoder.pt")


def _only_ordinary_tokens(final_norm: Any, tied_embeddings: Any, ordinary: list[int], pad_idx: int) -> None:
    """Random weights pick control and language symbols (the decoder copies its prefix): rule them out.

    The T2U would emit bos/unk/language symbols, which are no vocoder units; the text
    decoder would repeat its language tag. One dimension of the decoder's final layer
    norm becomes a constant, and that dimension of the tied embeddings +1 for ordinary
    tokens and -1 for every other symbol (the pad row stays zero): every argmax is ordinary.
    """
    import torch

    with torch.no_grad():
        final_norm.weight[0] = 0.0
        final_norm.bias[0] = 8.0
        tied_embeddings[:, 0] = -1.0
        tied_embeddings[ordinary, 0] = 1.0
        tied_embeddings[pad_idx] = 0.0


def _end_sentences(decoder: Any, eos_idx: int) -> None:
    """Make the text decoder say end-of-sentence once a segment has about SENTENCE_TOKENS tokens, as real weights do.

    A sine and a cosine dimension of one frequency of the sinusoidal position
    encoding are kept free of everything else in the residual stream (no embedding,
    no layer writes into them), so at the final layer norm their difference is
    sin(f*step) - cos(f*step) over a positive scale: negative before f*step = pi/4,
    positive after. Only </s> reads that difference (tied embedding +p and -p; every
    other symbol 0 there), and </s> otherwise scores as an ordinary token: it loses
    before that step and wins after. With --no-early-stop upstream's decoder reads on
    </s> until its source has ended, then ends the segment with it.
    """
    import torch

    sin_dim, cos_dim = SENTENCE_FREQUENCY_INDEX, MODEL_DIM // 2 + SENTENCE_FREQUENCY_INDEX
    with torch.no_grad():
        embeddings = decoder.text_decoder_frontend.embed.weight
        embeddings[:, [sin_dim, cos_dim]] = 0.0
        embeddings[eos_idx, 0] = 1.0  # scores as an ordinary token (see _only_ordinary_tokens)
        embeddings[eos_idx, sin_dim], embeddings[eos_idx, cos_dim] = 4.0, -4.0
        for layer in decoder.text_decoder.layers:
            for writer in (layer.self_attn.output_proj, layer.encoder_decoder_attn.output_proj, layer.ffn.output_proj):
                writer.weight[[sin_dim, cos_dim]] = 0.0
                writer.bias[[sin_dim, cos_dim]] = 0.0
        final_norm = decoder.text_decoder.layer_norm
        final_norm.weight[[sin_dim, cos_dim]] = 20.0
        final_norm.bias[[sin_dim, cos_dim]] = 0.0


if __name__ == "__main__":  # `python -m harness.tiny_models DIR`: make them by hand, e.g. for make run
    import sys

    made = make_tiny_models(Path(sys.argv[1]).resolve())
    print("\n".join(f"export {key}={value}" for key, value in made.worker_environ().items()))
    print(f"# {os.environ.get('PYTHON', 'python')} -m inference  serves them", file=sys.stderr)
