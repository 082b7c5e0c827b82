"""raw: the terminal output bytes alone, after a resize sequence giving the initial size."""

from __future__ import annotations

from itertools import compress
from typing import Iterable, Iterator, List, Sequence

from asciinema.asciicast import OUTPUT, Event, Header


class RawEncoder:
    #: Joining a batch's output costs less than handing the batch to another process
    #: (see asciinema/conversion_output.py), so raw is always written by the decoding one.
    parallel = False

    def header(self, header: Header) -> str:
        # XTWINOPS "resize to rows;cols", so `cat file.raw` in a terminal sets the size.
        return f"\x1b[8;{header.rows};{header.cols}t"

    def event(self, event: Event) -> str:
        return event[2] if event[1] == OUTPUT else ""

    def encode(self, events: Iterable[Event]) -> Iterator[str]:
        buf: List[str] = []
        size = 0
        for _, code, data in events:
            if code == OUTPUT:
                buf.append(data)
                size += len(data)
                if size >= 1 << 16:
                    yield "".join(buf)
                    buf.clear()
                    size = 0
        if buf:
            yield "".join(buf)

    def encode_columns(self, times: Sequence[int], codes: Sequence[str], datas: Sequence[str]) -> str:
        """The output of one batch of events given as columns, in one C-level join."""
        if codes.count(OUTPUT) == len(codes):
            return "".join(datas)
        return "".join(compress(datas, map(OUTPUT.__eq__, codes)))

    def finish(self) -> str:
        return ""
