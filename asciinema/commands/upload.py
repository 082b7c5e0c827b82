"""``asciinema upload FILE``: send a recording to an asciinema server.

The file is checked whole first, so a broken recording is refused (naming its line) before
any request. The request body is read from disk as it is sent: a file of any size is
uploaded in a few hundred kilobytes of memory.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import BinaryIO, List, Optional

from asciinema import api, progress
from asciinema.errors import STDOUT, LoadError, NetworkError, write_failed


def run(args: argparse.Namespace) -> int:
    from asciinema.config import load
    from asciinema.server_url import access

    path: str = args.file
    env = dict(os.environ)
    config = load(env)
    check(path)
    server_url, install_id, user = access(env, args.server_url, config)
    url = api.endpoint(server_url, api.RECORDINGS_PATH)
    answer = _post(path, url, install_id, user)
    try:
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()
    except OSError as e:
        raise write_failed(STDOUT, e) from None
    return 0


def check(path: str) -> None:
    """Read the whole recording; raises LoadError (FormatError naming the line) if broken."""
    import gc

    from asciinema.asciicast import open_recording

    f = _open(path)
    # decoding makes many short-lived lists and no reference cycles
    gc.disable()
    try:
        with f:
            size = _size(f, path)
            recording = open_recording(f, path)
            recording.warn = _ignore  # repairs are for playing it; the server gets the bytes as they are
            batches = recording.batches
            if progress.wanted():
                batches = progress.track(batches, f, size, f"checking {path}")
            for _ in batches:
                pass
    except OSError as e:
        raise LoadError(f"can't read {path}: {e.strerror or e}") from None
    finally:
        gc.enable()


def _ignore(message: str) -> None:
    pass


def _open(path: str) -> BinaryIO:
    try:
        f = open(path, "rb")
    except OSError as e:
        raise LoadError(f"can't open {path}: {e.strerror or e}") from None
    import stat

    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        raise LoadError(f"can't upload {path}: not a regular file")
    return f


def _size(f: BinaryIO, path: str) -> int:
    try:
        return os.fstat(f.fileno()).st_size
    except OSError as e:
        raise LoadError(f"can't read {path}: {e.strerror or e}") from None


def _post(path: str, url: str, install_id: str, user: str) -> str:
    import uuid

    from asciinema import http_client

    boundary = f"asciinema-{uuid.uuid4().hex}"
    head, tail = api.multipart_frame(os.path.basename(path), boundary)
    headers = api.headers(user, install_id, http_client.user_agent())
    headers["Content-Type"] = api.multipart_content_type(boundary)
    f = _open(path)
    with f:
        size = _size(f, path)
        meter = progress.Meter(f"uploading {path}", size) if progress.wanted() else None
        body = FileBody(head, f, size, tail, path, meter)
        try:
            response = http_client.request("POST", url, headers, body, body.length)
        except NetworkError as e:
            raise NetworkError(f"upload failed: {e}") from None
        finally:
            if meter is not None:
                meter.finish(body.sent)
    return api.upload_result(response.status, response.body, url, size)


class FileBody:
    """A request body read on demand: ``head``, ``size`` bytes of ``f``, ``tail``."""

    def __init__(self, head: bytes, f: BinaryIO, size: int, tail: bytes, name: str,
                 meter: Optional[progress.Meter] = None) -> None:
        self._head, self._f, self._size, self._tail, self._name = head, f, size, tail, name
        self._meter = meter
        self.length = len(head) + size + len(tail)
        self._pos = 0
        self._aborted = False

    @property
    def sent(self) -> int:
        """Bytes of the file read so far."""
        return min(max(self._pos - len(self._head), 0), self._size)

    def abort(self) -> None:
        """The server stopped reading: end the body here."""
        self._aborted = True

    def read(self, n: int = -1) -> bytes:
        if self._aborted:
            return b""
        left = self.length - self._pos
        n = left if n is None or n < 0 else min(n, left)
        chunks: List[bytes] = []
        head_end = len(self._head)
        file_end = head_end + self._size
        while n > 0:
            pos = self._pos
            if pos < head_end:
                chunk = self._head[pos:pos + n]
            elif pos < file_end:
                chunk = self._f.read(min(n, file_end - pos))
                if not chunk:
                    raise LoadError(f"can't upload {self._name}: the file got shorter while it was sent")
            else:
                chunk = self._tail[pos - file_end:pos - file_end + n]
            chunks.append(chunk)
            self._pos += len(chunk)
            n -= len(chunk)
        if self._meter is not None:
            self._meter.update(self.sent)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
