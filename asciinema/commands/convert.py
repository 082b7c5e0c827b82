"""``asciinema convert INPUT OUTPUT``: read any asciicast version, write any output format."""

from __future__ import annotations

import argparse
import gc
from typing import TYPE_CHECKING, List, Optional

from asciinema import progress
from asciinema.asciicast import open_recording
from asciinema.encoders import flusher, format_for_path, get_encoder, text_writer
from asciinema.errors import STDOUT, LoadError
from asciinema.atomic_file import AtomicOutput
from asciinema.conversion_output import open_sink
from asciinema.cast_input import display_name, open_input
from asciinema import redact

if TYPE_CHECKING:
    from asciinema.capture import Filter
    from asciinema.redact import Patterns


def run(args: argparse.Namespace) -> int:
    # Decoding makes many short-lived lists and no reference cycles; the cyclic collector
    # would only rescan them (about a fifth of the run time on big files).
    gc.disable()
    fmt = args.output_format or format_for_path(args.output, case_sensitive=False) or "asciicast-v3"
    if not args.output_format and args.output.lower().endswith((".html", ".htm")):
        fmt = "html"  # only convert writes pages: rec keeps writing asciicast whatever the name
    patterns: Optional[Patterns] = None
    filters: List[Filter] = []
    if args.redact or args.redact_preset or args.strip_osc:

        patterns = redact.Patterns(args.redact or (), args.redact_preset or ())  # bad ones fail before any I/O
        filters = redact.make_filters(patterns, args.strip_osc)
    name = display_name(args.input)
    stream, size = open_input(args.input)
    try:
        with stream:
            recording = open_recording(stream, name)
            encoder = get_encoder(fmt)
            if progress.wanted():
                recording.set_batches(progress.track(recording.batches, stream, size, f"converting {name}"))
            if filters:
                from asciinema.asciicast.transform import filter_batches

                recording.set_batches(filter_batches(recording.batches, filters))
            if patterns:
                recording.header = redact.redact_header(recording.header, patterns)
            with AtomicOutput(args.output, overwrite=args.overwrite) as out:
                shown = STDOUT if args.output == "-" else args.output
                write, flush = text_writer(out, shown), flusher(out, shown)
                write(encoder.header(recording.header))
                with open_sink(encoder, write, flush, size) as sink:
                    sink.recording(recording)
    except OSError as e:  # writes raise OutputError, so this is the input failing
        raise LoadError(f"can't read {name}: {e.strerror or e}") from None
    return 0


