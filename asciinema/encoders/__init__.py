"""Output formats: an encoder per format, chosen by name or by the output file's extension.

An encoder turns a header and events into text and does no I/O:

* ``header(header) -> str``: what starts a new file (nothing for txt);
* ``event(event) -> str``: one event, for live recording;
* ``encode(events) -> Iterator[str]``: many events in chunks, for conversions;
* ``finish() -> str``: what is left at the end (txt keeps the screen until then).

Conversions use, where an encoder has them, ``encode_columns(times, codes, datas) -> str``
for a batch given as columns, and ``encode_columns_utf8`` for the same as UTF-8 bytes
(asciicast makes them cheaper than text would be encoded). The caller writes what it gets;
:func:`text_writer` is the one place that turns text into bytes.
"""

from __future__ import annotations

from typing import BinaryIO, Callable, Iterable, Iterator, Optional, Protocol, Union

from asciinema.asciicast import Event, Header
from asciinema.errors import write_failed

FORMATS = ("asciicast-v3", "asciicast-v2", "raw", "txt", "html")


class Encoder(Protocol):
    def header(self, header: Header) -> str: ...

    def event(self, event: Event) -> str: ...

    def encode(self, events: Iterable[Event]) -> Iterator[str]: ...

    def finish(self) -> str: ...


def get_encoder(fmt: str, *, time_offset: int = 0) -> Encoder:
    """The encoder for ``fmt`` (one of :data:`FORMATS`).

    ``time_offset`` (µs) shifts event times of v2 output, which stores absolute times.
    """
    if fmt == "asciicast-v3":
        from asciinema.asciicast.v3 import Encoder as V3

        return V3()
    if fmt == "asciicast-v2":
        from asciinema.asciicast.v2 import Encoder as V2

        return V2(time_offset)
    if fmt == "raw":
        from asciinema.encoders.raw import RawEncoder

        return RawEncoder()
    if fmt == "txt":
        from asciinema.encoders.txt import TxtEncoder

        return TxtEncoder()
    if fmt == "html":
        from asciinema.encoders.html import HtmlEncoder

        return HtmlEncoder()
    raise ValueError(f"unknown format: {fmt}")


def format_for_path(path: str, *, case_sensitive: bool) -> Optional[str]:
    """The format implied by a file name: ``txt`` for ``*.txt``, else None.

    asciinema 3 compares the extension case-insensitively in ``convert`` but not in ``rec``.
    """
    name = path if case_sensitive else path.lower()
    return "txt" if name.endswith(".txt") else None


def text_writer(out: BinaryIO, shown_name: str) -> Callable[[Union[str, bytes]], None]:
    """A function writing encoder text (or text an encoder made UTF-8 itself) to ``out``;
    a failed write is an OutputError."""

    def write(text: Union[str, bytes]) -> None:
        if text:
            try:
                # Lone surrogates can come from JSON "\\ud800" escapes; they have no UTF-8 form.
                out.write(text if type(text) is bytes else text.encode("utf-8", "replace"))  # type: ignore[union-attr]  # str when not bytes
            except OSError as e:
                raise write_failed(shown_name, e) from None

    return write


def flusher(out: BinaryIO, shown_name: str) -> Callable[[], None]:
    """A function flushing ``out``; a failed flush is an OutputError, as in :func:`text_writer`."""

    def flush() -> None:
        try:
            out.flush()
        except OSError as e:
            raise write_failed(shown_name, e) from None

    return flush
