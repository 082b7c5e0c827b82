"""A worker thread behind a queue whose size the session loop watches: the pattern behind
every slow destination of a session (the recording file, the terminal).

The loop thread :meth:`~QueueWorker.put` items with a size (bytes or characters) and never
waits; the worker takes them off in batches with the ``drain`` function it was given. The
loop asks :meth:`~QueueWorker.congested` (a pure query: more than ``high_water`` waits) and
stops feeding while it is so; the worker calls ``wake`` when the backlog has gone down from
above ``low_water`` to it, so the loop looks again. A wake-up is one call per burst: putting
into a queue the worker is already busy with costs no signal.

A ``drain`` that raises ends the worker: the exception is kept in :attr:`~QueueWorker.error`,
what waits is dropped and ``wake`` is called, for the owner to report it.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable, Deque, Generic, Optional, TypeVar

T = TypeVar("T")

Wake = Callable[[], None]


class QueueWorker(Generic[T]):
    """See the module docstring.

    ``drain(items)`` takes one batch off the left of ``items`` (which is never empty when
    it is called), handles it, and returns its size. ``linger``: seconds to wait after a
    wake-up before draining, so that a burst of puts is handled together (closing cuts it
    short). ``begin`` runs first on the worker thread; ``end`` runs last, after everything
    put before :meth:`close` has been drained.
    """

    def __init__(
        self,
        name: str,
        drain: Callable[[Deque[T]], int],
        wake: Wake,
        *,
        high_water: int,
        low_water: int,
        linger: float = 0.0,
        begin: Optional[Callable[[], None]] = None,
        end: Optional[Callable[[], None]] = None,
    ) -> None:
        self.name = name
        self.items: Deque[T] = deque()
        self.high_water = high_water
        self.low_water = low_water
        self.error: Optional[BaseException] = None
        self._drain = drain
        self._wake = wake
        self._linger = linger
        self._begin = begin
        self._end = end
        self._signal = threading.Event()
        self._closing = threading.Event()
        self._armed = False  #: the worker was signalled, or is draining, and will see new items
        self._queued = 0  #: size put (loop thread only)
        self._done = 0  #: size drained (worker thread only)
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._armed = True  # ``begin`` runs at once
        self._signal.set()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    # --- loop thread -----------------------------------------------------------------------

    def put(self, item: T, size: int) -> None:
        self._queued += size
        self.items.append(item)
        if not self._armed:
            self._armed = True
            self._signal.set()

    @property
    def idle(self) -> bool:
        """Nothing waits and the worker is not writing: a write of one's own keeps the order."""
        return not self._armed and not self.items

    def backlog(self) -> int:
        return self._queued - self._done

    def congested(self) -> bool:
        return self._queued - self._done > self.high_water

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def close(self, timeout: float) -> bool:
        """Drain what waits, run ``end`` and stop, waiting up to ``timeout`` seconds;
        False if the worker is still at it."""
        self._closing.set()
        self._signal.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # --- worker thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self._begin is not None:
                self._begin()
            self._loop()
        except BaseException as e:
            self.error = e
            self.items.clear()
            self._wake()

    def _loop(self) -> None:
        items = self.items
        drain = self._drain
        low = self.low_water
        above = False  #: the backlog was seen above low water since the last wake-up
        while True:
            self._signal.wait()
            self._signal.clear()
            if self._linger:
                self._closing.wait(self._linger)
            while True:
                while items:
                    if self._queued - self._done > low:
                        above = True
                    self._done += drain(items)
                    if above and self._queued - self._done <= low:
                        above = False
                        self._wake()
                self._armed = False
                if not items:
                    break
                self._armed = True  # items came after the last drain
            if self._closing.is_set() and not items:
                if self._end is not None:
                    self._end()
                return
