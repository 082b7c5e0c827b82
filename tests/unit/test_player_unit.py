"""The playback state machine, in-process: no terminal, no subprocess; plus the loop on a pipe."""

from __future__ import annotations

import itertools
import os
import threading
import time

import pytest

from asciinema.asciicast import Event
from asciinema.errors import FormatError
from asciinema.player import (
    ENDED,
    INTERRUPTED,
    NOW,
    PAUSED,
    PLAYING,
    KeyReader,
    Keys,
    Player,
    resize_sequence,
    run,
)


def o(t, text):
    return Event(t, "o", text)


def m(t, label=""):
    return Event(t, "m", label)


def drain(p: Player, now: float) -> str:
    """Everything due at ``now`` (tick until nothing more is due)."""
    out = []
    while not p.done:
        d = p.deadline()
        if d is None or d > now:
            break
        out.append(p.tick(now))
    return "".join(out)


def test_schedule_from_one_origin():
    p = Player([o(0, "a"), o(100, "b"), o(250, "c")])
    assert p.start(1000) == ""
    assert p.state == PLAYING
    assert p.deadline() == 1000
    assert p.tick(1000) == "a"
    assert p.deadline() == 1100
    assert p.tick(1099) == ""
    # a late tick does not move the schedule of the next event
    assert p.tick(1180) == "b"
    assert p.deadline() == 1250
    assert p.tick(1250) == "c"
    assert p.deadline() is None
    assert p.state == ENDED and p.done and not p.interrupted


def test_late_events_are_written_together():
    p = Player([o(0, "a"), o(10, "b"), o(20, "c"), o(5000, "d")], catch_up_us=1000)
    p.start(0)
    assert p.tick(3000) == "abc"
    assert p.deadline() == 5000


def test_on_time_event_is_returned_alone():
    # an event on time goes out before the next one is even read
    reads = []

    def events():
        for e in [o(0, "a"), o(0, "b")]:
            reads.append(e.data)
            yield e

    p = Player(events())
    p.start(0)
    assert p.tick(0) == "a"
    assert reads == ["a"]
    assert p.deadline() == 0
    assert p.tick(0) == "b"


def test_max_batch_bounds_one_tick():
    p = Player((o(i, "x") for i in range(10)), max_batch=4)
    p.start(0)
    assert p.tick(10**9) == "xxxx"
    assert drain(p, 10**9) == "xxxxxx"
    assert p.deadline() is None and p.state == ENDED


def test_pause_shifts_the_schedule():
    p = Player([o(0, "a"), o(1000, "b")])
    p.start(0)
    assert p.tick(0) == "a"
    assert p.key(b" ", 400) == ""
    assert p.state == PAUSED
    assert p.deadline() is None
    assert p.position(99999) == 400
    assert p.tick(5000) == ""
    p.key(b" ", 10_400)  # paused for 10 ms
    assert p.state == PLAYING
    assert p.deadline() == 11_000


def test_step_while_paused():
    p = Player([o(0, "a"), o(1000, "b"), m(2000, "mark"), o(3000, "c"), o(4000, "d")])
    p.start(0)
    p.tick(0)
    p.key(b" ", 100)
    assert p.key(b".", 200) == "b"
    assert p.state == PAUSED and p.position(0) == 1000
    assert p.key(b".", 300) == ""  # the marker is consumed, nothing shown
    assert p.position(0) == 2000
    assert p.key(b".", 400) == "c"
    p.key(b" ", 500)  # resume at position 3000
    assert p.deadline() == 500 + 1000


def test_step_at_the_end_finishes():
    p = Player([o(0, "a")])
    p.start(0)
    p.tick(0)
    p.key(b" ", 10)
    assert p.key(b".", 20) == ""
    assert p.state == ENDED


def test_next_marker_plays_up_to_the_marker_and_pauses():
    p = Player([o(0, "a"), o(1000, "b"), m(2000), o(2500, "c"), o(9000, "d"), m(9500), o(9600, "e")])
    p.start(0)
    p.tick(0)
    p.key(b" ", 10)
    assert p.key(b"]", 20) == "b"
    assert p.state == PAUSED and p.position(0) == 2000
    assert p.key(b"]", 30) == "cd"
    assert p.position(0) == 9500
    p.key(b" ", 1000)
    assert p.deadline() == 1000 + 100
    assert p.tick(1100) == "e"


def test_next_marker_without_marker_plays_to_the_end():
    p = Player([o(0, "a"), o(10**9, "b"), o(2 * 10**9, "c")])
    p.start(0)
    p.tick(0)
    p.key(b" ", 1)
    assert p.key(b"]", 2) == "bc"
    assert p.state == ENDED


def test_next_marker_seeks_in_bounded_steps():
    p = Player(itertools.chain((o(i, "x") for i in range(10)), [m(10), o(11, "y")]), max_batch=3)
    p.start(0)
    p.key(b" ", 0)
    assert p.key(b"]", 0) == "xxx"
    assert p.deadline() == NOW  # still seeking: due at once
    assert drain(p, 0) == "xxxxxxx"
    assert p.state == PAUSED and p.position(0) == 10


def test_pause_on_markers():
    p = Player([o(0, "a"), m(100, "here"), o(200, "b")], pause_on_markers=True)
    p.start(0)
    assert drain(p, 10_000) == "a"
    assert p.state == PAUSED and p.position(0) == 100
    p.key(b" ", 20_000)
    assert p.deadline() == 20_100


def test_markers_do_not_pause_by_default():
    p = Player([o(0, "a"), m(100, "here"), o(200, "b")])
    p.start(0)
    assert drain(p, 10_000) == "ab"
    assert p.state == ENDED


def test_step_and_next_marker_are_ignored_while_playing():
    p = Player([o(0, "a"), m(100), o(200, "b")])
    p.start(0)
    assert p.key(b".", 0) == ""
    assert p.key(b"]", 0) == ""
    assert p.state == PLAYING
    assert p.deadline() == 0


def test_ctrl_c_quits_in_any_state():
    for setup in ([], [b" "], [b" ", b"]"]):
        p = Player([o(0, "a"), m(5), o(10, "b")])
        p.start(0)
        for k in setup:
            p.key(k, 0)
        assert p.key(b"\x03", 5) == "\r\n"
        assert p.state == INTERRUPTED and p.interrupted and p.done
        assert p.deadline() is None
        assert p.key(b" ", 6) == ""


def test_keys_match_whole_reads_only():
    p = Player([o(0, "a")])
    p.start(0)
    for data in (b"  ", b" x", b"\x03\x03", b"\x1b[A"):
        p.key(data, 0)
        assert p.state == PLAYING


def test_custom_and_disabled_keys():
    p = Player([o(0, "a"), o(10, "b"), o(20, "c")], keys=Keys(pause=b"p", step=None, next_marker=b"n"))
    p.start(0)
    p.key(b" ", 0)
    assert p.state == PLAYING
    p.key(b"p", 0)
    assert p.state == PAUSED
    assert p.key(b".", 0) == ""  # step disabled
    assert p.key(b"n", 0) == "abc"
    p2 = Player([o(0, "a")], keys=Keys(None, None, None))
    p2.start(0)
    p2.key(b" ", 0)
    assert p2.state == PLAYING


def test_resize_sequences_only_when_asked():
    events = [o(0, "a"), Event(10, "r", "100x40"), o(20, "b")]
    p = Player(events, resize=True, size=(80, 24))
    assert p.start(0) == "\x1b[8;24;80t"
    assert drain(p, 100) == "a\x1b[8;40;100tb"
    p = Player(events, size=(80, 24))
    assert p.start(0) == ""
    assert drain(p, 100) == "ab"
    assert resize_sequence(132, 50) == "\x1b[8;50;132t"


def test_step_applies_resize():
    p = Player([Event(10, "r", "90x30")], resize=True)
    p.start(0)
    p.key(b" ", 0)
    assert p.key(b".", 0) == "\x1b[8;30;90t"


def test_input_exit_and_unknown_events_are_not_shown():
    p = Player([Event(0, "i", "ls\r"), Event(1, "x", "0"), Event(2, "z", "?"), o(3, "out")])
    p.start(0)
    assert drain(p, 100) == "out"


def test_error_mid_stream_keeps_what_came_before():
    def events():
        yield o(0, "a")
        yield o(1, "b")
        raise FormatError("demo.cast:4: invalid JSON")

    p = Player(events())
    p.start(0)
    assert drain(p, 1000) == "ab"
    assert p.state == ENDED
    assert isinstance(p.error, FormatError)


def test_error_while_seeking_keeps_what_came_before():
    def events():
        yield o(0, "a")
        yield o(1, "b")
        raise FormatError("x:3: broken")

    p = Player(events())
    p.start(0)
    p.key(b" ", 0)
    assert p.key(b"]", 0) == "ab"
    assert p.done and p.error is not None


def test_endless_source_is_read_lazily():
    p = Player(o(i * 1000, str(i % 10)) for i in itertools.count())
    p.start(0)
    assert drain(p, 4500) == "01234"
    assert p.deadline() == 5000


def test_release_resumes_a_paused_player():
    p = Player([o(0, "a"), m(10), o(20, "b")], pause_on_markers=True)
    p.start(0)
    drain(p, 15)
    assert p.state == PAUSED
    p.release(100)
    assert p.state == PLAYING and not p.pause_on_markers
    assert p.deadline() == 100 + 10


# -- the loop, with a pipe standing in for the keyboard ----------------------------------


def _collect():
    chunks = []

    def write(text):
        chunks.append((time.perf_counter(), text))

    return chunks, write


def test_loop_writes_events_on_schedule():
    """Never early; late only by what a busy machine may add (less than the 0.75 s of the
    whole recording, by which the first event would be late if all were held to the end).
    Events found late are written together: one write may hold several."""
    events = [o(i * 150_000, str(i)) for i in range(6)]
    chunks, write = _collect()
    t0 = time.perf_counter()
    run(Player(events), write, KeyReader(None))
    assert "".join(c for _, c in chunks) == "012345"
    for (t, text) in chunks:
        assert t - (t0 + int(text[-1]) * 0.150) >= -0.001, (text, t - t0)
        assert t - (t0 + int(text[0]) * 0.150) < 0.4, (text, t - t0)


def _unread(fd: int) -> int:
    """Bytes in the pipe not read yet."""
    import fcntl
    import struct
    import termios

    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


def test_loop_pause_and_resume_with_keys():
    r, w = os.pipe()
    try:
        events = [o(0, "a"), o(500_000, "b")]
        chunks, collect = _collect()
        started = threading.Event()
        resumed: list = []

        def write(text):
            collect(text)
            started.set()

        def typist():
            started.wait(60)
            os.write(w, b" ")  # pause, well before b is due
            deadline = time.monotonic() + 60
            while _unread(r) and time.monotonic() < deadline:  # one key, one read
                time.sleep(0.002)
            time.sleep(0.3)
            resumed.append(time.perf_counter())
            os.write(w, b" ")

        t = threading.Thread(target=typist)
        t.start()
        run(Player(events), write, KeyReader(r))
        t.join()
        assert [c for _, c in chunks] == ["a", "b"]
        assert chunks[1][0] > resumed[0]  # b, due 0.5 s in, waited for the resume
    finally:
        os.close(r)
        os.close(w)


def test_loop_ctrl_c_and_error_propagation():
    r, w = os.pipe()
    try:
        os.write(w, b"\x03")
        chunks, write = _collect()
        p = Player([o(0, "a"), o(5_000_000, "b")])
        run(p, write, KeyReader(r))
        assert p.interrupted
        assert "".join(c for _, c in chunks) in ("\r\n", "a\r\n")
    finally:
        os.close(r)
        os.close(w)

    def events():
        yield o(0, "a")
        raise FormatError("f:3: broken")

    chunks, write = _collect()
    with pytest.raises(FormatError, match="f:3"):
        run(Player(events()), write, KeyReader(None))
    assert [c for _, c in chunks] == ["a"]


def test_loop_keyboard_gone_resumes_playback():
    r, w = os.pipe()
    os.close(w)  # EOF at once: no keyboard
    try:
        chunks, write = _collect()
        p = Player([o(0, "a"), m(1000), o(2000, "b")], pause_on_markers=True)
        run(p, write, KeyReader(r))
        assert "".join(c for _, c in chunks) == "ab"
        assert p.state == ENDED
    finally:
        os.close(r)
