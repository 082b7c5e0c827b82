"""asciicast v2: header with ``width``/``height``, events at absolute times in seconds.

Pure codec: the decoder reads from a binary stream handed to it, the encoder returns text.
Exit events are written to v2 files as ``[t, "x", "status"]``, as asciinema 3 does, although
v2 readers of old tools treat them as unknown events.
"""

from __future__ import annotations

import json
from typing import BinaryIO, Dict, Iterable, Iterator, List, Optional

from asciinema.asciicast import (
    RESIZE,
    Event,
    Header,
    Recording,
    check_event_data,
    event_rows,
    line_error,
    MAX_TIME,
    make_event,
    quote_code,
    parse_theme,
    row_error,
)
from asciinema.errors import FormatError

_dumps = json.dumps


def decode(obj: Dict[str, object], stream: BinaryIO, name: str) -> Recording:
    header = _decode_header(obj, name)
    return Recording(2, header, _events(stream, name))


def _positive_int(value: object) -> bool:
    return type(value) is int and value > 0


def _decode_header(obj: Dict[str, object], name: str) -> Header:
    width, height = obj.get("width"), obj.get("height")
    if not _positive_int(width) or not _positive_int(height):
        raise FormatError(f"{name}:1: asciicast v2 header needs positive integer width and height")
    env = _decode_env(obj.get("env"), name)
    try:
        theme = parse_theme(obj.get("theme"))
    except ValueError as e:
        raise FormatError(f"{name}:1: {e}") from None
    return Header(
        cols=width,  # type: ignore[arg-type]
        rows=height,  # type: ignore[arg-type]
        term_type=env.get("TERM"),
        theme=theme,
        timestamp=_optional(obj, "timestamp", int, name),
        idle_time_limit=_optional_float(obj, "idle_time_limit", name),
        command=_optional(obj, "command", str, name),
        title=_optional(obj, "title", str, name),
        env=env,
    )


def _decode_env(value: object, name: str) -> Dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormatError(f"{name}:1: header env must be an object")
    # asciinema 2.x wrote null for unset variables (SHELL in a cron job); they are dropped.
    env = {}
    for k, v in value.items():
        if v is None:
            continue
        if not isinstance(v, str):
            raise FormatError(f"{name}:1: header env value of {k} must be a string")
        env[k] = v
    return env


def _optional(obj: Dict[str, object], key: str, kind: type, name: str) -> Optional[object]:
    value = obj.get(key)
    if value is None:
        return None
    if type(value) is not kind:
        raise FormatError(f"{name}:1: header {key} must be a {'string' if kind is str else 'number'}")
    return value


def _optional_float(obj: Dict[str, object], key: str, name: str) -> Optional[float]:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < MAX_TIME:
        raise FormatError(f"{name}:1: header {key} must be a non-negative number")
    return float(value)


def _events(stream: BinaryIO, name: str) -> Iterator[Event]:
    prev = 0
    for start, rows, linenos in event_rows(stream, name, 2, comments=False):
        k = -1
        for row in rows:
            k += 1
            if type(row) is list and len(row) == 3:
                t, code, data = row
                tt = type(t)
                if (tt is float or tt is int) and 0 <= t < MAX_TIME and type(code) is str and code and type(data) is str:
                    us = int(t * 1000000 + 0.5)
                    if us < prev:
                        lineno = linenos[k] if linenos else start + k
                        raise line_error(name, lineno, f"event time goes backwards ({t} after {prev / 1e6})")
                    prev = us
                    if code == RESIZE:
                        check_event_data(name, linenos[k] if linenos else start + k, code, data)
                    yield make_event(us, code, data)
                    continue
            raise row_error(name, linenos[k] if linenos else start + k, row, "asciicast v2")


def format_time(us: int) -> str:
    """Whole microseconds as seconds with trailing zeros trimmed: ``0.0``, ``1.000001``, ``12.3``."""
    s, frac = divmod(us, 1000000)
    if not frac:
        return f"{s}.0"
    return f"{s}.{frac:06d}".rstrip("0")


class Encoder:
    """asciicast v2 lines. ``time_offset`` (µs) is added to every event (append, cat)."""

    def __init__(self, time_offset: int = 0) -> None:
        self.time_offset = time_offset

    def header(self, header: Header) -> str:
        obj: Dict[str, object] = {"version": 2, "width": header.cols, "height": header.rows}
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
        if header.theme is not None:
            t = header.theme
            obj["theme"] = {"fg": t.fg, "bg": t.bg, "palette": ":".join(t.palette)}
        return _dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"

    def event(self, event: Event) -> str:
        t, code, data = event
        return f"[{format_time(t + self.time_offset)}, {quote_code(code)}, {_dumps(data, ensure_ascii=False)}]\n"

    def encode(self, events: Iterable[Event]) -> Iterator[str]:
        """Encode a stream of events into chunks of about 64 KiB."""
        offset = self.time_offset
        dumps = _dumps
        quote = quote_code
        buf: List[str] = []
        append = buf.append
        for t, code, data in events:
            s, frac = divmod(t + offset, 1000000)
            ts = f"{s}.{frac:06d}".rstrip("0") if frac else f"{s}.0"
            append(f"[{ts}, {quote(code)}, {dumps(data, ensure_ascii=False)}]\n")
            if len(buf) >= 2048:
                yield "".join(buf)
                buf.clear()
        if buf:
            yield "".join(buf)

    def finish(self) -> str:
        return ""
