"""The user's terminal: opening ``/dev/tty``, raw mode that is always undone, window size.

Imports ``termios`` lazily: ``play`` must keep working where it does not exist (Windows).
Raw mode is restored with TCSADRAIN, never TCSAFLUSH, which throws away typed-ahead input
and has hung on some platforms (termux/termux-packages#3223).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Deque, Iterator, List, Mapping, Optional, Tuple

if TYPE_CHECKING:
    from asciinema.asciicast import Theme

DEFAULT_SIZE = (80, 24)


def open_tty() -> Optional[int]:
    """A read-write fd on the controlling terminal, or None when there is none."""
    try:
        return os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None


def get_size(fd: int) -> Optional[Tuple[int, int]]:
    """(cols, rows) of the terminal on ``fd``; None if it is not a terminal or reports 0x0."""
    try:
        size = os.get_terminal_size(fd)
    except (OSError, ValueError):
        return None
    if size.columns <= 0 or size.lines <= 0:
        return None  # script(1) without a real terminal reports 0x0
    return size.columns, size.lines


def set_size(fd: int, cols: int, rows: int) -> None:
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def get_attrs(fd: int) -> Optional[List[object]]:
    """The termios attributes of ``fd`` (for restoring), or None if it is not a terminal."""
    try:
        import termios

        return termios.tcgetattr(fd)
    except (ImportError, OSError):
        return None


def set_attrs(fd: int, attrs: List[object]) -> None:
    import termios

    try:
        termios.tcsetattr(fd, termios.TCSADRAIN, attrs)
    except OSError:
        pass


def make_raw(fd: int) -> None:
    """cfmakeraw(3) on ``fd``: no echo, no line editing, no signals, 8-bit, reads of >= 1 byte."""
    import termios

    attrs = termios.tcgetattr(fd)
    iflag, oflag, cflag, lflag = attrs[0], attrs[1], attrs[2], attrs[3]
    iflag &= ~(
        termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
        | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON
    )
    oflag &= ~termios.OPOST
    lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    cflag &= ~(termios.CSIZE | termios.PARENB)
    cflag |= termios.CS8
    attrs[0], attrs[1], attrs[2], attrs[3] = iflag, oflag, cflag, lflag
    attrs[6][termios.VMIN] = 1
    attrs[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSADRAIN, attrs)


@contextmanager
def raw_mode(fd: Optional[int]) -> Iterator[None]:
    """Put ``fd`` in raw mode for the block and restore it however the block ends.

    Does nothing for None or a non-terminal fd.
    """
    saved = get_attrs(fd) if fd is not None else None
    if saved is None or fd is None:
        yield
        return
    try:
        make_raw(fd)
        yield
    finally:
        set_attrs(fd, saved)


# --- The terminal a recording session runs on (rec, stream, session) ---------------------

WindowSize = Tuple[Optional[int], Optional[int]]


def apply_override(size: Tuple[int, int], override: Optional[WindowSize]) -> Tuple[int, int]:
    """``size`` with the cols and/or rows of ``--window-size`` forced."""
    if override is None:
        return size
    cols, rows = override
    return (cols if cols else size[0], rows if rows else size[1])


def open_nonblocking_writer(fd: int) -> Optional[int]:
    """A second, non-blocking fd writing where ``fd`` writes, or None.

    Pipes and terminals are reopened through ``/proc/self/fd`` so that O_NONBLOCK is set on
    a file description of our own, never on one shared with the parent shell. Regular files
    are returned as they are (writing to them does not wait for a reader).
    """
    import stat

    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return fd
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        try:
            return os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError:
            pass
    return None


class SessionTerminal:
    """Where a session shows the program and reads keys from.

    ``out_fd`` receives the program's output in blocking writes from a
    :class:`TerminalWriter` thread; ``direct_fd``, when there is one, is a non-blocking fd to
    the same place for writes that fit at once. Both are None to discard output. ``in_fd``
    is the user's terminal when keys are read from it (raw mode while the session runs).
    ``tty`` is True for a real terminal, whose size changes are followed.
    """

    def __init__(
        self,
        out_fd: Optional[int],
        direct_fd: Optional[int],
        in_fd: Optional[int],
        size_fd: Optional[int],
        term_type: Optional[str],
        override: Optional[WindowSize] = None,
        owned: Tuple[int, ...] = (),
    ) -> None:
        self.out_fd = out_fd
        self.direct_fd = direct_fd
        self.in_fd = in_fd
        self.size_fd = size_fd
        self.term_type = term_type
        self.override = override
        self.tty = size_fd is not None
        self.term_version: Optional[str] = None  #: from :func:`probe`
        self.theme: "Optional[Theme]" = None  #: from :func:`probe`
        self._owned = owned
        self._saved_attrs: Optional[List[object]] = None

    @classmethod
    def host(cls, tty: int, term_type: Optional[str], read_keys: bool,
             override: Optional[WindowSize] = None) -> "SessionTerminal":
        """The user's terminal ``/dev/tty`` (an fd of ours); keys read from it if ``read_keys``."""
        os.set_blocking(tty, False)  # our own open of /dev/tty: no one else sees the flag
        try:
            out = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError:
            out = os.dup(tty)  # shares O_NONBLOCK; TerminalWriter waits for room then
        return cls(out, tty, tty if read_keys else None, tty, term_type, override, owned=(tty, out))

    @classmethod
    def headless(cls, out_fd: Optional[int], override: Optional[WindowSize] = None) -> "SessionTerminal":
        """No terminal: output goes to ``out_fd`` (or nowhere), the size is 80x24 or forced."""
        if out_fd is None:
            return cls(None, None, None, None, None, override)
        out = os.dup(out_fd)
        direct = open_nonblocking_writer(out)
        owned = (out,) if direct in (None, out) else (out, direct)
        return cls(out, direct, None, None, None, override, owned=owned)

    def size(self) -> Tuple[int, int]:
        size = get_size(self.size_fd) if self.size_fd is not None else None
        return apply_override(size or DEFAULT_SIZE, self.override)

    def enter(self) -> None:
        """Raw mode on the key-reading terminal (a no-op without one)."""
        if self.in_fd is not None and self._saved_attrs is None:
            attrs = get_attrs(self.in_fd)
            if attrs is not None:
                self._saved_attrs = attrs
                make_raw(self.in_fd)

    def restore(self) -> None:
        """Undo :meth:`enter`; safe to call twice."""
        if self._saved_attrs is not None and self.in_fd is not None:
            set_attrs(self.in_fd, self._saved_attrs)
            self._saved_attrs = None

    def close(self) -> None:
        self.restore()
        for fd in self._owned:
            try:
                os.close(fd)
            except OSError:
                pass
        self._owned = ()


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


# --- Terminal probing: version (XTVERSION) and colours (OSC 10/11/4), §3.2 ---------------

#: XTVERSION, foreground, background and the 16 palette colours, then primary DA, which
#: every terminal answers and so marks the end of the replies.
PROBE_QUERY = (
    b"\x1b[>0q\x1b]10;?\x07\x1b]11;?\x07"
    + b"".join(b"\x1b]4;%d;?\x07" % i for i in range(16))
    + b"\x1b[c"
)
#: seconds without any reply before giving up
PROBE_TIMEOUT = 1.0

_DA_RE = None  # compiled lazily: most commands never probe


def _probe_res():  # type: ignore[no-untyped-def]
    global _DA_RE
    import re

    if _DA_RE is None:
        _DA_RE = (
            re.compile(rb"\x1b\[\?[0-9;]*c"),
            re.compile(rb"\x1b\](\d+);([^\x07\x1b]*)(?:\x07|\x1b\\)"),
            re.compile(rb"\x1bP>\|([^\x1b]*)\x1b\\"),
            re.compile(r"rgb:([0-9a-fA-F]{2,4})/([0-9a-fA-F]{2,4})/([0-9a-fA-F]{2,4})\Z"),
        )
    return _DA_RE


def parse_color(spec: str) -> Optional[str]:
    """``rgb:R/G/B`` (2-4 hex digits each; the first two count) to ``#rrggbb``."""
    m = _probe_res()[3].match(spec)
    if m is None:
        return None
    return "#" + "".join(c[:2].lower() for c in m.groups())


class ProbeReplies:
    """Pure parser of the replies to :data:`PROBE_QUERY`, in any order and any chunking.

    Everything that is not a reply (typed-ahead keys, unknown sequences) is skipped.
    """

    def __init__(self) -> None:
        self.buffer = b""
        self.done = False  #: the primary DA reply arrived
        self.version: Optional[str] = None
        self.fg: Optional[str] = None
        self.bg: Optional[str] = None
        self.palette: dict = {}

    def feed(self, data: bytes) -> None:
        da, osc, dcs, _ = _probe_res()
        self.buffer += data
        if da.search(self.buffer):
            self.done = True
        for m in dcs.finditer(self.buffer):
            self.version = m.group(1).decode("utf-8", "replace")
        for m in osc.finditer(self.buffer):
            code, body = m.group(1), m.group(2).decode("latin-1")
            if code == b"10":
                self.fg = parse_color(body) or self.fg
            elif code == b"11":
                self.bg = parse_color(body) or self.bg
            elif code == b"4":
                parts = body.split(";")
                for i in range(0, len(parts) - 1, 2):
                    color = parse_color(parts[i + 1])
                    if parts[i].isdigit() and int(parts[i]) < 16 and color:
                        self.palette[int(parts[i])] = color

    def theme(self) -> "Optional[Theme]":
        """The theme when fg, bg and all 16 palette colours were received, else None."""
        from asciinema.asciicast import Theme

        if self.fg is None or self.bg is None or len(self.palette) < 16:
            return None
        return Theme(self.fg, self.bg, tuple(self.palette[i] for i in range(16)))


def should_probe(env: "Mapping[str, str]") -> bool:
    """No probing on terminals that can't answer (``dumb``, the Linux console) or in GNU screen."""
    return env.get("TERM") not in ("dumb", "linux") and not env.get("STY")


def probe(fd: int, timeout: float = PROBE_TIMEOUT) -> ProbeReplies:
    """Ask the terminal on ``fd`` for its version and colours (raw mode meanwhile).

    Stops at the primary DA reply, or when ``timeout`` seconds pass with nothing read;
    never waits longer than ``4 * timeout`` in all.
    """
    import select
    import time

    replies = ProbeReplies()
    with raw_mode(fd):
        try:
            os.write(fd, PROBE_QUERY)
        except OSError:
            return replies
        now = time.monotonic()
        quiet_until, give_up = now + timeout, now + 4 * timeout
        while not replies.done:
            now = time.monotonic()
            left = min(quiet_until, give_up) - now
            if left <= 0:
                break
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                continue
            except OSError:
                break
            if not data:
                break
            replies.feed(data)
            quiet_until = time.monotonic() + timeout
    return replies
