"""The capture stage in-process: the session clock with pauses, UTF-8 across reads, and
filters that hold data back and let it go on a tick, on pausing and at the end."""

from __future__ import annotations

from typing import List, Optional

from asciinema.asciicast import Event, make_event
from asciinema.capture import Capture

MS = 1_000_000  # clock units (ns) per millisecond


class Clock:
    def __init__(self) -> None:
        self.now = 5_000 * MS  # anything: only differences count

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: float) -> None:
        self.now += int(ms * MS)


def make(clock: Clock, **kw) -> "tuple[Capture, List[Event]]":  # type: ignore[no-untyped-def]
    events: List[Event] = []
    capture = Capture(events.append, clock, **kw)
    capture.begin()
    return capture, events


def test_times_are_session_time_in_microseconds() -> None:
    clock = Clock()
    capture, events = make(clock)
    clock.advance(1.5)
    capture.output(b"a")
    clock.advance(1000)
    capture.resize(100, 40)
    capture.marker()
    capture.exit(3)
    assert events == [(1500, "o", "a"), (1_001_500, "r", "100x40"), (1_001_500, "m", ""), (1_001_500, "x", "3")]


def test_pause_freezes_the_clock_and_resuming_leaves_no_gap() -> None:
    clock = Clock()
    capture, events = make(clock, capture_input=True)
    clock.advance(10)
    capture.output(b"before")
    assert capture.toggle_pause() is True
    clock.advance(5000)
    capture.output(b"unseen")
    capture.input(b"untyped")
    assert capture.elapsed_us() == 10_000
    assert capture.toggle_pause() is False
    clock.advance(20)
    capture.output(b"after")
    capture.toggle_pause()
    clock.advance(7000)
    capture.toggle_pause()
    clock.advance(1)
    capture.input(b"k")
    assert events == [(10_000, "o", "before"), (30_000, "o", "after"), (31_000, "i", "k")]


def test_exit_while_paused_has_the_pause_time() -> None:
    clock = Clock()
    capture, events = make(clock)
    clock.advance(2)
    capture.toggle_pause()
    clock.advance(900)
    capture.exit(0)
    assert events == [(2000, "x", "0")]


def test_input_is_recorded_only_when_captured() -> None:
    clock = Clock()
    capture, events = make(clock)
    capture.input(b"secret")
    assert events == []


def test_utf8_split_across_reads_comes_out_whole() -> None:
    clock = Clock()
    capture, events = make(clock, capture_input=True)
    for chunk in (b"\xc5", b"\xbc\xc3", b"\xb3!", b"\xff", b"\xf0\x9f", b"\x98", b"\x80"):
        capture.output(chunk)
    capture.input(b"\xe2\x82")
    capture.output(b"x")  # the input decoder is separate from the output's
    capture.input(b"\xac")
    assert [e[2] for e in events] == ["ż", "ó!", "\ufffd", "\U0001F600", "x", "€"]
    assert [e[1] for e in events] == ["o", "o", "o", "o", "o", "i"]


def test_bytes_of_a_character_cut_by_a_pause_are_not_recorded_as_garbage() -> None:
    # the decoder sees only what is captured: the tail of a character split by the pause
    # is a lone continuation byte after it
    clock = Clock()
    capture, events = make(clock)
    capture.output(b"a\xc5")
    capture.toggle_pause()
    capture.output(b"\xbc")
    capture.toggle_pause()
    capture.output(b"b")
    assert "".join(e[2] for e in events) == "a\ufffdb"


class HoldTail:
    """A test filter: holds back the output after the last "|" until ``delay_us`` after it
    came, or until flushed; passes other events on, after what it holds."""

    def __init__(self, delay_us: int) -> None:
        self.delay_us = delay_us
        self.held: Optional[Event] = None
        self.due: Optional[int] = None

    def feed(self, event: Event) -> List[Event]:
        if event.code != "o":
            return self.flush() + [event]
        text = (self.held.data if self.held else "") + event.data
        head, sep, tail = text.rpartition("|")
        out = [make_event(event.time, "o", head + sep)] if sep else []
        if tail:
            if self.held is None or sep:
                self.due = event.time + self.delay_us
            self.held = make_event(event.time, "o", tail)
        else:
            self.held = self.due = None
        return out

    def deadline(self) -> Optional[int]:
        return self.due

    def tick(self, now: int) -> List[Event]:
        if self.due is not None and now >= self.due:
            return self.flush()
        return []

    def flush(self) -> List[Event]:
        held, self.held, self.due = self.held, None, None
        return [held] if held is not None else []


class Upper:
    """A test filter that changes what passes: every output upper-cased."""

    def __init__(self) -> None:
        self.seen: List[Event] = []

    def feed(self, event: Event) -> List[Event]:
        self.seen.append(event)
        return [make_event(event.time, event.code, event.data.upper() if event.code == "o" else event.data)]

    def deadline(self) -> Optional[int]:
        return None

    def tick(self, now: int) -> List[Event]:
        return []

    def flush(self) -> List[Event]:
        return []


def test_a_filter_holds_back_and_lets_go_on_tick() -> None:
    clock = Clock()
    hold, upper = HoldTail(delay_us=50_000), Upper()
    capture, events = make(clock, filters=[hold, upper])
    assert capture.next_deadline() is None
    clock.advance(1)
    capture.output(b"ab|cd")
    assert events == [(1000, "o", "AB|")]
    # due 50 ms of session time after it came, on the session's clock
    assert capture.next_deadline() == clock.now - 1 * MS + 51 * MS
    clock.advance(10)
    capture.tick()
    assert len(events) == 1
    capture.output(b"e")
    clock.advance(40)
    capture.tick()
    assert events[1:] == [(11_000, "o", "CDE")]
    assert capture.next_deadline() is None
    # what the held text came before goes after it, and through the later filters
    capture.output(b"f")
    capture.marker()
    assert events[2:] == [(51_000, "o", "F"), (51_000, "m", "")]
    assert [e.code for e in upper.seen] == ["o", "o", "o", "m"]


def test_a_filter_deadline_counts_session_time_across_a_pause() -> None:
    clock = Clock()
    capture, events = make(clock, filters=[HoldTail(delay_us=50_000)])
    capture.toggle_pause()
    clock.advance(1000)
    capture.toggle_pause()
    capture.output(b"x")
    assert capture.next_deadline() == clock.now + 50 * MS
    clock.advance(49)
    capture.tick(clock.now)
    assert events == []
    capture.tick(clock.now + 1 * MS)
    assert events == [(0, "o", "x")]


def test_held_data_goes_out_on_pausing_and_before_the_exit() -> None:
    clock = Clock()
    capture, events = make(clock, filters=[HoldTail(delay_us=10**9)])
    capture.output(b"one")
    clock.advance(5)
    capture.toggle_pause()
    assert events == [(0, "o", "one")]
    assert capture.next_deadline() is None  # nothing is due while the clock stands
    capture.toggle_pause()
    capture.output(b"two")
    clock.advance(5)
    capture.exit(0)
    assert events[1:] == [(5000, "o", "two"), (10_000, "x", "0")]


def test_without_filters_events_go_straight_out() -> None:
    clock = Clock()
    capture, events = make(clock)
    assert capture.next_deadline() is None
    capture.tick()
    capture.output(b"a")
    assert events == [(0, "o", "a")]
