"""The lite engine's translation stage on real code: Debian's Apertium pairs in their own processes, and
CTranslate2 running a tiny random-weight Marian model converted at test time by CTranslate2's converter."""

from __future__ import annotations

import json
import os
import signal

import pytest
from harness.tiny_mt import tiny_mt_model

from inference.engines.lite.translation import RouteTable, TranslationFailed
from inference.engines.lite.translation.apertium import apertium_translators
from inference.engines.lite.translation.ctranslate2_models import MtDirInvalid, load_mt_dir


def apertium(mode: str):
    return next(t for t in apertium_translators() if t.mode == mode)


async def test_apertium_translates_english_into_spanish():
    translator = apertium("eng-spa")
    try:
        assert (translator.source, translator.target) == ("eng", "spa")
        assert "amigo" in (await translator.translate("Good morning, my friend.")).lower()
        # Characters Apertium's stream format reserves come back as they went in.
        assert "[x]" in await translator.translate("The box [x] is red.")
    finally:
        translator.close()


async def test_a_killed_apertium_process_fails_one_translation_and_is_restarted():
    translator = apertium("eng-spa")
    try:
        await translator.translate("Hello.")
        os.killpg(translator.pid, signal.SIGKILL)
        with pytest.raises(TranslationFailed, match="Apertium eng-spa"):
            await translator.translate("The cat sleeps.")
        assert "gato" in (await translator.translate("The cat sleeps.")).lower()
    finally:
        translator.close()


@pytest.mark.parametrize("family, pairs", [("marian", {("eng", "spa")}), ("m2m100", {("eng", "spa"), ("spa", "eng")})])
async def test_a_converted_ctranslate2_model_translates_its_pairs(tmp_path, family, pairs):
    tiny_mt_model(tmp_path / "models" / family, family)
    translators = load_mt_dir(tmp_path / "models", threads=1, compute_type="int8")
    assert {(t.source, t.target) for t in translators} == pairs
    for translator in translators:
        assert translator.kind == "ctranslate2"
        text = await translator.translate("Good morning, my friend.")
        assert isinstance(text, str) and text  # random weights: noise, but decoded noise
    translators[0].close()  # one model serves all its pairs


def _break(directory, what):
    if what == "no manifest":
        (directory / "s2st-mt.json").unlink()
    elif what == "bad family":
        (directory / "s2st-mt.json").write_text(json.dumps({"family": "gpt", "source": "eng", "target": "spa"}))
    elif what == "bad json":
        (directory / "s2st-mt.json").write_text("{")
    elif what == "no tokenizer":
        (directory / "source.spm").unlink()
    elif what == "bad languages":
        (directory / "s2st-mt.json").write_text(json.dumps({"family": "nllb", "languages": ["eng", "spa"]}))
    elif what == "corrupt model":
        (directory / "model.bin").write_bytes(b"not a model")


@pytest.mark.parametrize("what, words", [
    ("no manifest", "holds no model"), ("bad family", "family must be one of"), ("bad json", "not readable JSON"),
    ("no tokenizer", "source.spm is missing"), ("bad languages", "needs languages"),
    ("corrupt model", "CTranslate2 cannot load"),
])
def test_a_model_directory_that_does_not_load_says_what_is_wrong(tmp_path, what, words):
    directory = tiny_mt_model(tmp_path / "model")
    _break(directory, what)
    with pytest.raises(MtDirInvalid, match=words):
        load_mt_dir(directory, threads=1, compute_type="int8")


def test_a_missing_model_directory_is_an_error(tmp_path):
    with pytest.raises(MtDirInvalid, match="not a directory"):
        load_mt_dir(tmp_path / "nowhere", threads=1, compute_type="int8")


def test_routes_pick_whisper_for_english_a_translator_for_the_rest_and_an_operators_model_first(tmp_path):
    model = load_mt_dir(tiny_mt_model(tmp_path / "model"), threads=1, compute_type="int8")
    routes = RouteTable(("deu", "eng", "spa"), [*model, *apertium_translators()])
    assert routes.route("deu", "eng").whisper_translates
    assert routes.route("spa", "spa").translator is None and not routes.route("spa", "spa").whisper_translates
    assert routes.route("eng", "spa").translator.kind == "ctranslate2"
    assert routes.route("spa", "ita").translator.kind == "apertium"
    assert routes.route("deu", "spa") is None
    assert "spa" in routes.targets and "deu" not in routes.targets
    by_source = {source: set(route.targets) for route in routes.language_routes() for source in route.sources}
    assert by_source["deu"] == {"eng"}
    assert {"eng", "spa", "cat"} <= by_source["eng"]
    routes.close()
