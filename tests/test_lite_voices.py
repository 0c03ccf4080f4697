"""The lite engine's voices on their real synthesizers: Piper with the joe voice, eSpeak NG, Kokoro, each
neural one in its synthesis process; Whisper base (the engine's recogniser) listens to what they say."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.engines.lite.models import whisper_model_source
from inference.engines.lite.recognizer import Recognizer
from inference.engines.base import SpeechAudio
from inference.engines.lite.settings import LiteSettings
from inference.engines.lite.speech_queue import SpeechQueue
from inference.engines.lite.voices import SynthesisFailed, VoiceCatalog, load_voices
from inference.engines.lite.voices.audio import KEPT_TAIL_SECONDS, SILENCE_LEVEL
from inference.engines.lite.voices.kokoro import kokoro_languages
from inference.engines.lite.voices.pieces import speech_pieces
from inference.engines.lite.voices.piper import joe_voice
from harness.polling import until
from harness.servers import alive

# No numbers: Whisper writes "nine" as "9". joe samples its voice anew each time (VITS noise), so the words
# are heard a little differently each run: one word of slack, and none spent on a spelling.
ENGLISH_TEXT = "The train to the city leaves early in the morning."
SPANISH_TEXT = "Mañana vamos a la playa con mis amigos."
LONG_ENGLISH_TEXT = " ".join([ENGLISH_TEXT] * 6)
LONG_SPANISH_TEXT = "Mañana vamos a la playa con nuestros amigos, y después comemos en el restaurante del puerto."


@pytest.fixture(scope="module")
def voices() -> VoiceCatalog:
    # The defaults, but with room for Kokoro on a machine shared by the whole team (a deadline, not a speed).
    catalog = load_voices(LiteSettings.from_environ({"S2ST_LITE_SYNTHESIS_TIMEOUT_SECONDS": "120"}))
    yield catalog
    catalog.close()


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    source, _ = whisper_model_source(LiteSettings.from_environ({}))
    return Recognizer(source, "int8", 2)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def understood(recognizer: Recognizer, audio: np.ndarray, text: str, whisper_language: str) -> bool:
    """Whisper's transcript of the speech has every word of the text but at most one."""
    got = words(recognizer.recognize(audio, whisper_language, translate=False).transcript)
    said = words(text)
    return sum(word in got for word in said) >= len(said) - 1


def spanish_config_of_joe() -> str:
    """A well-formed Piper voice config that says Spanish."""
    return joe_voice().config.read_text().replace('"code": "en_US"', '"code": "es_ES"')


def synthesis_processes(module: str) -> list[int]:
    """Children of this process running a synthesis worker module."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and module in command:
            pids.append(int(entry.name))
    return pids


async def test_english_is_spoken_by_piper_joe_and_whisper_hears_the_words(voices, recognizer):
    voice = voices.voice_for("eng")
    assert (voice.kind, voice.label, voice.fallback_reason) == ("piper", "Piper en_US-joe-medium", "")
    audio = await voice.speak(ENGLISH_TEXT)
    assert audio.dtype == np.float32 and 1.5 < len(audio) / 16000 < 6
    assert understood(recognizer, audio, ENGLISH_TEXT, "en")


def test_gpl_synthesizers_never_load_into_the_engine_process(voices):
    assert voices.voice_for("eng").kind == "piper"
    assert not {"piper", "phonemizer", "kokoro_onnx"} & set(sys.modules)


async def test_a_killed_synthesis_process_fails_its_request_and_is_restarted(voices, recognizer):
    voice = voices.voice_for("eng")
    before = voice.pid
    assert before in synthesis_processes("piper_worker")
    in_flight = asyncio.ensure_future(voice.speak(LONG_ENGLISH_TEXT))
    await asyncio.sleep(0)  # the request is on its way (or about to be): either way it meets a dead process
    os.kill(before, signal.SIGKILL)
    with pytest.raises(SynthesisFailed, match="restarted"):
        await in_flight
    audio = await voice.speak(ENGLISH_TEXT)  # waits for the new process to load
    assert voice.pid != before and voice.pid in synthesis_processes("piper_worker")
    assert understood(recognizer, audio, ENGLISH_TEXT, "en")


async def test_a_synthesis_process_that_died_between_requests_fails_the_next_one_and_is_restarted(voices):
    """The request meets a pipe whose reader is gone (the write fails, not the read): a crash all the same,
    reported as SynthesisFailed so the segment gets its error, and the process is restarted at once."""
    voice = voices.voice_for("eng")
    before = voice.pid
    os.kill(before, signal.SIGKILL)
    await until(lambda: not alive(before), what="the synthesis process exited")  # its pipes are closed
    with pytest.raises(SynthesisFailed, match="restarted"):
        await voice.speak(ENGLISH_TEXT)
    assert voice.pid != before and voice.pid in synthesis_processes("piper_worker")  # already starting again
    assert len(await voice.speak(ENGLISH_TEXT)) > 16000


async def test_a_broken_voice_file_leaves_its_language_to_espeak_with_the_reason(tmp_path, caplog):
    (tmp_path / "es_ES-broken-medium.onnx").write_bytes(b"not an onnx model" * 100)
    (tmp_path / "es_ES-broken-medium.onnx.json").write_text(spanish_config_of_joe())
    with caplog.at_level(logging.WARNING, logger="inference.engines.lite.voices"):
        catalog = load_voices(LiteSettings.from_environ({"S2ST_LITE_VOICES_DIR": str(tmp_path),
                                                         "S2ST_LITE_PIPER_ENGLISH": "false"}))
    try:
        voice = catalog.voice_for("spa")
        assert voice.kind == "espeak"
        assert "es_ES-broken-medium" in voice.fallback_reason
        assert len(await voice.speak(SPANISH_TEXT)) > 16000
        assert [r for r in caplog.records if r.levelno == logging.WARNING and "es_ES-broken" in r.getMessage()]
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
        assert catalog.voice_for("eng").kind == "espeak" and catalog.voice_for("eng").fallback_reason == ""
        assert synthesis_processes("es_ES-broken") == []  # the process that failed is gone
    finally:
        catalog.close()


def test_a_piper_voice_in_the_voices_directory_speaks_its_language(tmp_path):
    # The joe voice under another name, declared Spanish: the directory's voice wins over eSpeak NG.
    (tmp_path / "es_ES-joe-medium.onnx").symlink_to(joe_voice().model)
    (tmp_path / "es_ES-joe-medium.onnx.json").write_text(spanish_config_of_joe())
    catalog = load_voices(LiteSettings.from_environ({"S2ST_LITE_VOICES_DIR": str(tmp_path),
                                                     "S2ST_LITE_PIPER_ENGLISH": "false"}))
    try:
        assert (catalog.voice_for("spa").kind, catalog.voice_for("spa").label) == ("piper", "Piper es_ES-joe-medium")
        assert catalog.voice_for("eng").kind == "espeak"
    finally:
        catalog.close()


def test_every_espeak_language_has_speech_and_unknown_ones_none(voices):
    assert {"eng", "spa", "fra", "deu", "por", "ita", "cmn"} <= set(voices.languages())
    assert voices.voice_for("deu").label == "eSpeak NG de"
    assert voices.voice_for("xyz") is None


@pytest.mark.parametrize("language", ["spa", "por", "ita"])
def test_kokoro_speaks_spanish_portuguese_and_italian_by_default(voices, language):
    voice = voices.voice_for(language)
    assert (voice.kind, voice.label, voice.fallback_reason) == ("kokoro", "Kokoro jm_kumo", "")
    assert voices.voice_for("fra").kind == "espeak"  # Kokoro's French (44 % WER) is not followable either


async def test_kokoro_speaks_spanish_that_whisper_understands(voices, recognizer):
    assert understood(recognizer, await voices.voice_for("spa").speak(SPANISH_TEXT), SPANISH_TEXT, "es")
    assert not {"phonemizer", "kokoro_onnx"} & set(sys.modules)


def test_no_kokoro_when_its_languages_are_set_empty():
    catalog = load_voices(LiteSettings.from_environ({"S2ST_LITE_KOKORO_LANGUAGES": "",
                                                     "S2ST_LITE_PIPER_ENGLISH": "false"}))
    try:
        assert {catalog.voice_for(language).kind for language in ("spa", "por", "ita")} == {"espeak"}
    finally:
        catalog.close()


def test_a_sentence_is_cut_into_pieces_after_clauses_and_content_words_never_inside_a_word():
    assert speech_pieces("Necesito comprar pan, leche y un poco de fruta antes de que cierre la tienda.", 8) == \
        ["Necesito comprar pan,", "leche y un poco de fruta", "antes de que cierre la tienda."]
    assert speech_pieces("Mi hermana vive cerca del río con sus dos perros.", 8) == \
        ["Mi hermana vive cerca", "del río con sus dos perros."]  # not "cerca del | río": heard "de él"
    assert speech_pieces("Muchas gracias por su ayuda, amigo.", 8) == ["Muchas gracias por su ayuda, amigo."]
    assert speech_pieces(LONG_SPANISH_TEXT, 0) == [LONG_SPANISH_TEXT]
    assert speech_pieces("   ", 8) == []


async def test_kokoro_sends_a_sentence_piece_by_piece_before_the_rest_is_synthesized(voices, recognizer):
    queue = SpeechQueue(voices.voice_for("spa"))
    queue.put(4, LONG_SPANISH_TEXT, is_last=True)
    first: list = []
    await until(lambda: first.extend(queue.take()) or first, timeout=120, interval=0.01,
                what="Kokoro never spoke the sentence's first piece")
    rest = await queue.drain()
    # The first piece went out on its own while the rest of the sentence was still being synthesized.
    assert [(type(e), e.segment_id, e.is_last) for e in first] == [(SpeechAudio, 4, False)]
    assert rest and all(isinstance(e, SpeechAudio) for e in rest) and rest[-1].is_last
    pieces = [event.samples for event in first + rest]
    for piece in pieces:  # gap-free: no silence added before or after a piece beyond the kept tail
        loud = np.flatnonzero(np.abs(piece) > SILENCE_LEVEL)
        assert loud[0] < 0.1 * 16000 and len(piece) - loud[-1] <= KEPT_TAIL_SECONDS * 16000 + 1
    assert understood(recognizer, np.concatenate(pieces), LONG_SPANISH_TEXT, "es")


def test_kokoro_is_refused_for_a_language_it_was_not_trained_on():
    assert kokoro_languages("spa, por") == {"spa": "es", "por": "pt-br"}
    with pytest.raises(ValueError, match="S2ST_LITE_KOKORO_LANGUAGES: Kokoro does not speak deu"):
        load_voices(LiteSettings.from_environ({"S2ST_LITE_KOKORO_LANGUAGES": "spa,deu"}))


def test_a_voices_directory_that_is_not_there_is_a_load_error(tmp_path):
    with pytest.raises(ValueError, match="S2ST_LITE_VOICES_DIR: .*missing is not a directory"):
        load_voices(LiteSettings.from_environ({"S2ST_LITE_VOICES_DIR": str(tmp_path / "missing")}))
