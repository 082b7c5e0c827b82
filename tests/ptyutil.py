"""Run a command on a real pty that is its controlling terminal, and watch it.

The parent keeps both ends: the master, read by a background thread that stamps every chunk
with ``time.perf_counter()`` as it arrives, and the slave, so the terminal modes can be
checked at any time (also after the child is gone). Every wait has a deadline.
"""

from __future__ import annotations

import bisect
import fcntl
import json
import os
import re
import select
import struct
import subprocess
import termios
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

Pattern = Union[bytes, "re.Pattern[bytes]"]


def _controlling_tty(fd: int):  # type: ignore[no-untyped-def]
    def make() -> None:  # runs in the child, after setsid()
        fcntl.ioctl(fd, termios.TIOCSCTTY, 0)

    return make


class PtyProc:
    """``argv`` with stdin and stdout on a new pty (either may be replaced); stderr is a pipe."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Optional[Dict[str, str]] = None,
        cwd: Optional[str] = None,
        size: Tuple[int, int] = (80, 24),
        stdout: Optional[int] = None,
        stdin: Optional[int] = None,
    ) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.initial_attrs = termios.tcgetattr(self.slave)
        self.chunks: List[Tuple[float, bytes]] = []
        self._lock = threading.Lock()
        self._stop = False
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=self.slave if stdin is None else stdin,
            stdout=self.slave if stdout is None else stdout,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_controlling_tty(0 if stdin is None else 1),
        )
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # -- reading -------------------------------------------------------------------------

    def _read_loop(self) -> None:
        while not self._stop:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(self.master, 1 << 16)
            except OSError:
                return
            if not data:
                return
            stamp = time.perf_counter()
            with self._lock:
                self.chunks.append((stamp, data))

    @property
    def output(self) -> bytes:
        with self._lock:
            return b"".join(c for _, c in self.chunks)

    def expect(self, pattern: Pattern, timeout: float = 10.0) -> float:
        """Wait until the output matches; returns the arrival time of the completing chunk."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.time_of(pattern)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {pattern!r}; output so far: {self.output[-2000:]!r}")
            time.sleep(0.002)

    def time_of(self, pattern: Pattern, start: int = 0) -> Optional[float]:
        """Arrival time of the chunk completing the first match of ``pattern``, or None."""
        with self._lock:
            chunks = list(self.chunks)
        data = b"".join(c for _, c in chunks)
        if isinstance(pattern, bytes):
            pos = data.find(pattern, start)
            if pos < 0:
                return None
            end = pos + len(pattern)
        else:
            mt = pattern.search(data, start)
            if mt is None:
                return None
            end = mt.end()
        total = 0
        for stamp, chunk in chunks:
            total += len(chunk)
            if total >= end:
                return stamp
        return None

    def arrivals(self, pattern: "re.Pattern[bytes]") -> List[Tuple[bytes, float]]:
        """Every match of ``pattern`` with the arrival time of the chunk that completed it."""
        with self._lock:
            chunks = list(self.chunks)
        ends, stamps, total = [], [], 0
        for stamp, chunk in chunks:
            total += len(chunk)
            ends.append(total)
            stamps.append(stamp)
        data = b"".join(c for _, c in chunks)
        return [(mt.group(0), stamps[bisect.bisect_left(ends, mt.end())]) for mt in pattern.finditer(data)]

    # -- the terminal --------------------------------------------------------------------

    def attrs(self) -> list:
        return termios.tcgetattr(self.slave)

    def is_raw(self) -> bool:
        lflag = self.attrs()[3]
        return not lflag & (termios.ECHO | termios.ICANON)

    def wait_raw(self, timeout: float = 10.0) -> None:
        """Wait until the child put the terminal in raw mode (keys sent earlier would be
        echoed and line-buffered)."""
        deadline = time.monotonic() + timeout
        while not self.is_raw():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"terminal never went raw; output: {self.output[-2000:]!r}")
            time.sleep(0.002)

    def restored(self) -> bool:
        return self.attrs() == self.initial_attrs

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def unread(self) -> int:
        """Bytes typed that the child has not read yet (raw mode only)."""
        buf = fcntl.ioctl(self.slave, termios.FIONREAD, b"\0\0\0\0")
        return struct.unpack("i", buf)[0]

    def send_key(self, key: bytes, timeout: float = 30.0) -> None:
        """Type ``key`` and wait until the child has read it.

        A player takes a key only when it is the whole of one read, so a key typed before the
        previous one was read would join it and neither would count; on a busy machine the
        child may be slow to read. The kernel moves typed bytes to the child's side a moment
        after the write, so a queue seen empty at once may not have been filled yet: the
        wait ends when the queue is empty after having been seen full, or after a grace time.
        """
        self.send(key)
        seen = False
        grace = time.monotonic() + 0.2
        deadline = time.monotonic() + timeout
        while True:
            left = self.unread()
            if not left and (seen or time.monotonic() > grace or self.proc.poll() is not None):
                return
            seen = seen or bool(left)
            if left and (time.monotonic() > deadline or self.proc.poll() is not None):
                raise AssertionError(f"{key!r} was never read; output: {self.output[-2000:]!r}")
            time.sleep(0.002)

    # -- the process ---------------------------------------------------------------------

    def wait(self, timeout: float = 30.0) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"process did not exit in {timeout}s; output: {self.output[-2000:]!r}")
        # let the reader pick up what is left in the pty
        deadline = time.monotonic() + 2
        last = -1
        while time.monotonic() < deadline:
            n = len(self.output)
            if n == last:
                break
            last = n
            time.sleep(0.05)
        return code

    @property
    def stderr(self) -> bytes:
        assert self.proc.stderr is not None
        if self.proc.poll() is None:
            raise AssertionError("stderr is read after the process exits")
        return self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        self._stop = True
        self._reader.join(5)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def __enter__(self) -> "PtyProc":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- recordings ---------------------------------------------------------------------------


def write_v2(path: str, events: Sequence[Tuple[float, str, str]], width: int = 80, height: int = 24,
             **header: object) -> str:
    """An asciicast v2 file with ``events`` as (absolute seconds, code, data)."""
    head = {"version": 2, "width": width, "height": height}
    head.update(header)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(head) + "\n")
        for t, code, data in events:
            f.write(json.dumps([round(t, 6), code, data]) + "\n")
    return path


def lateness(arrivals: Sequence[Tuple[float, float]]) -> Tuple[List[float], float, float]:
    """Per-event lateness (s) of (due offset s, arrival time) pairs.

    The clock origin of the player is unknown to the observer, so it is estimated as the
    earliest arrival relative to its due time: lateness of event k = (arrival_k - due_k) -
    min_j (arrival_j - due_j). Also returns the drift: how much longer the span from the
    first to the last event took than scheduled, and the total scheduled span.
    """
    offsets = [arr - due for due, arr in arrivals]
    base = min(offsets)
    late = [x - base for x in offsets]
    span_due = arrivals[-1][0] - arrivals[0][0]
    drift = (arrivals[-1][1] - arrivals[0][1]) - span_due
    return late, drift, span_due

