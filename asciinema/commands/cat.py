"""``asciinema cat FILE...``: join recordings into one, written to stdout.

The output has the version of the first file (v2 stays v2, v3 stays v3, a v1 first file
gives v3). Each recording starts where the previous ended; a resize event is inserted where
the terminal size changes between files; markers and exit events are kept.
"""

from __future__ import annotations

import argparse
import sys
from typing import Iterator, List, Tuple

from asciinema.asciicast import RESIZE, Event, Recording, make_event, open_recording, parse_size
from asciinema.commands.convert import _writer
from asciinema.encoders import Encoder, get_encoder
from asciinema.errors import LoadError
from asciinema.source import display_name, open_input


class _Cursor:
    """Where the joined recording stands: time of the last event and the terminal size."""

    def __init__(self, cols: int, rows: int) -> None:
        self.time = 0
        self.size = (cols, rows)


def _shifted(events: Iterator[Event], offset: int, cursor: _Cursor) -> Iterator[Event]:
    last = offset
    try:
        for t, code, data in events:
            last = t + offset
            if code == RESIZE:
                cursor.size = parse_size(data)
            yield make_event(last, code, data)
    finally:
        cursor.time = last


def run(args: argparse.Namespace) -> int:
    if len(args.files) < 2:
        from asciinema.errors import UsageError

        raise UsageError("cat needs at least two recordings")
    opened: List[Tuple[str, Recording]] = []
    for arg in args.files:
        name = display_name(arg)
        stream, _ = open_input(arg)
        opened.append((name, open_recording(stream, name)))
    first = opened[0][1]
    encoder: Encoder = get_encoder("asciicast-v2" if first.version == 2 else "asciicast-v3")
    out = sys.stdout.buffer
    write = _writer(out, "-")
    write(encoder.header(first.header))
    cursor = _Cursor(first.header.cols, first.header.rows)
    for index, (name, recording) in enumerate(opened):
        size = (recording.header.cols, recording.header.rows)
        if index > 0 and size != cursor.size:
            write(encoder.event(make_event(cursor.time, RESIZE, f"{size[0]}x{size[1]}")))
            cursor.size = size
        try:
            for chunk in encoder.encode(_shifted(recording.events, cursor.time, cursor)):
                write(chunk)
        except OSError as e:
            raise LoadError(f"can't read {name}: {e.strerror or e}") from None
    try:
        out.flush()
    except OSError as e:
        raise LoadError(f"can't write <stdout>: {e.strerror or e}") from None
    return 0
