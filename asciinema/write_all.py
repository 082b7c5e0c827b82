"""Writing whole buffers to a file descriptor, through partial writes and EAGAIN.

``os.write`` may take only part of a buffer (a pipe or terminal with little room, a signal
arriving), and on a non-blocking fd it may take nothing at all. These loops go on until
everything is written, waiting for room on a non-blocking fd, and raise the OSError of a
write that fails.
"""

from __future__ import annotations

import os
from typing import List, Union

Buffer = Union[bytes, bytearray, memoryview]

#: seconds per wait for room on a non-blocking fd (then the write is tried again)
_ROOM_WAIT = 1.0


def write_all(fd: int, data: Buffer) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            wait_writable(fd)
            continue
        view = view[n:]


def writev_all(fd: int, parts: List[Buffer]) -> int:
    """Write ``parts`` whole with gathering writes (no copy to join them); their total size.

    ``parts`` is consumed: what has gone out is removed from it.
    """
    size = left = sum(map(len, parts))
    while left:
        try:
            n = os.writev(fd, parts)
        except BlockingIOError:
            wait_writable(fd)
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


def wait_writable(fd: int) -> None:
    import select

    select.select([], [fd], [], _ROOM_WAIT)
