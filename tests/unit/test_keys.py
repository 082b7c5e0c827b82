from __future__ import annotations

from asciinema.keys import FORWARD, MARKER, PAUSE, PREFIX, Action, Hotkeys


def test_defaults_pause_only() -> None:
    keys = Hotkeys(pause=b"\x1c")
    assert keys.feed(b"\x1c") == Action(PAUSE)
    assert keys.feed(b"a") == Action(FORWARD, b"a")
    assert keys.feed(b"\x1c") == Action(PAUSE)


def test_key_must_be_the_whole_read() -> None:
    keys = Hotkeys(pause=b"\x1c", marker=b"\x02")
    assert keys.feed(b"ab\x1c") == Action(FORWARD, b"ab\x1c")
    assert keys.feed(b"\x1c\x1c") == Action(FORWARD, b"\x1c\x1c")
    assert keys.feed(b"\x02x") == Action(FORWARD, b"\x02x")
    assert keys.feed(b"\x02") == Action(MARKER)


def test_disabled_keys_pass_through() -> None:
    keys = Hotkeys(prefix=None, pause=None, marker=None)
    for chunk in (b"\x1c", b"\x02", b"", b"x"):
        assert keys.feed(chunk) == Action(FORWARD, chunk)


def test_empty_key_is_disabled() -> None:
    keys = Hotkeys(pause=b"", marker=b"")
    assert keys.feed(b"") == Action(FORWARD, b"")


def test_prefix_mode() -> None:
    keys = Hotkeys(prefix=b"\x01", pause=b"p", marker=b"m")
    # without the prefix the keys are ordinary input
    assert keys.feed(b"p") == Action(FORWARD, b"p")
    assert keys.feed(b"m") == Action(FORWARD, b"m")
    assert keys.feed(b"\x01") == Action(PREFIX)
    assert keys.feed(b"p") == Action(PAUSE)
    assert keys.feed(b"p") == Action(FORWARD, b"p")
    assert keys.feed(b"\x01") == Action(PREFIX)
    assert keys.feed(b"m") == Action(MARKER)


def test_prefix_then_other_key_sends_the_key() -> None:
    keys = Hotkeys(prefix=b"\x01", pause=b"p")
    assert keys.feed(b"\x01") == Action(PREFIX)
    assert keys.feed(b"x") == Action(FORWARD, b"x")
    assert not keys.prefix_mode


def test_prefix_twice_sends_one_literal_prefix() -> None:
    keys = Hotkeys(prefix=b"\x01", pause=b"p")
    assert keys.feed(b"\x01") == Action(PREFIX)
    assert keys.feed(b"\x01") == Action(FORWARD, b"\x01")
    assert keys.feed(b"\x01") == Action(PREFIX)


def test_prefix_equal_to_pause_key() -> None:
    # prefix wins outside prefix mode; inside, the same byte pauses
    keys = Hotkeys(prefix=b"\x1c", pause=b"\x1c")
    assert keys.feed(b"\x1c") == Action(PREFIX)
    assert keys.feed(b"\x1c") == Action(PAUSE)


def test_multibyte_key() -> None:
    keys = Hotkeys(pause="ż".encode())
    assert keys.feed("ż".encode()) == Action(PAUSE)
    assert keys.feed("ż".encode()[:1]) == Action(FORWARD, "ż".encode()[:1])
