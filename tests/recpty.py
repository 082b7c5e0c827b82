"""Run a command on a fresh pty that is its controlling terminal, for the `rec` tests.

The test side keeps both ends: the master to type and read with deadlines, and the slave to
look at the terminal modes (``termios.tcgetattr``) before and after. Output is drained in
the background of every wait so the program under test never blocks on its terminal.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import select
import signal
import struct
import termios
import time
import warnings
from typing import Dict, List, Optional, Pattern, Union

Needle = Union[bytes, Pattern[bytes]]


class PtyRun:
    def __init__(
        self,
        argv: List[str],
        env: Dict[str, str],
        cwd: str,
        cols: int = 80,
        rows: int = 24,
        stdin: Optional[int] = None,
        probe_reply: Optional[bytes] = b"\x1b[?62;22c",
    ) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        with warnings.catch_warnings():
            # other tests may have left daemon threads; the child only execs
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                os.close(master)
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                os.dup2(stdin if stdin is not None else slave, 0)
                os.dup2(slave, 1)
                os.dup2(slave, 2)
                os.chdir(cwd)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid = pid
        self.master = master
        self.slave = slave
        self.output = bytearray()
        self.status: Optional[int] = None
        #: written back when the terminal probe (ending with primary DA) is seen, like a
        #: terminal emulator would; None leaves it unanswered
        self.probe_reply = probe_reply
        self.probes = 0
        os.set_blocking(master, False)

    # --- I/O with deadlines ---

    def _pump(self, timeout: float) -> bool:
        """Read what the program wrote, waiting up to ``timeout``; False at EOF."""
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return True
        except OSError as e:
            if e.errno == errno.EIO:
                return False
            raise
        if not data:
            return False
        self.output += data
        if b"\x1b[c" in data:
            self.probes += 1
            if self.probe_reply is not None:
                os.write(self.master, self.probe_reply)
        return True

    def read_until(self, needle: Needle, timeout: float = 20.0, start: int = 0) -> bytes:
        """Wait until the output (from ``start``) contains ``needle``; returns the output."""
        deadline = time.monotonic() + timeout
        while True:
            if self._found(needle, start):
                return bytes(self.output)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {needle!r}; output so far: {bytes(self.output)!r}")
            self._pump(min(left, 0.1))
            self.poll()

    def _found(self, needle: Needle, start: int) -> bool:
        data = bytes(self.output[start:])
        if isinstance(needle, bytes):
            return needle in data
        return needle.search(data) is not None

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + 20
        while view:
            try:
                n = os.write(self.master, view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError("timed out writing to the pty") from None
                self._pump(0.01)

    def type(self, keys: bytes, timeout: float = 30.0) -> None:
        """One key (one read on the other side): typed, then waited for until it was read.

        The recorder takes a key only when it is the whole of one read, so keys typed before
        the previous ones were read would join them; on a busy machine the recorder may be
        slow to read. The kernel moves typed bytes to the reading side a moment after the
        write, so a queue seen empty at once may not have been filled yet: the wait ends
        when the queue is empty after having been seen full, or after a grace time.
        Needs the terminal in raw mode (see ``wait_raw``), as it is while recording.
        """
        self.write(keys)
        seen = False
        grace = time.monotonic() + 0.2
        deadline = time.monotonic() + timeout
        while True:
            left = self.unread()
            if not left and (seen or time.monotonic() > grace or self.poll() is not None):
                return
            seen = seen or bool(left)
            if left and (time.monotonic() > deadline or self.poll() is not None):
                raise AssertionError(f"{keys!r} was never read; output: {bytes(self.output)!r}")
            self._pump(0.002)

    def unread(self) -> int:
        """Bytes typed that the program has not read yet (raw mode only)."""
        return struct.unpack("i", fcntl.ioctl(self.slave, termios.FIONREAD, b"\0\0\0\0"))[0]

    def settle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._pump(max(0.0, min(0.05, deadline - time.monotonic())))

    def resize(self, cols: int, rows: int) -> None:
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        try:
            os.kill(self.pid, signal.SIGWINCH)
        except ProcessLookupError:
            pass

    def attrs(self) -> list:
        return termios.tcgetattr(self.slave)

    def wait_raw(self, timeout: float = 30.0) -> None:
        """Wait until the program put its terminal in raw mode (the recording started)."""
        deadline = time.monotonic() + timeout
        while self.attrs()[3] & (termios.ECHO | termios.ICANON):
            if self.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"terminal never went raw; output: {bytes(self.output)!r}")
            self._pump(0.01)

    # --- process ---

    def poll(self) -> Optional[int]:
        if self.status is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
        return self.status

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"timed out waiting for exit; output: {bytes(self.output)!r}")
            self._pump(0.05)
        while self._pump(0):  # what is left
            if not select.select([self.master], [], [], 0)[0]:
                break
        assert self.status is not None
        return self.status

    def kill(self) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.status = -9

    def close(self) -> None:
        self.kill()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def child_pids(pid: int) -> List[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


STATUS_RE = re.compile(rb"::: asciinema session ended")
