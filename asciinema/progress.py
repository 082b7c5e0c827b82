"""Progress of long conversions and uploads on stderr, only when stderr is a terminal.

A pass-through generator over events (it looks at the clock every few thousand events), or
a meter fed byte counts; either redraws one status line, and never prints for short jobs or
into pipes and logs.
"""

from __future__ import annotations

import sys
import time
from typing import BinaryIO, Iterable, Iterator, Optional, TypeVar

from asciinema import status

T = TypeVar("T")

_CHECK_EVERY = 4  #: items (batches of events) between looks at the clock
_FIRST_AFTER = 1.0  #: seconds before the first line appears
_REDRAW_EVERY = 0.25

#: whether a progress line stands unfinished on stderr (the cursor at its end)
_line_open = False


def wanted() -> bool:
    return not status.is_quiet() and sys.stderr.isatty()


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def track(items: Iterable[T], stream: BinaryIO, size: Optional[int], label: str) -> Iterator[T]:
    """Yield ``items`` unchanged, drawing ``label: 42% (x MB / y MB)`` as ``stream`` is read."""
    start = time.monotonic()
    next_draw = start + _FIRST_AFTER
    drawn = False
    n = 0
    for item in items:
        yield item
        n += 1
        if n % _CHECK_EVERY == 0:
            now = time.monotonic()
            if now >= next_draw:
                next_draw = now + _REDRAW_EVERY
                drawn = True
                _draw(label, stream, size)
    if drawn:
        _draw(label, stream, size, done=True)


class Meter:
    """Progress of a job that counts bytes itself (an upload): :meth:`update` with the bytes
    done so far as often as it likes; the line is redrawn a few times a second at most."""

    def __init__(self, label: str, size: Optional[int]) -> None:
        self.label = label
        self.size = size
        self._next_draw = time.monotonic() + _FIRST_AFTER
        self._drawn = False

    def update(self, pos: int) -> None:
        now = time.monotonic()
        if now >= self._next_draw:
            self._next_draw = now + _REDRAW_EVERY
            self._drawn = True
            _draw_line(self.label, pos, self.size)

    def finish(self, pos: int) -> None:
        """Draw the last line (when any was drawn) and end it."""
        if self._drawn:
            self._drawn = False
            _draw_line(self.label, pos, self.size, done=True)


def _draw(label: str, stream: BinaryIO, size: Optional[int], done: bool = False) -> None:
    try:
        pos: Optional[int] = size if done and size else stream.tell()
    except (OSError, ValueError):
        pos = None
    _draw_line(label, pos, size, done)


def _draw_line(label: str, pos: Optional[int], size: Optional[int], done: bool = False) -> None:
    if pos is not None and size:
        text = f"{label}: {min(100, pos * 100 // size)}% ({_mb(pos)} / {_mb(size)})"
    elif pos is not None:
        text = f"{label}: {_mb(pos)}"
    else:
        text = f"{label}..."
    global _line_open
    sys.stderr.write("\r\x1b[K" + text + ("\n" if done else ""))
    sys.stderr.flush()
    _line_open = not done


def clear() -> None:
    """Erase an unfinished progress line, so that a message can take its place."""
    global _line_open
    if _line_open:
        _line_open = False
        try:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
