"""The stream process's side of the live stream: the events the session sent it, the
virtual terminal that late joiners start from, and the consumers it feeds: the local HTTP
server (:mod:`asciinema.stream.server`), the remote forwarder
(:mod:`asciinema.stream.forwarder`), or both. Each consumer has a hub of its own
(:mod:`asciinema.stream.hub`: bounded queues, a fresh Init for whoever falls behind or
(re)connects); the terminal and the backlog are shared.

:meth:`Broadcast.send` does no terminal work: it appends the event to an in-memory
backlog and hands it to the hub, both O(1). The virtual terminal (:mod:`asciinema.vt`, a
few MB/s) is much slower than a flood of output through a pty (60 MB/s and more), so a
thread of its own feeds it from the backlog lazily:

* in small slices, each followed by a real pause, so that the thread that receives the
  events and the server's get the GIL back within about a slice's time (a millisecond or
  two) rather than after Python's switch interval;
* at once while events are not coming; while they keep coming during the slices, at most
  a quarter of the time; and not at all while more than :data:`HIGH_WATER` is waiting and
  events came in the last :data:`FLOOD_QUIET` seconds (a flood), since most of it would be
  skipped anyway.

**Bounded catch-up.** When more than :data:`MAX_BACKLOG` characters of output wait, the
oldest are skipped: the terminal goes on from where it was with the last :data:`TAIL`
characters (resizes among the skipped events are applied). A snapshot for a joining
viewer feeds what waits first, up to :data:`CATCH_UP` characters; beyond that it too skips
to the last :data:`TAIL`. So the screen a viewer joins on is exact in normal use (typing,
editors, builds: the terminal keeps up, or catches up in a fraction of a second), and after
a flood it is rebuilt from the flood's last 256 KiB of output on top of the state from
before the flood: right whenever those last 256 KiB determine the screen (scrolling output,
a full-screen program redrawing), not necessarily otherwise (a colour set earlier and never
set again, say). Continuing from the old state rather than a reset keeps the modes that
the skipped part did not change, such as the alternate screen of an editor that printed a
flood inside it. Events that never arrived (IDs that jump, see
:mod:`asciinema.stream.frames`) are skipped the same way.

Memory: the backlog holds at most about :data:`OVERFLOW` characters, each viewer one
bounded queue (see :mod:`asciinema.stream.hub`).
"""
from __future__ import annotations

import collections
import threading
import time
from typing import TYPE_CHECKING, Deque, List, Optional, Protocol, Sequence, Tuple

from asciinema.asciicast import OUTPUT, RESIZE, Event, Theme, parse_size
from asciinema.stream.alis import Init
from asciinema.stream.hub import Hub, Limits

#: characters of output waiting for the terminal beyond which the oldest are skipped
MAX_BACKLOG = 2 << 20
#: characters of output fed after skipping: the tail the screen is rebuilt from
TAIL = 256 << 10
#: beyond this :meth:`Broadcast.send` skips ahead itself (the terminal's thread did not run)
OVERFLOW = 2 * MAX_BACKLOG
#: a snapshot feeds at most this much waiting output; with more it skips to the tail first
CATCH_UP = 1 << 20
#: while events keep coming and more than this waits, the terminal waits for a quiet moment
HIGH_WATER = 256 << 10
#: characters fed at a time
SLICE = 4096
#: pause after each slice (s): long enough for a thread waiting for the GIL to take it
YIELD = 0.0002
#: share of the time the terminal may take while events keep coming
BUSY_SHARE = 0.25
#: with more than HIGH_WATER waiting, the terminal waits for this long without events
#: (s): a flood may pause for a moment (the session waits for its terminal), and whatever is
#: fed then is likely skipped a moment later
FLOOD_QUIET = 0.1

if TYPE_CHECKING:
    from asciinema.vt import Terminal

_Pending = Tuple[int, Event]


class Consumer(Protocol):
    """Where the stream goes: a local server (bound, not started) or a remote forwarder."""

    hub: Hub  #: set by the Broadcast before start()

    def start(self) -> None: ...

    def close(self, timeout: float) -> None:
        """End the stream (the hub has ended it) within about ``timeout`` seconds."""


class Broadcast:
    """Events in (:meth:`send`, from one thread), out through each of ``consumers`` (their
    hubs are set here). See the module docstring."""

    def __init__(self, consumers: Sequence[Consumer], limits: Limits = Limits()) -> None:
        self.consumers = list(consumers)
        self.hubs: List[Hub] = []
        for consumer in self.consumers:
            consumer.hub = Hub(self._snapshot, limits)
            self.hubs.append(consumer.hub)
        self.theme: Optional[Theme] = None
        self._closing = threading.Event()
        # The sender's thread only: the backlog's intake.
        self._last_id = 0  #: ID of the last event sent
        self._sent = 0  #: characters of event data sent, ever
        self._last: Tuple[int, float] = (0, 0.0)  #: (time µs, monotonic s) of the last event sent
        self._start_wall = 0.0
        self._pending: Deque[_Pending] = collections.deque()
        self._armed = False  #: the terminal's thread was woken and will see new events
        self._signal = threading.Event()
        # Whoever holds _vt_lock (the terminal's thread, a snapshot, send skipping ahead).
        self._vt_lock = threading.Lock()
        self._vt: Optional[Terminal] = None
        self._taken = 0  #: characters of event data taken from the backlog (fed or skipped)
        self._fed_id = 0  #: ID of the last event the terminal reflects
        self._current: Optional[Tuple[int, str, int]] = None  #: (id, text, fed so far) of an event fed in part
        self.skipped = 0  #: characters of output never fed (bounded catch-up)
        self.error: Optional[BaseException] = None  #: what stopped the terminal's thread
        self._thread: Optional[threading.Thread] = None

    def start(self, cols: int, rows: int, theme: Optional[Theme] = None) -> None:
        """The session started with a ``cols`` x ``rows`` terminal: serve viewers from now on."""
        from asciinema.vt import Terminal

        self.theme = theme
        self._vt = Terminal(cols, rows, collect=False)
        self._start_wall = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="asciinema-stream-vt", daemon=True)
        self._thread.start()
        for consumer in self.consumers:
            consumer.start()

    def send(self, event_id: int, event: Event) -> None:
        """One event; IDs go up, by one unless events were lost on the way. Never blocks."""
        self._pending.append((event_id, event))
        self._sent += len(event[2])
        self._last = (event[0], time.monotonic())
        self._last_id = event_id  # after the append: a snapshot that sees this ID finds the event
        for hub in self.hubs:
            hub.publish(event_id, event)
        if not self._armed:
            self._armed = True
            self._signal.set()
        elif self._sent - self._taken > OVERFLOW:
            self._overflow()

    def _overflow(self) -> None:
        # The terminal's thread has not had the GIL for a while: skip ahead here, unless
        # the terminal is in use (a slice: it skips ahead itself right after).
        if self._vt_lock.acquire(blocking=False):
            try:
                self._skip(TAIL)
            finally:
                self._vt_lock.release()

    def close(self, timeout: float) -> None:
        """End the stream: viewers get the events sent so far (the exit event last), then
        a Close frame 1000 "Stream ended"; returns within about ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        self._closing.set()
        self._signal.set()
        if len(self.consumers) == 1:
            self.consumers[0].close(timeout)
        else:  # at once: the wait is the slowest one's
            closers = [threading.Thread(target=c.close, args=(timeout,), name="asciinema-stream-close", daemon=True)
                       for c in self.consumers]
            for closer in closers:
                closer.start()
            for closer in closers:
                closer.join(max(0.0, deadline - time.monotonic()))
        thread = self._thread
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ terminal thread

    def _run(self) -> None:
        try:
            while not self._closing.is_set():
                self._signal.wait()
                self._signal.clear()
                self._keep_up()
                self._armed = False
                if self._pending and not self._closing.is_set():
                    self._armed = True  # events came after _keep_up looked
                    self._signal.set()
        except Exception as e:  # a bug in the terminal: new viewers get no Init, the others go on
            self.error = e
            import logging

            logging.getLogger("asciinema.stream").exception("the stream's terminal failed")

    def _keep_up(self) -> None:
        """Feed the terminal until the backlog is empty (see the module docstring)."""
        closing = self._closing
        while not closing.is_set():
            waiting = self._sent - self._taken
            if waiting <= 0 and self._current is None:
                return
            mark = self._sent
            if waiting > HIGH_WATER:
                # A flood: wait for a quiet moment, skipping ahead if it does not come.
                if closing.wait(FLOOD_QUIET):
                    return
                with self._vt_lock:
                    if self._sent - self._taken > MAX_BACKLOG:
                        self._skip(TAIL)
                if self._sent != mark:
                    continue
            start = time.perf_counter()
            with self._vt_lock:
                self._feed(SLICE)
            spent = time.perf_counter() - start
            if self._sent != mark:  # events came meanwhile: the session is busy
                closing.wait(max(YIELD, spent * (1 - BUSY_SHARE) / BUSY_SHARE))
            else:
                time.sleep(YIELD)

    # ------------------------------------------------------------------ under _vt_lock

    def _feed(self, budget: int, until: Optional[int] = None) -> int:
        """Feed up to about ``budget`` characters of the backlog (and the events without
        text in between), stopping after event ``until`` if given; the characters fed."""
        vt = self._vt
        assert vt is not None
        pending = self._pending
        fed = 0
        while fed < budget:
            current = self._current
            if current is None:
                if not pending or (until is not None and self._fed_id >= until):
                    break
                event_id, event = pending.popleft()
                code, data = event[1], event[2]
                if code == OUTPUT and data:
                    current = (event_id, data, 0)
                else:
                    self._taken += len(data)
                    self._fed_id = event_id
                    if code == RESIZE:
                        _resize(vt, data)
                    continue
            event_id, text, pos = current
            end = pos + budget - fed
            if end < len(text):
                # Not in the middle of an escape sequence if it can be helped: the terminal
                # may be continued from another point of the stream (see _skip).
                esc = text.rfind("\x1b", max(pos, end - 64), end)
                if esc > pos:
                    end = esc
            else:
                end = len(text)
            vt.feed(text[pos:end])
            fed += end - pos
            self._taken += end - pos
            if end == len(text):
                self._current = None
                self._fed_id = event_id
            else:
                self._current = (event_id, text, end)
        return fed

    def _skip(self, keep: int) -> None:
        """Drop the oldest waiting output so that about ``keep`` characters are left, the
        resizes in it applied; the rest starts at a line if one starts near its beginning."""
        pending = self._pending
        size = None
        current = self._current
        if current is not None:
            event_id, text, pos = current
            self._current = None
            self._taken += len(text) - pos
            self._fed_id = event_id
            self.skipped += len(text) - pos
        while pending:
            excess = self._sent - self._taken - keep
            if excess <= 0:
                break
            event_id, event = pending[0]
            code, data = event[1], event[2]
            if code == OUTPUT and len(data) > excess:
                # The tail starts in this event: keep its end, from a line start if near.
                cut = data.find("\n", excess, excess + 4096)
                cut = excess if cut < 0 else cut + 1
                pending.popleft()
                self._current = (event_id, data, cut)
                self._taken += cut
                self.skipped += cut
                break
            pending.popleft()
            self._taken += len(data)
            self._fed_id = event_id
            if code == OUTPUT:
                self.skipped += len(data)
            elif code == RESIZE:
                size = data
        if size is not None and self._vt is not None:
            _resize(self._vt, size)

    # ------------------------------------------------------------------ snapshot thread

    def _snapshot(self) -> Init:
        """The hub's snapshot: the live screen for a joining viewer (its own thread)."""
        if self.error is not None:
            raise RuntimeError(f"the terminal failed: {self.error!r}")
        vt = self._vt
        assert vt is not None  # viewers are served from start() on
        target = self._last_id  # every event published before this call is up to it
        while True:
            # The lock is let go between slices, so that send can skip ahead meanwhile
            # (see _overflow) and memory stays bounded in a flood.
            with self._vt_lock:
                if self._sent - self._taken > CATCH_UP:
                    self._skip(TAIL)
                if self._fed_id >= target:
                    text = vt.snapshot()
                    cols, rows = vt.cols, vt.rows
                    last_id = self._fed_id
                    break
                self._feed(SLICE, until=target)
            time.sleep(YIELD)
        if last_id == 0:
            now = int((time.monotonic() - self._start_wall) * 1e6)
        else:
            event_time, wall = self._last
            now = event_time + int((time.monotonic() - wall) * 1e6)
        return Init(last_id, max(now, 0), cols, rows, self.theme, text)


def _resize(vt: Terminal, data: str) -> None:
    try:
        cols, rows = parse_size(data)
    except ValueError:
        return
    vt.resize(max(cols, 1), max(rows, 1))

