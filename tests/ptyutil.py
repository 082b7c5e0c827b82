"""Run a command on a real pty that is its controlling terminal, and watch it.

The test side keeps both ends of the pty: the master, read by a background thread that
stamps every chunk with ``time.perf_counter()`` as it arrives (so the program never blocks
on its terminal, whatever the test is doing), and the slave, so the terminal modes can be
checked at any time, also after the program is gone. Like a terminal emulator, the reader
answers the terminal probe (primary device attributes). Every wait has a deadline, and
keys are sent one at a time, each waited for until the program read it, so tests hold on
a machine where every core is busy.
"""

from __future__ import annotations

import bisect
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import termios
import threading
import time
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

Pattern = Union[bytes, "re.Pattern[bytes]"]

#: what the reader writes back when the program asks for the primary device attributes
VT220_REPLY = b"\x1b[?62;22c"
_PROBE = b"\x1b[c"


def _controlling_tty(fd: int):  # type: ignore[no-untyped-def]
    def make() -> None:  # runs in the child, after setsid()
        fcntl.ioctl(fd, termios.TIOCSCTTY, 0)

    return make


def _winsize(cols: int, rows: int) -> bytes:
    return struct.pack("HHHH", rows, cols, 0, 0)


class PtyProc:
    """``argv`` on a new pty of ``cols`` x ``rows``.

    stdin, stdout and stderr are the pty unless given (a file descriptor or
    ``subprocess.PIPE``); with ``stderr=subprocess.PIPE`` the ``stderr`` property has it once
    the program exited. ``probe_reply`` is written back whenever the program sends the
    terminal probe; None leaves the probe unanswered.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Optional[Dict[str, str]] = None,
        cwd: Optional[str] = None,
        cols: int = 80,
        rows: int = 24,
        stdin: Optional[int] = None,
        stdout: Optional[int] = None,
        stderr: Optional[int] = None,
        probe_reply: Optional[bytes] = VT220_REPLY,
    ) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, _winsize(cols, rows))
        self.initial_attrs = termios.tcgetattr(self.slave)
        self._final_attrs: Optional[list] = None
        self.probe_reply = probe_reply
        self.probes = 0
        self._buf = bytearray()
        self._ends: List[int] = []  # end offset of each chunk in _buf
        self._stamps: List[float] = []  # its arrival time
        self._cond = threading.Condition()
        self._stop = False
        self._stderr: Optional[bytes] = None
        os.set_blocking(self.master, False)
        with warnings.catch_warnings():
            # other tests may have left threads running; the child only execs
            warnings.simplefilter("ignore", DeprecationWarning)
            self.proc = subprocess.Popen(
                list(argv),
                stdin=self.slave if stdin is None else stdin,
                stdout=self.slave if stdout is None else stdout,
                stderr=self.slave if stderr is None else stderr,
                env=env,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_controlling_tty(0 if stdin is None else 1),
            )
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    # -- reading -------------------------------------------------------------------------

    def _read_loop(self) -> None:
        tail = b""
        while not self._stop:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(self.master, 1 << 16)
            except BlockingIOError:
                continue
            except OSError:  # EIO: the slave is closed and everything was read
                break
            if not data:
                break
            stamp = time.perf_counter()
            probes = (tail + data).count(_PROBE)
            tail = data[-(len(_PROBE) - 1):]
            if probes:
                self.probes += probes
                if self.probe_reply is not None:
                    self._write_all(self.probe_reply * probes, 20.0)
            with self._cond:
                self._buf += data
                self._ends.append(len(self._buf))
                self._stamps.append(stamp)
                self._cond.notify_all()
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    @property
    def output(self) -> bytes:
        with self._cond:
            return bytes(self._buf)

    def _match_end(self, pattern: Pattern, start: int) -> Optional[int]:
        if isinstance(pattern, bytes):
            pos = self._buf.find(pattern, start)
            return None if pos < 0 else pos + len(pattern)
        mt = pattern.search(self._buf, start)
        return None if mt is None else mt.end()

    def _stamp_at(self, end: int) -> float:
        return self._stamps[bisect.bisect_left(self._ends, end)]

    def expect(self, pattern: Pattern, timeout: float = 30.0, start: int = 0) -> float:
        """Wait until the output from offset ``start`` matches; returns the arrival time of
        the chunk that completed the match."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                end = self._match_end(pattern, start)
                if end is not None:
                    return self._stamp_at(end)
                left = deadline - time.monotonic()
                if left <= 0 or (self._stop and self.proc.poll() is not None):
                    break
                self._cond.wait(min(left, 0.1))
        raise AssertionError(f"timed out waiting for {pattern!r}; output so far: {self.output[-2000:]!r}")

    def time_of(self, pattern: Pattern, start: int = 0) -> Optional[float]:
        """Arrival time of the chunk completing the first match of ``pattern``, or None."""
        with self._cond:
            end = self._match_end(pattern, start)
            return None if end is None else self._stamp_at(end)

    def arrivals(self, pattern: "re.Pattern[bytes]") -> List[Tuple[bytes, float]]:
        """Every match of ``pattern`` with the arrival time of the chunk that completed it."""
        with self._cond:
            return [(mt.group(0), self._stamp_at(mt.end())) for mt in pattern.finditer(self._buf)]

    # -- the terminal --------------------------------------------------------------------

    def attrs(self) -> list:
        """The terminal modes now, or as the program left them once ``wait`` returned."""
        if self._final_attrs is not None:
            return self._final_attrs
        return termios.tcgetattr(self.slave)

    def is_raw(self) -> bool:
        lflag = self.attrs()[3]
        return not lflag & (termios.ECHO | termios.ICANON)

    def wait_raw(self, timeout: float = 30.0) -> None:
        """Wait until the program put the terminal in raw mode (keys sent earlier would be
        echoed and line-buffered)."""
        deadline = time.monotonic() + timeout
        while not self.is_raw():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"terminal never went raw; output: {self.output[-2000:]!r}")
            time.sleep(0.002)

    def restored(self) -> bool:
        return self.attrs() == self.initial_attrs

    def resize(self, cols: int, rows: int) -> None:
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, _winsize(cols, rows))
        # the kernel signals the terminal's foreground group; the program may not lead it
        try:
            os.kill(self.pid, signal.SIGWINCH)
        except ProcessLookupError:
            pass

    # -- writing -------------------------------------------------------------------------

    def _write_all(self, data: bytes, timeout: float) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            try:
                view = view[os.write(self.master, view):]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError("timed out writing to the pty") from None
                select.select([], [self.master], [], 0.05)

    def send(self, data: bytes, timeout: float = 30.0) -> None:
        """Type ``data`` (the reader drains the echo meanwhile)."""
        self._write_all(data, timeout)

    def unread(self) -> int:
        """Bytes typed that the program has not read yet (raw mode only)."""
        if self._final_attrs is not None:
            return 0
        buf = fcntl.ioctl(self.slave, termios.FIONREAD, b"\0\0\0\0")
        return struct.unpack("i", buf)[0]

    def send_key(self, key: bytes, timeout: float = 30.0) -> None:
        """Type ``key`` and wait until the program has read it.

        Players and recorders take a key only when it is the whole of one read, so a key
        typed before the previous one was read would join it and neither would count; on a
        busy machine the program may be slow to read. The kernel moves typed bytes to the
        program's side a moment after the write, so a queue seen empty at once may not have
        been filled yet: the wait ends when the queue is empty after having been seen full,
        or after a grace time. Needs the terminal in raw mode (see ``wait_raw``).
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

    def poll(self) -> Optional[int]:
        return self.proc.poll()

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the exit status, then for the rest of the output.

        Our end of the slave is closed once the program is gone (its modes are kept for
        ``attrs``), so the reader reads to the end of what was written and stops.
        """
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"process did not exit in {timeout}s; output: {self.output[-2000:]!r}") from None
        if self._final_attrs is None:
            self._final_attrs = termios.tcgetattr(self.slave)
            os.close(self.slave)
            # a process the program left behind may hold the terminal open: no end then
            self._reader.join(10)
        return code

    @property
    def stderr(self) -> bytes:
        """What the program wrote to ``stderr=subprocess.PIPE``, once it exited."""
        if self._stderr is None:
            assert self.proc.stderr is not None, "stderr is on the pty"
            if self.proc.poll() is None:
                raise AssertionError("stderr is read after the process exits")
            self._stderr = self.proc.stderr.read()
        return self._stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        self._stop = True
        self._reader.join(5)
        fds = [self.master] if self._final_attrs is not None else [self.master, self.slave]
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()

    def __enter__(self) -> "PtyProc":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def child_pids(pid: int) -> List[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


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


def communicate_or_dump(proc: "subprocess.Popen[bytes]", timeout: float) -> Tuple[bytes, bytes]:
    """``proc.communicate(timeout)``; a process still running after it is stopped with SIGABRT
    and the test fails with what it wrote: started with ``PYTHONFAULTHANDLER=1``, a Python
    program then shows where every thread of it was waiting (a hang seen once in CI and
    never here is otherwise a bare timeout)."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        raise AssertionError(f"still running after {timeout} s; stdout {out[-2000:]!r}; stderr:\n"
                             + err[-8000:].decode("utf-8", "replace")) from None
