"""Waiting on file descriptors: the one wait of the session loop."""

from __future__ import annotations

import select
import sys
from typing import Dict, List, Optional, Tuple


class Poller:
    """poll(2) on Linux and most systems; select(2) on macOS, where poll can't watch ttys."""

    def __init__(self) -> None:
        self._select = sys.platform == "darwin" or not hasattr(select, "poll")
        self._reads: Dict[int, bool] = {}
        self._writes: Dict[int, bool] = {}
        if not self._select:
            self._poll = select.poll()
            self._registered: Dict[int, int] = {}

    def set(self, fd: int, read: bool, write: bool) -> None:
        """Watch ``fd`` for reading and/or writing (neither: stop watching it)."""
        if self._select:
            for table, on in ((self._reads, read), (self._writes, write)):
                if on:
                    table[fd] = True
                else:
                    table.pop(fd, None)
            return
        events = (_POLL_READ if read else 0) | (select.POLLOUT if write else 0)
        if not events:
            if self._registered.pop(fd, None) is not None:
                self._poll.unregister(fd)
        elif fd in self._registered:
            self._poll.modify(fd, events)
            self._registered[fd] = events
        else:
            self._poll.register(fd, events)
            self._registered[fd] = events

    def poll(self, timeout: Optional[float]) -> List[Tuple[int, bool, bool]]:
        """``(fd, readable, writable)``; errors and hangups count as both."""
        if self._select:
            r, w, _ = select.select(list(self._reads), list(self._writes), [], timeout)
            return [(fd, True, False) for fd in r] + [(fd, False, True) for fd in w]
        ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        ready = []
        for fd, ev in self._poll.poll(ms):
            bad = ev & _POLL_BAD
            ready.append((fd, bool(ev & select.POLLIN) or bool(bad), bool(ev & select.POLLOUT) or bool(bad)))
        return ready

    def close(self) -> None:
        self._reads.clear()
        self._writes.clear()


_POLL_READ = getattr(select, "POLLIN", 1)
_POLL_BAD = getattr(select, "POLLHUP", 16) | getattr(select, "POLLERR", 8) | getattr(select, "POLLNVAL", 32)
