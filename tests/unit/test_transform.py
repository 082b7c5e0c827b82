"""Idle-time limiting and speed: the vectors of asciinema 3 and properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asciinema.asciicast import Event
from asciinema.asciicast.transform import accelerate, limit_idle_time

S = 1_000_000


def times(events):
    return [e.time for e in events]


def outputs(ts):
    return [Event(t, "o", str(i)) for i, t in enumerate(ts)]


def test_limit_idle_time_vector():
    events = outputs([0, 1 * S, int(3.5 * S), 4 * S, int(7.5 * S)])
    assert times(limit_idle_time(events, 2)) == [0, 1 * S, 3 * S, int(3.5 * S), int(5.5 * S)]


def test_accelerate_vector():
    assert times(accelerate(outputs([0, 20, 50]), 2)) == [0, 10, 25]


def test_limit_applies_to_the_first_gap():
    assert times(limit_idle_time(outputs([10 * S, 11 * S]), 2)) == [2 * S, 3 * S]


def test_none_limit_and_unit_speed_pass_through():
    events = outputs([0, 5 * S, 100 * S])
    assert list(limit_idle_time(events, None)) == events
    assert list(accelerate(events, 1.0)) == events


def test_fractional_limit_and_speed():
    assert times(limit_idle_time(outputs([0, 3 * S]), 0.25)) == [0, 250_000]
    assert times(accelerate(outputs([0, 10, 1 * S]), 3)) == [0, 3, 333_333]
    assert times(accelerate(outputs([1 * S]), 0.5)) == [2 * S]


def test_zero_limit_collapses_every_gap():
    assert times(limit_idle_time(outputs([1, 2 * S, 9 * S]), 0)) == [0, 0, 0]


def test_data_and_codes_are_kept():
    events = [Event(0, "o", "a"), Event(5 * S, "m", "label"), Event(6 * S, "r", "80x24")]
    out = list(accelerate(limit_idle_time(events, 1), 2))
    assert [(e.code, e.data) for e in out] == [("o", "a"), ("m", "label"), ("r", "80x24")]
    assert times(out) == [0, S // 2, S]


def test_non_monotonic_times_are_clamped():
    assert times(limit_idle_time(outputs([5 * S, 1 * S, 2 * S]), 1)) == [1 * S, 1 * S, 1 * S]


def test_lazy_on_infinite_streams():
    endless = (Event(i * S, "o", "x") for i in itertools.count())
    first = list(itertools.islice(accelerate(limit_idle_time(endless, 0.5), 2), 4))
    assert times(first) == [0, 250_000, 500_000, 750_000]


def test_bad_speed():
    with pytest.raises(ValueError):
        list(accelerate(outputs([0]), 0))


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=20 * S), max_size=50),
    limit=st.floats(min_value=0, max_value=10, allow_nan=False),
)
def test_limit_properties(gaps, limit):
    ts = list(itertools.accumulate(gaps))
    out = times(limit_idle_time(outputs(ts), limit))
    limit_us = int(round(limit * S))
    assert len(out) == len(ts)
    prev_in = prev_out = 0
    for t_in, t_out in zip(ts, out):
        gap_in, gap_out = t_in - prev_in, t_out - prev_out
        assert gap_out == min(gap_in, limit_us)
        prev_in, prev_out = t_in, t_out


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=20 * S), max_size=50),
    speed=st.floats(min_value=0.01, max_value=1000, allow_nan=False),
)
def test_accelerate_properties(gaps, speed):
    ts = list(itertools.accumulate(gaps))
    out = times(accelerate(outputs(ts), speed))
    assert out == sorted(out)
    for t_in, t_out in zip(ts, out):
        assert abs(t_out - t_in / speed) <= 0.5 + 1e-9 * t_in
