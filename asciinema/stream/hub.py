"""The hub: fans a session's events out to viewers as ALiS messages, each viewer with a
bounded queue, so that the session never waits for anybody.

Two sides, two threads:

* the producer (the live output that owns the virtual terminal, on the session's side)
  calls :meth:`Hub.publish` and :meth:`Hub.end`; they never block and never wait for the
  event loop: an event is appended to an inbox and the loop is woken at most once per batch;
* everything else runs on the server's asyncio loop: draining the inbox, encoding each
  event once for all viewers, the per-viewer queues, and :meth:`Subscriber.next`.

A viewer starts with the magic and an Init. The Init comes from the ``snapshot`` callback,
which describes the live screen; it runs on a short-lived thread of its own, so the loop
keeps serving the others meanwhile, and one call serves every viewer that asked at once.

Its contract, with event IDs contiguous (1, 2, 3...):
``snapshot()`` returns an :class:`~asciinema.stream.alis.Init` that reflects at least every
event whose ``publish`` call returned before ``snapshot`` was called (feed the terminal
first, then publish), and ``last_id`` names the last event it reflects. The hub then sends
that viewer exactly the events after ``last_id``. Its ``time`` is the stream time now (as
asciinema 3 does it: the last event's time plus the wall time since), so that the player's
clock starts where the session's is. It must stay callable until the server is closed.

A viewer whose queue outgrows its bounds (it reads slower than the session writes) loses
its queue and gets a fresh Init once it reads again; a stalled viewer so costs one queue's
worth of memory at most, and nothing for the others. If the loop itself falls behind the
producer by more than ``Limits.backlog_bytes``, the producer drops events instead of queuing
them; the viewers that miss one are re-synced the same way. While a viewer's sender is idle
and its socket has room, events skip its queue and are written at once (:attr:`Hub.write_now`).
"""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING, Callable, Deque, List, NamedTuple, Optional, Set, Tuple, Union, cast

from asciinema.asciicast import Event
from asciinema.stream.alis import MAGIC, Init, event_message, init_message

if TYPE_CHECKING:
    import asyncio

# The session's process imports this module for Limits only (see asciinema.stream.live):
# asyncio and logging, megabytes that only the stream process needs, are imported there.


def _log(level: str, msg: str, *args: object) -> None:
    import logging

    getattr(logging.getLogger("asciinema.stream"), level)(msg, *args)

#: viewer states
LAGGING = "lagging"  #: needs an Init; nothing is queued for it until it asks for more
SYNCING = "syncing"  #: a snapshot for it is being taken; events are held in ``pending``
LIVE = "live"  #: gets every event
CLOSED = "closed"

#: bytes counted per event on top of its text, so that many tiny events count too
EVENT_OVERHEAD = 64

_END = object()

Snapshot = Callable[[], Init]


class Limits(NamedTuple):
    #: a viewer whose queue holds more than this (bytes or messages) is re-synced
    queue_bytes: int = 2 << 20
    queue_messages: int = 4096
    #: the producer drops events while the loop is this far behind (bytes)
    backlog_bytes: int = 16 << 20
    #: least time between two snapshot calls (s): re-syncs cannot eat the session's CPU
    snapshot_interval: float = 0.05


class ViewerStats(NamedTuple):
    state: str
    queued_bytes: int
    queued_messages: int
    peak_bytes: int
    resyncs: int


class Subscriber:
    """One viewer's place in the stream; its sender awaits :meth:`next`."""

    def __init__(self, hub: "Hub") -> None:
        self.hub = hub
        self.queue: Deque[bytes] = collections.deque((MAGIC,))
        self.queued_bytes = len(MAGIC)
        self.state = LAGGING
        self.next_id = 0  #: the ID this viewer expects next
        self.base = 0  #: time (µs) of the last message it was sent
        self.pending: List[Tuple[int, Event, Optional[bytes], int, int]] = []
        self.pending_bytes = 0
        self.stale = False  #: events it would need were lost while its snapshot was taken
        self.failed = False  #: no Init could be made for it
        self.resyncs = 0
        self.peak_bytes = 0  #: the most its queue ever held
        import asyncio

        self.wakeup = asyncio.Event()
        #: Set by whoever sends for this viewer: its connection (opaque here), and whether a
        #: message may be written to it at once (its socket buffer is low). While the
        #: sender is idle and the queue empty, the hub writes events straight through
        #: :attr:`Hub.write_now`: no task switch per event and viewer.
        self.channel: object = None
        self.writable: Optional[Callable[[], bool]] = None
        self.idle = False

    async def next(self) -> Optional[bytes]:
        """The next message to send; None when the stream has ended (or the viewer was
        closed), after everything queued before."""
        while True:
            if self.queue:
                message = self.queue.popleft()
                self.queued_bytes -= len(message)
                return message
            if self.state == CLOSED or (self.state == LIVE and self.hub.ended):
                return None
            if self.state == LAGGING:
                self.hub._request_snapshot(self)
            self.wakeup.clear()
            self.idle = True
            try:
                await self.wakeup.wait()
            finally:
                self.idle = False

    def close(self) -> None:
        """Stop this viewer: :meth:`next` returns None from now on."""
        self.state = CLOSED
        self.queue.clear()
        self.queued_bytes = 0
        self.pending = []
        self.wakeup.set()


class Hub:
    def __init__(self, snapshot: Snapshot, limits: Limits = Limits()) -> None:
        self.snapshot = snapshot
        self.limits = limits
        self.ended = False
        self.subscribers: Set[Subscriber] = set()
        #: writes one message to several viewers' channels at once (see Subscriber.channel)
        self.write_now: Optional[Callable[[List[Subscriber], bytes], None]] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        # Producer side. Each counter has one writer: _published the producer, _drained
        # the loop; their difference is the backlog.
        self._inbox: Deque[object] = collections.deque()
        self._published = 0
        self._drained = 0
        self._wake_pending = False
        self._watched = False  #: written by the loop: someone is subscribed
        self._dropped_id = 0  #: the last event dropped for lack of room
        self._end_sent = False
        # Loop side.
        self._base = 0  #: time base of the shared encoding (the last event's time)
        self._waiting: List[Subscriber] = []
        self._snapshot_running = False
        self._last_snapshot = float("-inf")

    # ------------------------------------------------------------------ producer side

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, event_id: int, event: Event) -> None:
        """Hand one event to the viewers. Any thread; never blocks."""
        if not self._watched:
            return  # nobody to tell; the snapshot covers it for whoever comes later
        size = len(event[2]) + EVENT_OVERHEAD
        if self._published - self._drained > self.limits.backlog_bytes:
            self._dropped_id = event_id  # every viewer still waiting for it is re-synced
            self._wake()
            return
        self._published += size
        self._inbox.append((event_id, event, size))
        self._wake()

    def end(self) -> None:
        """The stream is over: viewers get what is queued, then the end. Any thread."""
        if not self._end_sent:
            self._end_sent = True
            self._inbox.append(_END)
            self._wake()

    def _wake(self) -> None:
        if not self._wake_pending and self._loop is not None:
            self._wake_pending = True
            try:
                self._loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                pass

    # ------------------------------------------------------------------ loop side

    def subscribe(self) -> Subscriber:
        sub = Subscriber(self)
        self.subscribers.add(sub)
        self._watched = True
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        sub.close()
        self.subscribers.discard(sub)
        self._watched = bool(self.subscribers)

    def close_all(self) -> None:
        for sub in list(self.subscribers):
            self.unsubscribe(sub)

    def _drain(self) -> None:
        self._wake_pending = False
        inbox = self._inbox
        drained = 0
        # A bounded batch per call, so that senders get their turn during a flood.
        for _ in range(len(inbox) if len(inbox) < 512 else 512):
            item = inbox.popleft()
            if item is _END:
                self._check_dropped()
                self.ended = True
                for sub in self.subscribers:
                    sub.wakeup.set()
                continue
            event_id, event, size = cast(Tuple[int, Event, int], item)
            drained += size
            self._dispatch(event_id, event)
        self._drained += drained
        self._check_dropped()
        if inbox and not self._wake_pending:
            self._wake_pending = True
            self._loop.call_soon(self._drain)  # type: ignore[union-attr]  # bound before any drain

    def _dispatch(self, event_id: int, event: Event) -> None:
        before = self._base
        message = None
        if self.subscribers:
            message, self._base = event_message(event_id, event, before)
        elif event[0] > self._base:
            self._base = event[0]
        after = self._base
        direct: List[Subscriber] = []
        for sub in self.subscribers:
            if sub.state == LIVE:
                self._deliver(sub, event_id, event, message, before, after, direct)
            elif sub.state == SYNCING:
                sub.pending.append((event_id, event, message, before, after))
                sub.pending_bytes += len(event[2]) + EVENT_OVERHEAD
                if len(sub.pending) > self.limits.queue_messages or sub.pending_bytes > self.limits.queue_bytes:
                    sub.stale = True
                    sub.pending = []
                    sub.pending_bytes = 0
        if direct:
            self.write_now(direct, message)  # type: ignore[misc, arg-type]  # set by the server first

    def _check_dropped(self) -> None:
        dropped = self._dropped_id
        if dropped:
            for sub in self.subscribers:
                if sub.state == LIVE and sub.next_id <= dropped:
                    self._lag(sub, f"missed event {dropped}")

    def _deliver(self, sub: Subscriber, event_id: int, event: Event, message: Optional[bytes],
                 before: int, after: int, direct: Optional[List[Subscriber]] = None) -> None:
        """Queue (or write at once, collecting in ``direct`` those that get the shared
        ``message``) the event for a live viewer."""
        if event_id < sub.next_id:
            return  # the viewer's Init already shows it
        if event_id > sub.next_id:
            self._lag(sub, f"missed events {sub.next_id}..{event_id - 1}")
            return
        sub.next_id = event_id + 1
        shared = sub.base == before
        if shared:
            sub.base = after  # in step with the shared encoding: share its bytes
        else:
            message, sub.base = event_message(event_id, event, sub.base)
        if message is None:
            return
        if direct is not None and sub.idle and not sub.queue and sub.writable is not None and sub.writable():
            if shared:
                direct.append(sub)
            else:
                self.write_now([sub], message)  # type: ignore[misc]  # set by the server first
            return
        sub.queue.append(message)
        sub.queued_bytes += len(message)
        if sub.queued_bytes > sub.peak_bytes:
            sub.peak_bytes = sub.queued_bytes
        if len(sub.queue) > self.limits.queue_messages or sub.queued_bytes > self.limits.queue_bytes:
            self._lag(sub, "fell behind")
        else:
            sub.wakeup.set()

    def _lag(self, sub: Subscriber, why: str) -> None:
        _log("info", "viewer %x %s; it gets a fresh Init when it reads again", id(sub), why)
        sub.queue.clear()
        sub.queued_bytes = 0
        sub.state = LAGGING
        sub.resyncs += 1
        sub.wakeup.set()

    def _request_snapshot(self, sub: Subscriber) -> None:
        sub.state = SYNCING
        sub.pending = []
        sub.pending_bytes = 0
        sub.stale = False
        self._waiting.append(sub)
        self._maybe_start_snapshot()

    def _maybe_start_snapshot(self) -> None:
        if self._snapshot_running or not self._waiting:
            return
        loop = self._loop
        assert loop is not None
        # Not at once: the viewers that ask during this turn of the loop share the call.
        delay = self._last_snapshot + self.limits.snapshot_interval - loop.time()
        self._snapshot_running = True
        loop.call_later(max(delay, 0), self._start_snapshot)

    def _start_snapshot(self) -> None:
        loop = self._loop
        assert loop is not None
        self._last_snapshot = loop.time()
        # Only the viewers waiting now: they began holding events back before this call.
        batch, self._waiting = self._waiting, []

        def work() -> None:
            result: Union[Init, Exception]
            try:
                result = self.snapshot()
            except Exception as e:  # those viewers get closed; the session goes on
                result = e
            try:
                loop.call_soon_threadsafe(self._snapshot_done, batch, result)
            except RuntimeError:
                pass  # the loop is gone: the server was shut down meanwhile

        threading.Thread(target=work, name="asciinema-snapshot", daemon=True).start()

    def _snapshot_done(self, batch: List[Subscriber], init: Union[Init, Exception]) -> None:
        self._snapshot_running = False
        if not isinstance(init, Init):
            _log("error", "cannot take a snapshot of the terminal for new viewers: %r", init)
            for sub in batch:
                if sub.state == SYNCING:
                    sub.failed = True
                    sub.close()
            self._maybe_start_snapshot()
            return
        message = init_message(init)
        for sub in batch:
            if sub.state != SYNCING:
                continue  # gone meanwhile
            sub.queue.append(message)
            sub.queued_bytes += len(message)
            sub.next_id = init.last_id + 1
            sub.base = max(init.time, 0)
            sub.state = LIVE
            pending, sub.pending = sub.pending, []
            sub.pending_bytes = 0
            if sub.stale or sub.next_id <= self._dropped_id:
                # Too much happened while the snapshot was taken: this Init still shows
                # the screen, and the viewer asks for another one right after it.
                _log("info", "viewer %x fell behind while joining", id(sub))
                sub.state = LAGGING
                sub.resyncs += 1
                sub.wakeup.set()
                continue
            for event_id, event, shared, before, after in pending:
                self._deliver(sub, event_id, event, shared, before, after)
                if sub.state != LIVE:
                    break
            sub.wakeup.set()
        self._maybe_start_snapshot()

    def stats(self) -> List[ViewerStats]:
        """One entry per viewer (call on the loop's thread)."""
        return [ViewerStats(s.state, s.queued_bytes, len(s.queue), s.peak_bytes, s.resyncs)
                for s in self.subscribers]
