"""The user's terminal: opening ``/dev/tty``, raw mode that is always undone, window size.

Imports ``termios`` lazily: ``play`` must keep working where it does not exist (Windows).
Raw mode is restored with TCSADRAIN, never TCSAFLUSH, which throws away typed-ahead input
and has hung on some platforms (termux/termux-packages#3223).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator, List, Optional, Tuple

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


def open_nonblocking_writer(fd: int) -> Tuple[int, bool]:
    """An fd writing where ``fd`` writes, in non-blocking mode: ``(new fd, owned)``.

    Pipes and terminals are reopened through ``/proc/self/fd`` so that O_NONBLOCK is set on a
    file description of our own, not on one shared with the parent shell. Regular files are
    used as they are (writing to them does not wait on a reader). Otherwise O_NONBLOCK is set
    on ``fd`` itself; :func:`restore_blocking` undoes it.
    """
    import stat

    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode):
        return fd, False
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        try:
            new = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
            return new, True
        except OSError:
            pass
    os.set_blocking(fd, False)
    return fd, False


class SessionTerminal:
    """Where a session shows the program and reads keys from.

    ``out_fd`` receives the program's output (non-blocking) or is None to discard it;
    ``in_fd`` is the user's terminal when keys are read from it (raw mode while the session
    runs). ``tty`` is True for a real terminal, whose size changes are followed.
    """

    def __init__(
        self,
        out_fd: Optional[int],
        in_fd: Optional[int],
        size_fd: Optional[int],
        term_type: Optional[str],
        override: Optional[WindowSize] = None,
        owned: Tuple[int, ...] = (),
    ) -> None:
        self.out_fd = out_fd
        self.in_fd = in_fd
        self.size_fd = size_fd
        self.term_type = term_type
        self.override = override
        self.tty = size_fd is not None
        self._owned = owned
        self._saved_attrs: Optional[List[object]] = None
        self._blocking_restore: List[int] = []

    @classmethod
    def host(cls, tty: int, term_type: Optional[str], read_keys: bool,
             override: Optional[WindowSize] = None) -> "SessionTerminal":
        """The user's terminal ``/dev/tty`` (an fd of ours); keys read from it if ``read_keys``."""
        os.set_blocking(tty, False)
        return cls(tty, tty if read_keys else None, tty, term_type, override, owned=(tty,))

    @classmethod
    def headless(cls, out_fd: Optional[int], override: Optional[WindowSize] = None) -> "SessionTerminal":
        """No terminal: output goes to ``out_fd`` (or nowhere), the size is 80x24 or forced."""
        owned: Tuple[int, ...] = ()
        if out_fd is not None:
            new, mine = open_nonblocking_writer(out_fd)
            if mine:
                owned = (new,)
            out_fd = new
            terminal = cls(out_fd, None, None, None, override, owned=owned)
            if not mine and not _is_regular(new):
                terminal._blocking_restore.append(new)
            return terminal
        return cls(None, None, None, None, override)

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
        """Undo :meth:`enter` and any O_NONBLOCK set on a shared fd; safe to call twice."""
        if self._saved_attrs is not None and self.in_fd is not None:
            set_attrs(self.in_fd, self._saved_attrs)
            self._saved_attrs = None
        for fd in self._blocking_restore:
            try:
                os.set_blocking(fd, True)
            except OSError:
                pass
        self._blocking_restore = []

    def close(self) -> None:
        self.restore()
        for fd in self._owned:
            try:
                os.close(fd)
            except OSError:
                pass
        self._owned = ()


def _is_regular(fd: int) -> bool:
    import stat

    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False
