"""Playback: a pure state machine (:class:`Player`) and a thin loop around it (:func:`run`).

The state machine takes the events (already idle-limited and sped up), the time and the keys
read from the terminal, and returns the text to write. It does no I/O and never reads the
clock, so tests drive it in-process. Its schedule has one origin: an event at playback time
``t`` is due at ``start + t`` on the caller's clock, so lateness never accumulates; pausing
moves the origin by the length of the pause.

States: *playing* (events are emitted when due), *paused* (nothing is due; keys step or seek),
*seeking* (after the next-marker key: everything up to the next marker is emitted at once),
*ended* and *interrupted*. Keys are matched against whole reads, as in asciinema 3: ctrl+c
always quits; pause toggles; step and next-marker act only while paused.

The loop waits for the next due time on the terminal's key fd with ``select`` until a few
milliseconds before the deadline, then sleeps in short steps and spins for the last fraction
of a millisecond, so events leave within tens of microseconds of their time without burning
a CPU through long pauses. Events are pulled from the (lazy) iterator only after the previous event
has been written, so a slow source never holds back output that is already due.
"""

from __future__ import annotations

import errno
import os
import time
from typing import Callable, Iterable, Iterator, List, NamedTuple, Optional

from asciinema.asciicast import MARKER, OUTPUT, RESIZE, Event, parse_size
from asciinema.write_all import write_all

QUIT_KEY = b"\x03"

PLAYING = "playing"
PAUSED = "paused"
SEEKING = "seeking"
ENDED = "ended"
INTERRUPTED = "interrupted"

#: A deadline in the past: used while seeking, when everything is due at once.
NOW = float("-inf")


class Keys(NamedTuple):
    """Key bindings as the bytes one read of the key returns; None disables a key."""

    pause: Optional[bytes] = b" "
    step: Optional[bytes] = b"."
    next_marker: Optional[bytes] = b"]"


def resize_sequence(cols: int, rows: int) -> str:
    """XTWINOPS "resize the text area": ``ESC [ 8 ; rows ; cols t``."""
    return f"\x1b[8;{rows};{cols}t"


class Player:
    """The playback state machine. Times are microseconds on any monotonic clock.

    ``catch_up_us``: after emitting an event that was on time (less late than this), return
    so the caller writes it before the next event is read; a late event is followed by every
    other event already due, written in one go. ``max_batch`` bounds one return value.
    Errors raised by the event iterator are kept in :attr:`error` and end the playback, so
    the text of the events before them is still returned and written first.
    """

    def __init__(
        self,
        events: Iterable[Event],
        keys: Keys = Keys(),
        pause_on_markers: bool = False,
        resize: bool = False,
        size: Optional[tuple] = None,
        catch_up_us: float = 1000.0,
        max_batch: int = 1024,
    ) -> None:
        self._events: Iterator[Event] = iter(events)
        self.keys = keys
        self.pause_on_markers = pause_on_markers
        self.resize = resize
        self.size = size
        self.catch_up_us = catch_up_us
        self.max_batch = max_batch
        self.state = "new"
        self.error: Optional[BaseException] = None
        self._next: Optional[Event] = None
        self._exhausted = False
        self._start = 0.0  #: clock time of playback position 0 while playing
        self._paused_at = 0.0  #: playback position while paused or seeking

    # -- queries -------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.state == ENDED or self.state == INTERRUPTED

    @property
    def interrupted(self) -> bool:
        return self.state == INTERRUPTED

    def position(self, now: float) -> float:
        """Playback time (µs into the recording) at clock time ``now``."""
        if self.state == PLAYING:
            return now - self._start
        return self._paused_at

    def deadline(self) -> Optional[float]:
        """Clock time at which :meth:`tick` has something to do; None: only keys matter.

        Reads the next event if needed; at the end of the events the state becomes *ended*.
        """
        if self.state == PLAYING:
            event = self._peek()
            if event is None:
                self.state = ENDED
                return None
            return self._start + event[0]
        if self.state == SEEKING:
            return NOW
        return None

    # -- inputs --------------------------------------------------------------------------

    def start(self, now: float) -> str:
        """Begin playing at clock time ``now``; returns the initial resize sequence if any."""
        self.state = PLAYING
        self._start = now
        if self.resize and self.size is not None:
            return resize_sequence(self.size[0], self.size[1])
        return ""

    def tick(self, now: float) -> str:
        """Emit what is due at ``now``."""
        if self.state == PLAYING:
            return self._play(now)
        if self.state == SEEKING:
            return self._seek()
        return ""

    def key(self, data: bytes, now: float) -> str:
        """Handle one read from the keyboard at clock time ``now``."""
        if self.done:
            return ""
        if data == QUIT_KEY:
            self.state = INTERRUPTED
            return "\r\n"
        keys = self.keys
        if self.state == PLAYING:
            if keys.pause is not None and data == keys.pause:
                self._pause(now - self._start)
            return ""
        if self.state == PAUSED:
            if keys.pause is not None and data == keys.pause:
                self.resume(now)
            elif keys.step is not None and data == keys.step:
                return self._step()
            elif keys.next_marker is not None and data == keys.next_marker:
                self.state = SEEKING
                return self._seek()
        return ""

    def resume(self, now: float) -> None:
        """Continue playing from the paused position (the schedule shifts by the pause)."""
        if self.state == PAUSED:
            self.state = PLAYING
            self._start = now - self._paused_at

    def release(self, now: float) -> None:
        """The keyboard is gone: never wait for a key again."""
        self.pause_on_markers = False
        if self.state == SEEKING:
            return
        self.resume(now)

    # -- internals -----------------------------------------------------------------------

    def _peek(self) -> Optional[Event]:
        if self._next is None and not self._exhausted:
            try:
                self._next = next(self._events)
            except StopIteration:
                self._exhausted = True
            except Exception as e:  # a broken line: play what came before, then report
                self.error = e
                self._exhausted = True
        return self._next

    def _pause(self, position: float) -> None:
        self.state = PAUSED
        self._paused_at = max(self._paused_at, position)

    def _render(self, event: Event, out: List[str]) -> None:
        code = event[1]
        if code == OUTPUT:
            out.append(event[2])
        elif code == RESIZE and self.resize:
            try:
                cols, rows = parse_size(event[2])
            except ValueError:
                return
            out.append(resize_sequence(cols, rows))

    def _play(self, now: float) -> str:
        position = now - self._start
        out: List[str] = []
        for _ in range(self.max_batch):
            event = self._peek()
            if event is None:
                self.state = ENDED
                break
            t = event[0]
            if t > position:
                break
            self._next = None
            self._render(event, out)
            if event[1] == MARKER and self.pause_on_markers:
                self._pause(t)
                break
            if position - t < self.catch_up_us:
                break
        return "".join(out)

    def _step(self) -> str:
        event = self._peek()
        if event is None:
            self.state = ENDED
            return ""
        self._next = None
        out: List[str] = []
        self._render(event, out)
        self._paused_at = max(self._paused_at, event[0])
        return "".join(out)

    def _seek(self) -> str:
        out: List[str] = []
        for _ in range(self.max_batch):
            event = self._peek()
            if event is None:
                self.state = ENDED
                break
            self._next = None
            self._render(event, out)
            if event[1] == MARKER:
                self._pause(event[0])
                break
        return "".join(out)


# ---------------------------------------------------------------------------------------
# The loop


#: Until this long before a deadline the loop waits for keys with select(). Long sleeps can
#: overshoot by milliseconds (an idle virtual CPU is slow to wake), so the rest is slept in
#: short steps, which overshoot by tens of microseconds, and the last stretch is spun.
COARSE_S = 0.004
#: The longest sleep inside the last COARSE_S.
STEP_S = 0.0005
#: The last stretch before a deadline is spun, not slept.
SPIN_S = 0.0002
#: How often keys are polled when events are too close for the coarse wait, or overdue.
POLL_S = 0.02
#: select() may oversleep by 0.1% of its timeout (Linux slack); wake early by more than that.
SLACK = 0.995

Clock = Callable[[], float]


class Writer:
    """Writes text to a file descriptor: whole, through partial writes and EAGAIN."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __call__(self, text: str) -> None:
        if text:
            try:
                write_all(self.fd, text.encode("utf-8", "replace"))
            except OSError as e:
                from asciinema.errors import STDOUT, write_failed

                raise write_failed(STDOUT, e) from None


class KeyReader:
    """Waits for deadlines while reading keys from a terminal fd (None: no keys)."""

    def __init__(self, fd: Optional[int], clock: Clock = time.perf_counter) -> None:
        self.fd = fd
        self.clock = clock
        self._last_poll = 0.0
        if fd is not None:
            import select

            self._select = select.select

    def read(self) -> Optional[bytes]:
        assert self.fd is not None
        try:
            data = os.read(self.fd, 1024)
        except OSError as e:
            if e.errno not in (errno.EIO, errno.ENXIO, errno.EBADF):
                raise
            data = b""
        if not data:  # the terminal went away: carry on without keys
            self.fd = None
            return b""
        return data

    def poll(self) -> Optional[bytes]:
        """A key read if one is waiting, else None."""
        if self.fd is not None and self._select([self.fd], [], [], 0)[0]:
            return self.read()
        return None

    def wait(self, deadline: Optional[float]) -> Optional[bytes]:
        """Return a key read (b"" if the keyboard went away), or None at ``deadline`` (s)."""
        clock = self.clock
        fd = self.fd
        if deadline is None:
            if fd is None:
                return b""
            self._select([fd], [], [])
            return self.read()
        while True:
            now = clock()
            remaining = deadline - now
            if fd is not None and now - self._last_poll >= POLL_S:
                # events come too fast for the coarse wait: still look at the keys now and then
                self._last_poll = now
                if self._select([fd], [], [], 0)[0]:
                    return self.read()
            if remaining <= 0:
                return None
            if remaining > COARSE_S:
                timeout = remaining * SLACK - COARSE_S
                if timeout > 0:
                    if fd is not None:
                        self._last_poll = now
                        if self._select([fd], [], [], timeout)[0]:
                            return self.read()
                    else:
                        time.sleep(timeout)
                    continue
            if remaining > SPIN_S:
                time.sleep(min(STEP_S, remaining - SPIN_S))
                continue
            while clock() < deadline:
                pass
            return None


def run(
    player: Player,
    write: Callable[[str], None],
    keys: KeyReader,
    check: Callable[[], None] = lambda: None,
) -> None:
    """Play until the end or ctrl+c; raises the event source's error after its output.
    ``check`` is called before each wait (it may raise to stop playback)."""
    clock = keys.clock
    us = 1e6
    out = player.start(clock() * us)
    if out:
        write(out)
    while True:
        deadline = player.deadline()
        if player.done:
            break
        check()
        data = keys.wait(None if deadline is None else deadline / us)
        now = clock() * us
        if data is None:
            out = player.tick(now)
        elif data == b"":
            player.release(now)
            continue
        else:
            out = player.key(data, now)
        if out:
            write(out)
    if player.error is not None:
        raise player.error
