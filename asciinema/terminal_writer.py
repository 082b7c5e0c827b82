"""The terminal writer of a session: the program's output shown without blocking the loop."""

from __future__ import annotations

import os
from typing import Callable, Deque, List, Optional

from asciinema.queue_worker import QueueWorker
from asciinema.write_all import Buffer, writev_all

#: chunks per gathering write (IOV_MAX is 1024 on Linux and macOS)
_MAX_PARTS = 512


class TerminalWriter:
    """Shows the program's output without ever blocking the session loop.

    :meth:`write` first tries the non-blocking ``direct_fd`` when nothing is queued; what
    does not fit is queued for a worker thread that writes with blocking writes on ``fd``
    (one system call however slowly the terminal reads, and no GIL held while waiting).
    The loop stops reading the program while :meth:`congested` (more than ``high_water``
    bytes wait); ``wake`` is called when the backlog has gone down to ``low_water``, or on
    an error.
    """

    def __init__(self, fd: int, direct_fd: Optional[int], wake: Callable[[], None], *,
                 high_water: int, low_water: int) -> None:
        self.fd = fd
        self.direct_fd = direct_fd
        self._direct_error: Optional[OSError] = None
        self._worker: QueueWorker[bytes] = QueueWorker(
            "asciinema-terminal", self._drain, wake, high_water=high_water, low_water=low_water
        )
        self._worker.start()

    @property
    def error(self) -> Optional[OSError]:
        """Why the terminal can't be written any more, or None."""
        if self._direct_error is not None:
            return self._direct_error
        e = self._worker.error
        if e is None or isinstance(e, OSError):
            return e
        return OSError(0, str(e) or type(e).__name__)

    def write(self, data: bytes) -> None:
        worker = self._worker
        if self._direct_error is not None or worker.error is not None or worker.closing:
            return
        if self.direct_fd is not None and worker.idle:
            try:
                n = os.write(self.direct_fd, data)
            except BlockingIOError:
                n = 0
            except OSError as e:
                self._direct_error = e
                return
            if n == len(data):
                return
            data = data[n:]
        worker.put(data, len(data))

    def backlog(self) -> int:
        return self._worker.backlog()

    def congested(self) -> bool:
        return self._worker.congested()

    def close(self, timeout: float) -> bool:
        """Write what is queued, waiting up to ``timeout`` seconds; False if it didn't finish."""
        return self._worker.close(timeout)

    def _drain(self, chunks: Deque[bytes]) -> int:
        parts: List[Buffer] = []
        while chunks and len(parts) < _MAX_PARTS:
            parts.append(chunks.popleft())
        return writev_all(self.fd, parts)
