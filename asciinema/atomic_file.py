"""Whole-file outputs that appear only when complete.

:class:`AtomicOutput` writes to a temporary file beside the target and renames it into place
on success, so an error half-way leaves no partial file behind and an overwritten file stays
intact until the new one is whole. Targets that are not regular files (``-``, ``/dev/stdout``,
a FIFO, a terminal) are written directly.

The rename would replace what it lands on whatever that is, so the target is first taken
as ``rec`` takes it: a symlink is followed (the file it points to is replaced, the link
stays), and an existing file that could not be opened for writing is refused. SIGTERM and
SIGHUP while the temporary file exists remove it on the way out, as ctrl+C does.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from types import TracebackType
from typing import BinaryIO, Optional, Type

from asciinema.errors import STDOUT, OutputError, Terminated, write_failed
from asciinema.signal_guard import SignalGuard, Signalled

class AtomicOutput:
    def __init__(self, path: str, *, overwrite: bool) -> None:
        self.path = path
        self.overwrite = overwrite
        self.stream: Optional[BinaryIO] = None
        self._tmp: Optional[str] = None
        self._target = path  #: where the temporary file is renamed to: the end of any symlinks
        # SIGTERM and SIGHUP would end the process at once, leaving the temporary file
        # behind; while it exists they raise instead, so that the clean-up runs
        self._signals = SignalGuard(("SIGTERM", "SIGHUP"), keep_ignored=True)

    def __enter__(self) -> BinaryIO:
        path = self.path
        if path == "-":
            self.stream = sys.stdout.buffer
            return self.stream
        try:
            st: Optional[os.stat_result] = os.stat(path)
        except FileNotFoundError:
            st = None
        except OSError as e:
            raise OutputError(f"can't write {path}: {e.strerror}") from None
        if st is not None and not stat.S_ISREG(st.st_mode):
            if stat.S_ISDIR(st.st_mode):
                raise OutputError(f"can't write {path}: Is a directory")
            try:
                self.stream = open(path, "wb")
            except OSError as e:
                raise OutputError(f"can't write {path}: {e.strerror}") from None
            return self.stream
        if st is not None and st.st_size > 0 and not self.overwrite:
            raise OutputError(f"{path}: file exists, use --overwrite option to overwrite the file")
        self._target = os.path.realpath(path)
        if st is not None:
            _check_writable(self._target, path)
        directory = os.path.dirname(self._target)
        self._signals.install()
        try:
            fd, self._tmp = tempfile.mkstemp(prefix=".asciinema-", suffix=".tmp", dir=directory)
            if st is not None:
                os.chmod(self._tmp, stat.S_IMODE(st.st_mode))
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(self._tmp, 0o666 & ~umask)
            self.stream = os.fdopen(fd, "wb")
        except BaseException as e:
            self._signals.armed = False
            self._remove_tmp()
            self._signals.restore()
            if isinstance(e, OSError):
                raise OutputError(f"can't write {path}: {e.strerror}") from None
            if isinstance(e, Signalled):
                raise Terminated(e.signum) from None
            raise
        return self.stream

    def _shown(self) -> str:
        return STDOUT if self.path == "-" else self.path

    def __exit__(
        self, kind: Optional[Type[BaseException]], value: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        stream = self.stream
        if stream is None:
            return
        if self._tmp is None:
            try:
                if stream is not sys.stdout.buffer:
                    stream.close()
                elif kind is None:
                    stream.flush()
            except OSError as e:
                if kind is None:
                    raise write_failed(self._shown(), e) from None
            return
        self._signals.armed = False  # from here on signals are only noted: the clean-up must finish
        try:
            if kind is None:
                stream.close()
                os.replace(self._tmp, self._target)
                self._tmp = None
        except OSError as e:
            raise write_failed(self._shown(), e) from None
        finally:
            if self._tmp is not None:
                try:
                    stream.close()
                except OSError:
                    pass
                self._remove_tmp()
            self._signals.restore()
            if self._signals.received is not None:
                raise Terminated(self._signals.received) from None

    def _remove_tmp(self) -> None:
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass
            self._tmp = None


def _check_writable(target: str, shown: str) -> None:
    """Refuse a file that ``rec`` could not open for writing either (the rename would replace it).

    Opening it tells, with the system's own rules: permission bits, ACLs, a read-only
    mount, and root's right to write anything.
    """
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as e:
        raise OutputError(f"can't write {shown}: {e.strerror}") from None
    os.close(fd)
