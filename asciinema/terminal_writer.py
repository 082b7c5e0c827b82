"""The terminal writer of a session: the program's output shown without blocking the loop."""

from __future__ import annotations

import os
from typing import Callable, Deque, List, Optional

class TerminalWriter:
    """Shows the program's output without ever blocking the session loop.

    :meth:`write` first tries the non-blocking ``direct_fd`` when nothing is queued; what
    does not fit is queued for a thread that writes with blocking writes on ``fd`` (one
    system call however slowly the terminal reads, and no GIL held while waiting). The loop
    watches :meth:`backlog` to stop reading the program while the terminal is behind;
    ``wake`` is called when the backlog has gone down to ``low_water``, or on an error.
    """

    def __init__(self, fd: int, direct_fd: Optional[int], wake: Callable[[], None], low_water: int) -> None:
        import threading
        from collections import deque

        self.fd = fd
        self.direct_fd = direct_fd
        self.wake = wake
        self.low_water = low_water
        self.error: Optional[OSError] = None
        self._chunks: "deque[bytes]" = deque()
        self._event = threading.Event()
        self._armed = False  #: the thread has work, or is writing, and will see new chunks
        self._closing = False
        self._queued = 0  #: bytes handed to the thread (loop thread only)
        self._written = 0  #: bytes the thread wrote (writer thread only)
        self.waiting = False  #: the loop wants a wake-up at low water
        self._thread = threading.Thread(target=self._run, name="asciinema-terminal", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        if self.error is not None or self._closing:
            return
        if not self._armed and not self._chunks and self.direct_fd is not None:
            try:
                n = os.write(self.direct_fd, data)
            except BlockingIOError:
                n = 0
            except OSError as e:
                self.error = e
                return
            if n == len(data):
                return
            data = data[n:]
        self._queued += len(data)
        self._chunks.append(data)
        if not self._armed:
            self._armed = True
            self._event.set()

    def backlog(self) -> int:
        return self._queued - self._written

    def close(self, timeout: float) -> bool:
        """Write what is queued, waiting up to ``timeout`` seconds; False if it didn't finish."""
        self._closing = True
        self._event.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        chunks = self._chunks
        while True:
            self._event.wait()
            self._event.clear()
            while True:
                while chunks:
                    parts = _take(chunks, _MAX_PARTS)
                    try:
                        size = self._write_all(parts)
                    except OSError as e:
                        self.error = e
                        chunks.clear()
                        self.wake()
                        return
                    self._written += size
                    if self.waiting and self._queued - self._written <= self.low_water:
                        self.waiting = False
                        self.wake()
                self._armed = False
                if not chunks:
                    break
                self._armed = True  # more came while the last write finished
            if self._closing:
                return

    def _write_all(self, parts: "List[bytes | memoryview]") -> int:
        """Write ``parts`` whole with gathering writes (no copy to join them); their size."""
        size = left = sum(map(len, parts))
        while left:
            try:
                n = os.writev(self.fd, parts)
            except BlockingIOError:  # a non-blocking fd after all: wait for room
                import select

                select.select([], [self.fd], [], 1.0)
                continue
            left -= n
            while n:  # drop what went out; a blocking terminal takes everything, a signal less
                first = len(parts[0])
                if n < first:
                    parts[0] = memoryview(parts[0])[n:]
                    break
                del parts[0]
                n -= first
        return size


#: chunks per gathering write (IOV_MAX is 1024 on Linux and macOS)
_MAX_PARTS = 512


def _take(chunks: "Deque[bytes]", limit: int) -> "List[bytes | memoryview]":
    parts: "List[bytes | memoryview]" = []
    while chunks and len(parts) < limit:
        parts.append(chunks.popleft())
    return parts
