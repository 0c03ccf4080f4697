"""Latency figures: average lagging as SimulEval defines it, and arrival-time lookups."""

from __future__ import annotations

import pytest

from inference.latency import InputClock, SegmentTracker, average_lagging


def test_average_lagging_of_an_ideal_wait_free_policy_is_zero():
    assert average_lagging([0.0, 1000.0, 2000.0], source_ms=3000) == 0.0


def test_average_lagging_of_a_wait_until_end_policy_is_the_source_length_minus_nothing():
    # Every word waits for the whole source: tau = 1, AL = d_1 = |X|.
    assert average_lagging([3000.0, 3000.0, 3000.0], source_ms=3000) == 3000.0


def test_average_lagging_counts_words_up_to_the_first_one_after_the_source():
    delays = [500.0, 1500.0, 4000.0, 4000.0]
    expected = ((500 - 0) + (1500 - 750) + (4000 - 1500)) / 3
    assert average_lagging(delays, source_ms=3000) == pytest.approx(expected)


def test_no_words_means_no_average_lagging():
    assert average_lagging([], source_ms=1000) is None


def test_arrival_of_an_offset_is_the_arrival_of_the_chunk_holding_it():
    clock = InputClock()
    for index in range(5):
        clock.record(end_ms=(index + 1) * 20, arrived_at=100.0 + index)
    assert clock.arrival_of(0) == 100.0
    assert clock.arrival_of(45) == 102.0
    assert clock.arrival_of(10_000) == 104.0


def test_segment_figures_use_input_arrival_and_a_playout_timeline():
    clock = InputClock()
    clock.record(end_ms=1000, arrived_at=10.0)
    clock.record(end_ms=2000, arrived_at=11.0)
    segment = SegmentTracker(segment_id=1, speech_start_ms=500, speech_end_ms=2000)
    segment.on_audio(now=11.5, duration_s=1.0)
    segment.on_audio(now=11.6, duration_s=0.5)  # queues behind the first chunk
    segment.on_target_text("hello there", input_offset_ms=2000)
    report = segment.report(clock)
    assert report.first_output_latency_ms == pytest.approx(1500)
    assert report.ending_offset_ms == pytest.approx(2000)  # playout ends at 13.0, input ended at 11.0
    assert report.average_lagging_ms == pytest.approx(1500)
