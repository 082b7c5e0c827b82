"""The user's terminal device: opening ``/dev/tty``, window size, and raw mode that is always undone.

Imports ``termios`` lazily: ``play`` must keep working where it does not exist (Windows).
Raw mode is restored with TCSADRAIN, never TCSAFLUSH, which throws away typed-ahead input
and has hung on some platforms (termux/termux-packages#3223).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator, List, Optional, Tuple

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


def get_attrs(fd: int) -> Optional[List[Any]]:
    """The termios attributes of ``fd`` (for restoring), or None if it is not a terminal."""
    try:
        import termios

        return termios.tcgetattr(fd)
    except (ImportError, OSError):
        return None


def set_attrs(fd: int, attrs: List[Any]) -> None:
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
