"""``asciinema cat FILE...``: join recordings into one, written to stdout.

The output has the version of the first file (v2 stays v2, v3 stays v3, a v1 first file
gives v3). Each recording starts where the previous ended; a resize event is inserted where
the terminal size changes between files; markers and exit events are kept.
"""

from __future__ import annotations

import argparse
import gc
import sys
from contextlib import ExitStack
from typing import List, Optional, Tuple

from asciinema.asciicast import RESIZE, Recording, make_event, open_recording
from asciinema.encoders import flusher, get_encoder, text_writer
from asciinema.errors import STDOUT, LoadError
from asciinema.conversion_output import open_sink
from asciinema.cast_input import display_name, open_input


def run(args: argparse.Namespace) -> int:
    # Decoding makes many short-lived lists and no reference cycles; the cyclic collector
    # would only rescan them (about a fifth of the run time on big files).
    gc.disable()
    if len(args.files) < 2:
        from asciinema.errors import UsageError

        raise UsageError("cat needs at least two recordings")
    with ExitStack() as inputs:
        opened: List[Tuple[str, Recording]] = []
        sizes: List[Optional[int]] = []
        for arg in args.files:
            name = display_name(arg)
            stream, size = open_input(arg)
            inputs.enter_context(stream)
            opened.append((name, open_recording(stream, name)))
            sizes.append(size)
        _join(opened, sizes)
    return 0


def _join(opened: List[Tuple[str, Recording]], sizes: List[Optional[int]]) -> None:
    first = opened[0][1]
    fmt = "asciicast-v2" if first.version == 2 else "asciicast-v3"
    encoder = get_encoder(fmt)
    out = sys.stdout.buffer
    write, flush = text_writer(out, STDOUT), flusher(out, STDOUT)
    write(encoder.header(first.header))
    known = [n for n in sizes if n is not None]
    total = sum(known) if len(known) == len(sizes) else None
    with open_sink(encoder, write, flush, total) as sink:
        offset = 0  # where the joined recording stands: the time of its last event (µs)
        size = (first.header.cols, first.header.rows)
        for index, (name, recording) in enumerate(opened):
            header_size = (recording.header.cols, recording.header.rows)
            if index > 0 and header_size != size:
                sink.set_time_offset(0)
                sink.event(make_event(offset, RESIZE, f"{header_size[0]}x{header_size[1]}"))
            sink.set_time_offset(offset)
            try:
                sink.recording(recording)
            except OSError as e:
                raise LoadError(f"can't read {name}: {e.strerror or e}") from None
            offset += recording.last_time
            size = recording.last_size or header_size
    flush()
