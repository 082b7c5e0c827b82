"""The terminal a recording session runs on (rec, stream, session): the user's own, or none.

:class:`SessionTerminal` says where the program's output is shown, where keys are read from
and what size the session has; ``--window-size`` overrides apply here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from asciinema.ttyctl import DEFAULT_SIZE, get_attrs, get_size, make_raw, set_attrs

if TYPE_CHECKING:
    from asciinema.asciicast import Theme

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
        self._saved_attrs: Optional[List[Any]] = None

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
        owned = (out,) if direct is None or direct == out else (out, direct)
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
