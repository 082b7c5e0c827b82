"""txt: the text that went through the terminal, as asciinema 3 ``convert -f txt`` writes it.

Output and resize events are played into a virtual terminal (:mod:`asciinema.vt`) of the
header's size. Lines are written as they leave the primary screen (scrolled off the top,
erased by a clear, pushed off by a resize); at the end come the lines still on the screen,
then, if the recording ends on the alternate screen (htop, vim...), the lines on it. A resize
re-wraps the soft-wrapped lines on the primary screen, so a narrower terminal cuts nothing.
Soft-wrapped lines are joined into one logical line; each line is right-stripped and ends with
``\\n``; empty lines at the very end are dropped. Input, markers and exit events are ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator, List, Optional, Tuple

from asciinema.asciicast import OUTPUT, RESIZE, Event, Header, parse_size

if TYPE_CHECKING:
    from asciinema.vt import Terminal

#: Feed this much output text at a time: short events are joined up to it, longer ones are
#: cut into slices of it, so that the lines that leave the screen are taken (as text) before
#: they pile up in the terminal, even in one event of many megabytes with no line break.
_BATCH = 1 << 16


class TxtEncoder:
    def __init__(self) -> None:
        self._term: Optional[Terminal] = None
        self._partial: List[str] = []  # the wrapped start of a logical line
        self._blank = 0  # empty lines held back: dropped if nothing follows them

    def _terminal(self, cols: int = 80, rows: int = 24) -> Terminal:
        if self._term is None:
            from asciinema.vt import Terminal

            self._term = Terminal(cols, rows)
        return self._term

    def header(self, header: Header) -> str:
        self._term = None
        self._terminal(header.cols, header.rows)
        return ""

    def event(self, event: Event) -> str:
        term = self._terminal()
        code = event[1]
        if code == OUTPUT:
            return "".join(self._feed(event[2]))
        if code == RESIZE:
            self._resize(event[2])
            return self._lines(term.take_lines())
        return ""

    def encode(self, events: Iterable[Event]) -> Iterator[str]:
        term = self._terminal()
        buf: List[str] = []
        size = 0
        for _, code, data in events:
            if code == OUTPUT:
                buf.append(data)
                size += len(data)
                if size >= _BATCH:
                    yield from self._feed("".join(buf))
                    buf.clear()
                    size = 0
            elif code == RESIZE:
                if buf:
                    yield from self._feed("".join(buf))
                    buf.clear()
                    size = 0
                self._resize(data)
                text = self._lines(term.take_lines())
                if text:
                    yield text
        if buf:
            yield from self._feed("".join(buf))

    def _feed(self, data: str) -> Iterator[str]:
        """Feed output to the terminal a slice at a time; yield the text of the lines that
        left the screen after each."""
        term = self._terminal()
        for start in range(0, len(data), _BATCH):
            term.feed(data[start : start + _BATCH])
            text = self._lines(term.take_lines())
            if text:
                yield text

    def finish(self) -> str:
        term = self._terminal()
        out = [self._lines(term.take_lines())]
        alt = term.alt_screen_lines()
        out.append(self._lines(term.screen_lines(), end=alt is not None))
        if alt is not None:
            self._blank = 0  # the primary screen's empty rows at its bottom
            out.append(self._lines(alt))
        if self._partial:
            out.append(self._lines([("", False)]))
        self._blank = 0
        return "".join(out)

    def _resize(self, data: str) -> None:
        try:
            cols, rows = parse_size(data)
        except ValueError:
            return  # readers reject these; nothing sensible to do with one here
        self._terminal().resize(cols, rows)

    def _lines(self, lines: List[Tuple[str, bool]], end: bool = False) -> str:
        """Join wrapped lines and format complete ones; ``end`` ends the last one anyway."""
        out: List[str] = []
        partial = self._partial
        blank = self._blank
        for text, wrapped in lines:
            if wrapped:
                partial.append(text)
                continue
            if partial:
                partial.append(text)
                text = "".join(partial).rstrip()
                partial.clear()
            if text:
                if blank:
                    out.append("\n" * blank)
                    blank = 0
                out.append(text)
                out.append("\n")
            else:
                blank += 1
        if end and partial:
            self._blank = blank
            return "".join(out) + self._lines([("", False)])
        self._blank = blank
        return "".join(out)
