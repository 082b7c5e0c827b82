"""ALiS v1: byte-exact with asciinema 3's vectors, and the decoder inverts the encoder."""

from __future__ import annotations

from typing import List, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asciinema.asciicast import Event, Theme
from asciinema.stream.alis import (
    MAGIC,
    AlisDecoder,
    AlisEncoder,
    AlisError,
    Init,
    decode_all,
    event_message,
    init_message,
    leb128,
    read_leb128,
)

PALETTE = tuple(f"#{i:02x}{i:02x}{i:02x}" for i in range(16))
THEME = Theme("#ffffff", "#000000", PALETTE)


def at(base: int, event_id: int, event: Event) -> bytes:
    message, _ = event_message(event_id, event, base)
    assert message is not None
    return message


def test_magic() -> None:
    assert MAGIC == bytes.fromhex("41 4C 69 53 01")


@pytest.mark.parametrize(
    "n, hexed",
    [(0, "00"), (1, "01"), (127, "7F"), (128, "80 01"), (255, "FF 01"), (256, "80 02"),
     (16383, "FF 7F"), (16384, "80 80 01")],
)
def test_leb128_vectors(n: int, hexed: str) -> None:
    assert leb128(n) == bytes.fromhex(hexed)
    assert read_leb128(bytes.fromhex(hexed), 0) == (n, len(bytes.fromhex(hexed)))


def test_leb128_refuses_negative() -> None:
    with pytest.raises(ValueError):
        leb128(-1)


@given(st.integers(min_value=0, max_value=2**70))
def test_leb128_round_trip(n: int) -> None:
    data = leb128(n)
    assert read_leb128(data + b"junk", 0) == (n, len(data))
    assert all(b & 0x80 for b in data[:-1]) and not data[-1] & 0x80


def test_init_with_theme() -> None:
    palette_bytes = b"".join(bytes.fromhex(c[1:]) for c in PALETTE)
    expected = (
        bytes.fromhex("01 2A E8 07 B4 01 18 10 FF FF FF 00 00 00") + palette_bytes
        + b"\x0d" + b"terminal seed"
    )
    assert init_message(Init(42, 1000, 180, 24, THEME, "terminal seed")) == expected


def test_init_without_theme() -> None:
    assert init_message(Init(1, 500, 120, 130, None, "")) == bytes.fromhex("01 01 F4 03 78 82 01 00 00")


def test_output() -> None:
    text = "Hello 世界 🌍"
    assert len(text.encode()) == 17
    assert at(1000, 5, Event(1200, "o", text)) == bytes.fromhex("6F 05 C8 01 11") + text.encode()


def test_input() -> None:
    assert at(500, 1000000, Event(750, "i", "x")) == bytes.fromhex("69 C0 84 3D FA 01 01 78")


def test_resize() -> None:
    assert at(2000, 15, Event(2100, "r", "180x50")) == bytes.fromhex("72 0F 64 B4 01 32")


def test_markers() -> None:
    assert at(3000, 20, Event(3500, "m", "checkpoint")) == bytes.fromhex("6D 14 F4 03 0A") + b"checkpoint"
    assert at(3000, 2, Event(3300, "m", "")) == bytes.fromhex("6D 02 AC 02 00")


def test_exit() -> None:
    assert at(4000, 25, Event(4200, "x", "0")) == bytes.fromhex("78 19 C8 01 00")
    # a negative status has no unsigned form: it is sent as 0
    assert at(5000, 30, Event(5300, "x", "-1")) == bytes.fromhex("78 1E AC 02 00")


def test_time_going_backwards_is_sent_as_zero_and_keeps_the_base() -> None:
    enc = AlisEncoder()
    enc.init(Init(0, 1000, 80, 24))
    assert enc.event(1, Event(900, "o", "a")) == bytes.fromhex("6F 01 00 01") + b"a"
    assert enc.time == 1000
    assert enc.event(2, Event(1100, "o", "b")) == bytes.fromhex("6F 02 64 01") + b"b"
    assert enc.time == 1100


def test_encoder_keeps_the_base_between_events() -> None:
    enc = AlisEncoder()
    assert enc.init(Init(0, 0, 80, 24)) == bytes.fromhex("01 00 00 50 18 00 00")
    assert enc.event(1, Event(1000, "o", "x")) == bytes.fromhex("6F 01 E8 07 01") + b"x"
    assert enc.event(2, Event(1500, "r", "100x30")) == bytes.fromhex("72 02 F4 03 64 1E")
    assert enc.event(3, Event(1500, "x", "42")) == bytes.fromhex("78 03 00 2A")


def test_events_without_an_alis_form_are_skipped() -> None:
    enc = AlisEncoder()
    assert enc.event(1, Event(10, "z", "other")) is None
    assert enc.event(2, Event(20, "r", "garbage")) is None
    assert enc.time == 0


def test_lone_surrogates_do_not_break_the_encoder() -> None:
    assert at(0, 1, Event(0, "o", "a\ud800b")) == bytes.fromhex("6F 01 00 03") + b"a?b"


def test_exit_status_that_is_not_a_number_is_zero() -> None:
    assert at(0, 1, Event(0, "x", "oops")) == bytes.fromhex("78 01 00 00")


def test_decoder_needs_the_magic_first() -> None:
    with pytest.raises(AlisError):
        AlisDecoder().feed(bytes.fromhex("01 01 F4 03 78 82 01 00 00"))


@pytest.mark.parametrize(
    "message",
    ["", "02", "6F 01", "6F 01 00 05 61", "01 00 00 50 18 07", "01 00 00 50 18 10 FF", "6F 01 00 01 61 62",
     "6F 01 00 02 FF FE"],
)
def test_decoder_refuses_malformed_messages(message: str) -> None:
    dec = AlisDecoder()
    dec.feed(MAGIC)
    with pytest.raises(AlisError):
        dec.feed(bytes.fromhex(message))


def test_decoder_reads_the_vectors_back() -> None:
    dec = AlisDecoder()
    assert dec.feed(MAGIC) == MAGIC
    assert dec.feed(init_message(Init(42, 1000, 180, 24, THEME, "terminal seed"))) == Init(
        42, 1000, 180, 24, THEME, "terminal seed")
    assert dec.feed(at(1000, 43, Event(1200, "o", "Hello 世界 🌍"))) == (43, Event(1200, "o", "Hello 世界 🌍"))
    assert dec.feed(at(1200, 44, Event(2100, "r", "180x50"))) == (44, Event(2100, "r", "180x50"))


def test_eight_colour_theme() -> None:
    theme = Theme("#010203", "#040506", PALETTE[:8])
    message = init_message(Init(0, 0, 80, 24, theme, ""))
    assert message[5] == 8 and len(message) == 6 + 30 + 1
    assert decode_all([MAGIC, message])[1] == Init(0, 0, 80, 24, theme, "")


colors = st.integers(0, 0xFFFFFF).map(lambda n: f"#{n:06x}")
themes = st.none() | st.builds(Theme, colors, colors, st.tuples(*[colors] * 16))
texts = st.text(max_size=50)
events = st.one_of(
    st.builds(lambda t, c, s: (t, c, s), st.integers(0, 10**10), st.sampled_from("oim"), texts),
    st.builds(lambda t, c, r: (t, "r", f"{c}x{r}"), st.integers(0, 10**10), st.integers(1, 999),
              st.integers(1, 999)),
    st.builds(lambda t, s: (t, "x", str(s)), st.integers(0, 10**10), st.integers(0, 255)),
)


@given(
    st.builds(Init, st.integers(0, 10**6), st.integers(0, 10**10), st.integers(1, 1000), st.integers(1, 1000),
              themes, texts),
    st.lists(events, max_size=30),
)
def test_round_trip(init: Init, evs: List[Tuple[int, str, str]]) -> None:
    enc = AlisEncoder()
    messages = [MAGIC, enc.init(init)]
    for n, (t, code, data) in enumerate(evs, init.last_id + 1):
        message = enc.event(n, Event(t, code, data))
        assert message is not None
        messages.append(message)
    decoded = decode_all(messages)
    assert decoded[:2] == [MAGIC, init]
    base = init.time
    for n, ((t, code, data), got) in enumerate(zip(evs, decoded[2:]), init.last_id + 1):
        base = max(base, t)  # times never go back on the wire
        assert got == (n, Event(base, code, data))


@given(st.binary(max_size=40))
def test_decoder_raises_only_alis_errors(data: bytes) -> None:
    dec = AlisDecoder()
    dec.feed(MAGIC)
    try:
        dec.feed(data)
    except AlisError:
        pass
