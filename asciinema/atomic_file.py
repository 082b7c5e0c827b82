"""Whole-file outputs that appear only when complete.

:class:`AtomicOutput` writes to a temporary file beside the target and renames it into place
on success, so an error half-way leaves no partial file behind and an overwritten file stays
intact until the new one is whole. Targets that are not regular files (``-``, ``/dev/stdout``,
a FIFO, a terminal) are written directly.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from types import TracebackType
from typing import BinaryIO, Optional, Type

from asciinema.errors import STDOUT, OutputError, write_failed


class AtomicOutput:
    def __init__(self, path: str, *, overwrite: bool) -> None:
        self.path = path
        self.overwrite = overwrite
        self.stream: Optional[BinaryIO] = None
        self._tmp: Optional[str] = None

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
        directory = os.path.dirname(os.path.abspath(path))
        try:
            fd, self._tmp = tempfile.mkstemp(prefix=".asciinema-", suffix=".tmp", dir=directory)
        except OSError as e:
            raise OutputError(f"can't write {path}: {e.strerror}") from None
        if st is not None:
            os.chmod(self._tmp, stat.S_IMODE(st.st_mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self._tmp, 0o666 & ~umask)
        self.stream = os.fdopen(fd, "wb")
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
        try:
            if kind is None:
                stream.close()
                os.replace(self._tmp, self.path)
                self._tmp = None
        except OSError as e:
            raise write_failed(self._shown(), e) from None
        finally:
            if self._tmp is not None:
                try:
                    stream.close()
                except OSError:
                    pass
                os.unlink(self._tmp)
