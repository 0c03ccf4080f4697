"""Translated speech goes out sentence by sentence, spoken beside the session (a real eSpeak NG voice)."""

from __future__ import annotations

import asyncio

from inference.engines.base import SegmentWarning, SpeechAudio
from inference.engines.lite.session import sentences
from inference.engines.lite.speech_queue import SpeechQueue
from inference.engines.lite.voices import SynthesisFailed
from inference.engines.lite.voices.espeak import EspeakVoice
from harness.polling import until


def test_a_final_text_is_cut_into_sentences():
    words = "Buenos días. Muchas gracias por su ayuda, amigo. Hasta".split()
    assert sentences(words) == ["Buenos días.", "Muchas gracias por su ayuda, amigo.", "Hasta"]


async def test_each_sentence_is_spoken_on_its_own_in_order_without_holding_up_the_caller():
    queue = SpeechQueue(EspeakVoice("spa", "es", 200))
    queue.put(1, "Buenos días.")
    queue.put(1, "Muchas gracias por su ayuda, amigo.", is_last=True)
    assert queue.take() == []  # put returns at once; nothing is spoken yet
    events = await queue.drain()
    assert [(type(e), e.segment_id, e.is_last) for e in events] == [(SpeechAudio, 1, False), (SpeechAudio, 1, True)]
    assert 0 < len(events[0].samples) < len(events[1].samples)  # two sentences, two pieces: the short one first


class GatedVoice(EspeakVoice):
    """A real eSpeak NG voice whose synthesis of a text waits for the test's go-ahead (a stand-in at the model
    boundary, named so): it makes deterministic when a synthesis ends relative to the session's takes."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self._gates: dict[str, asyncio.Event] = {}

    def release(self, text: str) -> None:
        self._gates.setdefault(text, asyncio.Event()).set()

    async def speak(self, text: str):
        await self._gates.setdefault(text, asyncio.Event()).wait()
        return await super().speak(text)


async def test_speech_taken_while_the_next_sentence_is_spoken_is_never_handed_out_again():
    # docs/evaluation.md's "spoken twice": a sentence's audio went out a second time with the next sentence's.
    voice = GatedVoice("spa", "es", 200)
    queue = SpeechQueue(voice)
    queue.put(1, "Buenos días.")
    queue.put(1, "Hasta mañana.")
    queue.put(1, "", is_last=True)
    voice.release("Buenos días.")
    taken: list = []
    await until(lambda: taken.extend(queue.take()) or taken, interval=0.01, what="the first sentence was never spoken")
    voice.release("Hasta mañana.")  # handed out while this one was being spoken
    taken += await queue.drain()
    assert [(type(e), e.segment_id, e.is_last) for e in taken] == \
        [(SpeechAudio, 1, False), (SpeechAudio, 1, False), (SpeechAudio, 1, True)]
    assert len(taken[0].samples) != len(taken[1].samples)  # two sentences, each once


async def test_speech_still_being_spoken_at_the_end_of_input_comes_out_once():
    # LiteSession.flush hands out what is ready, then what drain waited for: the speech finished meanwhile
    # came out in both (the taken list grew after it was handed out).
    voice = GatedVoice("eng", "en-us", 200)
    queue = SpeechQueue(voice)
    queue.put(2, "I would like to sleep at night.")
    queue.put(2, "", is_last=True)
    await asyncio.sleep(0)  # its synthesis has begun
    ready = queue.take()
    voice.release("I would like to sleep at night.")
    events = ready + await queue.drain()
    assert [(type(e), e.segment_id, e.is_last) for e in events] == [(SpeechAudio, 2, False), (SpeechAudio, 2, True)]


class FailingVoice(EspeakVoice):
    """A voice whose synthesis process fails (a stand-in at the model boundary, named so)."""

    async def speak(self, text: str):
        await asyncio.sleep(0)
        raise SynthesisFailed("the piper synthesis process failed (it exited); it was restarted")


async def test_a_failed_synthesis_leaves_a_warning_and_still_ends_the_segment():
    queue = SpeechQueue(FailingVoice("eng", "en-us", 200))
    queue.put(3, "Hello there.", is_last=True)
    events = await queue.drain()
    assert isinstance(events[0], SegmentWarning) and events[0].code == "synthesis_failed"
    assert isinstance(events[1], SpeechAudio) and events[1].is_last and len(events[1].samples) == 0
