"""Properties: conversions between v2 and v3 keep every event, and times within rounding."""

from __future__ import annotations

import io
from typing import List, Tuple

from hypothesis import given, settings
from hypothesis import strategies as st

from asciinema.asciicast import Event, Header, open_recording
from asciinema.asciicast import v2, v3

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
event_data = st.one_of(
    st.tuples(st.sampled_from("oim"), text),
    st.tuples(st.just("r"), st.tuples(st.integers(1, 500), st.integers(1, 200)).map(lambda s: f"{s[0]}x{s[1]}")),
    st.tuples(st.just("x"), st.integers(-255, 255).map(str)),
)
intervals = st.integers(0, 5_000_000)  # µs
recordings = st.lists(st.tuples(intervals, event_data), max_size=60)


def to_events(spec: List[Tuple[int, Tuple[str, str]]]) -> List[Event]:
    now, events = 0, []
    for interval, (code, data) in spec:
        now += interval
        events.append(Event(now, code, data))
    return events


def encode(encoder, events: List[Event]) -> bytes:  # type: ignore[no-untyped-def]
    return (encoder.header(Header(80, 24)) + "".join(encoder.encode(events))).encode()


def decode(data: bytes) -> List[Event]:
    return list(open_recording(io.BytesIO(data), "t").events)


@settings(max_examples=300, deadline=None)
@given(recordings)
def test_v2_v3_v2_keeps_events_and_times_within_half_a_millisecond(spec: List[Tuple[int, Tuple[str, str]]]) -> None:
    events = to_events(spec)
    from_v2 = decode(encode(v2.Encoder(), events))
    assert from_v2 == events  # v2 keeps microseconds exactly
    from_v3 = decode(encode(v3.Encoder(), from_v2))
    back = decode(encode(v2.Encoder(), from_v3))
    assert [e[1:] for e in back] == [e[1:] for e in events]
    for original, converted in zip(events, back):
        assert abs(converted[0] - original[0]) <= 500  # carried error never exceeds 0.5 ms


@settings(max_examples=300, deadline=None)
@given(recordings)
def test_v3_v2_v3_is_byte_identical(spec: List[Tuple[int, Tuple[str, str]]]) -> None:
    first = encode(v3.Encoder(), to_events(spec))
    via_v2 = encode(v2.Encoder(), decode(first))
    again = encode(v3.Encoder(), decode(via_v2))
    assert again == first
