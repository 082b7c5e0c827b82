"""The capture stage: what happens in a session, turned into the events every output gets.

The session loop reports raw facts (bytes from the program, bytes typed, a new size, a
hotkey, the exit status) and :class:`Capture` makes the events: it keeps the session clock
(time since the start minus the time spent paused, frozen while paused), decodes output and
input as UTF-8 across reads (a character split between two reads comes out whole, invalid
bytes as U+FFFD), and drops what happens while paused. The events then pass through a chain
of :class:`Filter` objects before they reach :meth:`emit`, the one fan-out to the outputs,
so that a file, a viewer and a server all see the same events.

A filter may hold data back (a redaction filter keeps the tail of the output that could be
the start of a secret) and let it go later: when its :meth:`Filter.deadline` passes (the
loop asks :meth:`Capture.next_deadline` and calls :meth:`Capture.tick`), when the capture
pauses (what was held came before the pause) and at the end, before the exit event.

No I/O and no threads: the clock is passed in, so tests drive it by hand.
"""

from __future__ import annotations

import codecs
from typing import Callable, List, Optional, Protocol, Sequence

from asciinema.asciicast import EXIT, INPUT, MARKER, OUTPUT, RESIZE, Event, make_event

Emit = Callable[[Event], None]
#: the session's monotonic clock, in nanoseconds
Clock = Callable[[], int]


class Filter(Protocol):
    """One step between the capture and the outputs.

    Every method returns the events to pass on now, in order; their times never go back
    (an event released late keeps a time no earlier than the last one passed on).
    """

    def feed(self, event: Event) -> List[Event]:
        """Take ``event``; pass on all, part or none of it (and of what was held) now."""

    def deadline(self) -> Optional[int]:
        """The session time (µs) by which what is held back must go, or None if nothing is."""

    def tick(self, now: int) -> List[Event]:
        """What is due at session time ``now`` (µs)."""

    def flush(self) -> List[Event]:
        """Everything held back."""


class Capture:
    """Makes a session's events; see the module docstring.

    ``emit`` gets every event that passed the filters. ``capture_input``: keys typed
    become ``i`` events (else only what the program shows is recorded).
    """

    def __init__(
        self,
        emit: Emit,
        clock: Clock,
        *,
        capture_input: bool = False,
        filters: Sequence[Filter] = (),
    ) -> None:
        self.emit = emit
        self.clock = clock
        self.capture_input = capture_input
        self.filters = list(filters)
        self.start = 0  #: clock value at the start
        self.offset = 0  #: clock time spent paused before the current pause
        self.paused_at: Optional[int] = None
        self._out_decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._in_decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._send: Emit = self._filtered if self.filters else emit

    # --- time ----------------------------------------------------------------------------

    def begin(self) -> None:
        """The session starts now: time 0."""
        self.start = self.clock()
        self.offset = 0
        self.paused_at = None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def elapsed_us(self) -> int:
        """Session time now (µs); while paused, the time at which the pause began."""
        now = self.paused_at if self.paused_at is not None else self.clock()
        return (now - self.start - self.offset) // 1000

    def toggle_pause(self) -> bool:
        """Pause or resume the capture; True if it is paused now.

        Resuming leaves no gap: the session clock goes on from where it stopped.
        """
        if self.paused_at is None:
            self._flush_filters()
            self.paused_at = self.clock()
            return True
        self.offset += self.clock() - self.paused_at
        self.paused_at = None
        return False

    # --- what happens ------------------------------------------------------------------

    def output(self, data: bytes) -> None:
        """Bytes the program wrote to its terminal."""
        if self.paused_at is None:
            text = self._out_decoder.decode(data)
            if text:
                self._send(make_event(self.elapsed_us(), OUTPUT, text))

    def input(self, data: bytes) -> None:
        """Bytes typed (or piped) to the program, hotkeys already taken out."""
        if self.capture_input and self.paused_at is None:
            text = self._in_decoder.decode(data)
            if text:
                self._send(make_event(self.elapsed_us(), INPUT, text))

    def resize(self, cols: int, rows: int) -> None:
        self._send(make_event(self.elapsed_us(), RESIZE, f"{cols}x{rows}"))

    def marker(self, label: str = "") -> None:
        self._send(make_event(self.elapsed_us(), MARKER, label))

    def exit(self, status: int) -> None:
        """The end: what filters hold, then the exit status (its time frozen while paused)."""
        self._flush_filters()
        self._send(make_event(self.elapsed_us(), EXIT, str(status)))
        self._flush_filters()  # a filter that held the exit event back lets it go now

    # --- filters -------------------------------------------------------------------------

    def next_deadline(self) -> Optional[int]:
        """The clock value at which :meth:`tick` has work, or None.

        None while paused: the session clock stands still (held data went out on pausing).
        """
        if not self.filters or self.paused_at is not None:
            return None
        deadlines = [d for d in (f.deadline() for f in self.filters) if d is not None]
        if not deadlines:
            return None
        return self.start + self.offset + min(deadlines) * 1000

    def tick(self, now: Optional[int] = None) -> None:
        """Let filters pass on what is due at clock value ``now`` (default: the clock)."""
        if not self.filters or self.paused_at is not None:
            return
        at = ((self.clock() if now is None else now) - self.start - self.offset) // 1000
        for i, f in enumerate(self.filters):
            if f.deadline() is not None:
                self._pass_on(f.tick(at), i + 1)

    def _filtered(self, event: Event) -> None:
        self._pass_on([event], 0)

    def _pass_on(self, events: List[Event], first: int) -> None:
        """``events`` through the filters from index ``first`` on, then out."""
        for f in self.filters[first:]:
            if not events:
                return
            passed: List[Event] = []
            for event in events:
                passed.extend(f.feed(event))
            events = passed
        for event in events:
            self.emit(event)

    def _flush_filters(self) -> None:
        for i, f in enumerate(self.filters):
            self._pass_on(f.flush(), i + 1)
