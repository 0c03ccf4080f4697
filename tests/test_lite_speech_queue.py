"""Translated speech goes out sentence by sentence, spoken beside the session (a real eSpeak NG voice)."""

from __future__ import annotations

import asyncio

from inference.engines.base import SegmentWarning, SpeechAudio
from inference.engines.lite.session import sentences
from inference.engines.lite.speech_queue import SpeechQueue
from inference.engines.lite.voices import SynthesisFailed
from inference.engines.lite.voices.espeak import EspeakVoice


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
