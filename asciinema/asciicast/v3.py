"""asciicast v3: header with a ``term`` object, events at intervals from the previous event.

Pure codec. Intervals are written in milliseconds with an error-carrying quantiser, so the
rounding error of any event's absolute time never exceeds half a millisecond however long
the recording is. Lines that are blank or start with ``#`` are comments.
"""

from __future__ import annotations

import json
from typing import BinaryIO, Dict, Iterable, Iterator, List

from asciinema.asciicast import (
    EXIT,
    RESIZE,
    Event,
    Header,
    Recording,
    check_event_data,
    event_rows,
    MAX_TIME,
    make_event,
    parse_theme,
    quote_code,
    row_error,
)
from asciinema.asciicast.v2 import _optional, _optional_float
from asciinema.errors import FormatError

_dumps = json.dumps


def decode(obj: Dict[str, object], stream: BinaryIO, name: str) -> Recording:
    return Recording(3, _decode_header(obj, name), _events(stream, name))


def _decode_header(obj: Dict[str, object], name: str) -> Header:
    term = obj.get("term")
    if not isinstance(term, dict):
        raise FormatError(f"{name}:1: asciicast v3 header needs a term object")
    cols, rows = term.get("cols"), term.get("rows")
    if type(cols) is not int or type(rows) is not int or cols <= 0 or rows <= 0:
        raise FormatError(f"{name}:1: asciicast v3 header needs positive integer term.cols and term.rows")
    env = obj.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise FormatError(f"{name}:1: header env must map names to strings")
    try:
        theme = parse_theme(term.get("theme"))
    except ValueError as e:
        raise FormatError(f"{name}:1: {e}") from None
    return Header(
        cols=cols,
        rows=rows,
        term_type=_optional(term, "type", str, name),  # type: ignore[arg-type]
        term_version=_optional(term, "version", str, name),  # type: ignore[arg-type]
        theme=theme,
        timestamp=_optional(obj, "timestamp", int, name),  # type: ignore[arg-type]
        idle_time_limit=_optional_float(obj, "idle_time_limit", name),
        command=_optional(obj, "command", str, name),  # type: ignore[arg-type]
        title=_optional(obj, "title", str, name),  # type: ignore[arg-type]
        env=dict(env),
    )


def _events(stream: BinaryIO, name: str) -> Iterator[Event]:
    now = 0
    for start, rows, linenos in event_rows(stream, name, 2, comments=True):
        k = -1
        for row in rows:
            k += 1
            if type(row) is list and len(row) == 3:
                t, code, data = row
                tt = type(t)
                if (tt is float or tt is int) and 0 <= t < MAX_TIME and type(code) is str and code and type(data) is str:
                    now += int(t * 1000000 + 0.5)
                    if code == RESIZE or code == EXIT:
                        data = check_event_data(name, linenos[k] if linenos else start + k, code, data)
                    yield make_event(now, code, data)
                    continue
            raise row_error(name, linenos[k] if linenos else start + k, row, "asciicast v3")


def format_interval(ms: int) -> str:
    """Whole milliseconds as seconds with exactly three decimals: ``0.000``, ``12.345``."""
    s, frac = divmod(ms, 1000)
    return f"{s}.{frac:03d}"


class Encoder:
    """asciicast v3 lines with millisecond intervals and carried rounding error."""

    def __init__(self) -> None:
        self.prev = 0  #: absolute time (µs) of the previous event
        self.error = 0  #: rounding error carried to the next interval (µs)

    def header(self, header: Header) -> str:
        term: Dict[str, object] = {"cols": header.cols, "rows": header.rows}
        if header.term_type is not None:
            term["type"] = header.term_type
        if header.term_version is not None:
            term["version"] = header.term_version
        if header.theme is not None:
            t = header.theme
            term["theme"] = {"fg": t.fg, "bg": t.bg, "palette": ":".join(t.palette)}
        obj: Dict[str, object] = {"version": 3, "term": term}
        if header.timestamp is not None:
            obj["timestamp"] = header.timestamp
        if header.idle_time_limit is not None:
            obj["idle_time_limit"] = header.idle_time_limit
        if header.command is not None:
            obj["command"] = header.command
        if header.title is not None:
            obj["title"] = header.title
        if header.env:
            obj["env"] = header.env
        return _dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"

    def _interval(self, t: int) -> int:
        w = max(t - self.prev, 0) + self.error
        steps = (w + 500) // 1000
        self.error = w - steps * 1000
        self.prev = t
        return steps

    def event(self, event: Event) -> str:
        t, code, data = event
        ms = self._interval(t)
        return f"[{format_interval(ms)}, {quote_code(code)}, {_dumps(data, ensure_ascii=False)}]\n"

    def encode(self, events: Iterable[Event]) -> Iterator[str]:
        """Encode a stream of events into chunks of about 64 KiB."""
        prev, error = self.prev, self.error
        dumps = _dumps
        quote = quote_code
        buf: List[str] = []
        append = buf.append
        for t, code, data in events:
            w = t - prev
            if w < 0:
                w = 0
            w += error
            steps = (w + 500) // 1000
            error = w - steps * 1000
            prev = t
            s, frac = divmod(steps, 1000)
            append(f"[{s}.{frac:03d}, {quote(code)}, {dumps(data, ensure_ascii=False)}]\n")
            if len(buf) >= 2048:
                self.prev, self.error = prev, error
                yield "".join(buf)
                buf.clear()
        self.prev, self.error = prev, error
        if buf:
            yield "".join(buf)

    def finish(self) -> str:
        return ""
