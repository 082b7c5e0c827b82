"""The event model shared by every part of the program, and the format sniffer.

An :class:`Event` is ``(time, code, data)``: ``time`` in whole microseconds from the start of
the recording (absolute, whatever the file stores), ``code`` one of ``o i r m x`` (or any other
code found in a file, kept as is) and ``data`` a string (``"COLSxROWS"`` for ``r``, the
decimal status for ``x``). Microseconds are the resolution of asciicast v2 and of the time
parser of asciinema 3, so integer times keep conversions exact.

:func:`open_recording` reads from a binary stream: it decodes the header at once and returns
the events as a lazy iterator, so a file of any size is read in constant memory. Nothing here
opens files or sockets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import BinaryIO, Dict, Iterator, List, NamedTuple, Optional, Tuple

from asciinema.errors import FormatError

#: Event times at or above this many seconds (about 31,700 years) are refused: JSON can
#: spell infinity as 1e999, and no recording is that long.
MAX_TIME = 1e12

OUTPUT = "o"
INPUT = "i"
RESIZE = "r"
MARKER = "m"
EXIT = "x"


class Event(NamedTuple):
    time: int  #: microseconds since the start of the recording
    code: str
    data: str


def make_event(time: int, code: str, data: str) -> Event:
    # NamedTuple's generated __new__ is a Python function; this skips it on hot paths.
    return _tuple_new(Event, (time, code, data))


_tuple_new = tuple.__new__


@dataclass(frozen=True)
class Theme:
    fg: str
    bg: str
    palette: Tuple[str, ...]  #: 16 colours, ``#rrggbb``


@dataclass
class Header:
    cols: int
    rows: int
    term_type: Optional[str] = None
    term_version: Optional[str] = None
    theme: Optional[Theme] = None
    timestamp: Optional[int] = None
    idle_time_limit: Optional[float] = None
    command: Optional[str] = None
    title: Optional[str] = None
    env: Dict[str, str] = field(default_factory=dict)


@dataclass
class Recording:
    """A decoded header plus the lazy, single-pass iterator of its events."""

    version: int
    header: Header
    events: Iterator[Event]


_SIZE_RE = re.compile(r"(\d+)x(\d+)\Z")
_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}\Z")


def parse_size(data: str) -> Tuple[int, int]:
    """``"COLSxROWS"`` to ``(cols, rows)``; raises ValueError with a user-facing message."""
    m = _SIZE_RE.match(data)
    if m is None:
        if "x" not in data:
            raise ValueError("invalid size value in resize event")
        cols, _, rows = data.partition("x")
        if not cols.isdigit() or int(cols) > 65535:
            raise ValueError(f"invalid cols value in resize event: {cols!r}")
        raise ValueError(f"invalid rows value in resize event: {rows!r}")
    cols, rows = int(m.group(1)), int(m.group(2))
    if cols > 65535:
        raise ValueError(f"invalid cols value in resize event: {m.group(1)!r}")
    if rows > 65535:
        raise ValueError(f"invalid rows value in resize event: {m.group(2)!r}")
    return cols, rows


def parse_theme(value: object) -> Optional[Theme]:
    """A header ``theme`` object (v2 or v3) to a :class:`Theme`; ValueError when malformed."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("theme must be an object")
    fg, bg, palette = value.get("fg"), value.get("bg"), value.get("palette")
    colors = palette.split(":") if isinstance(palette, str) else None
    for c in [fg, bg] + (colors or []):
        if not isinstance(c, str) or _COLOR_RE.match(c) is None:
            raise ValueError(f"invalid theme colour: {c!r}")
    if colors is None or len(colors) not in (8, 16):
        raise ValueError("theme palette must have 8 or 16 colours")
    if len(colors) == 8:
        colors = colors * 2
    return Theme(fg.lower(), bg.lower(), tuple(c.lower() for c in colors))  # type: ignore[union-attr]


def reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid number")


def json_loads(data: bytes) -> object:
    """json.loads that refuses NaN and Infinity, which are not JSON."""
    return json.loads(data, parse_constant=reject_constant)


def open_recording(stream: BinaryIO, name: str) -> Recording:
    """Sniff the asciicast version of ``stream`` and decode its header.

    ``name`` is used in error messages (``<name>:<line>: <problem>``). Event errors are
    raised lazily, while iterating, with the number of the broken line.
    """
    from asciinema.asciicast import v1, v2, v3

    first = stream.readline()
    if not first:
        raise FormatError(f"{name}: empty file")
    try:
        obj = json_loads(first)
    except (ValueError, UnicodeDecodeError):
        obj = None
    if isinstance(obj, dict):
        version = obj.get("version")
        if version == 3:
            return v3.decode(obj, stream, name)
        if version == 2:
            return v2.decode(obj, stream, name)
        if version not in (1, None):
            raise FormatError(f"{name}:1: unsupported asciicast version: {version!r}")
    rest = first + stream.read()
    if not rest.strip():
        raise FormatError(f"{name}: empty file")
    return v1.decode(rest, name)


def line_error(name: str, lineno: int, message: str) -> FormatError:
    return FormatError(f"{name}:{lineno}: {message}")


def batched_lines(stream: BinaryIO, first_lineno: int) -> Iterator[Tuple[int, List[bytes]]]:
    """Read ``stream`` in chunks of whole lines: yields (number of the first line, lines)."""
    lineno = first_lineno
    while True:
        lines = stream.readlines(1 << 18)
        if not lines:
            return
        yield lineno, lines
        lineno += len(lines)


Rows = List[object]


def event_rows(
    stream: BinaryIO, name: str, first_lineno: int, comments: bool
) -> Iterator[Tuple[int, Rows, Optional[List[int]]]]:
    """Decode the event lines of a v2/v3 file in batches.

    Yields ``(start, rows, linenos)``: ``rows`` are the decoded JSON values of the non-blank
    lines; ``linenos`` lists their line numbers, or is None when row ``k`` is line
    ``start + k``. The common case, every line starting with ``[``, is decoded with a single
    ``json.loads`` of the joined batch; that is sound because rows are later checked to be
    flat ``[time, code, data]`` lists, which cannot span the joins. Anything else falls back
    to line-by-line decoding, which also finds the line to blame for a broken batch.
    """
    for start, lines in batched_lines(stream, first_lineno):
        if all(line[:1] == b"[" for line in lines):
            try:
                rows = json_loads(b"[" + b",".join(lines) + b"]")
            except (ValueError, UnicodeDecodeError):
                pass
            else:
                if isinstance(rows, list) and len(rows) == len(lines):
                    yield start, rows, None
                    continue
        rows, linenos = [], []
        for k, line in enumerate(lines):
            text = line.strip()
            if not text or (comments and text[:1] == b"#"):
                continue
            try:
                rows.append(json_loads(text))
            except UnicodeDecodeError as e:
                raise line_error(name, start + k, f"invalid UTF-8: {e.reason}") from None
            except ValueError as e:
                raise line_error(name, start + k, f"invalid JSON: {_json_reason(e)}") from None
            linenos.append(start + k)
        yield start, rows, linenos


def _json_reason(e: ValueError) -> str:
    msg = getattr(e, "msg", None)
    return msg if msg else str(e)


def row_error(name: str, lineno: int, row: object, what: str) -> FormatError:
    """Say what is wrong with an event row that failed the fast checks."""
    if not isinstance(row, list) or len(row) != 3:
        return line_error(name, lineno, f"{what} event must be a [time, code, data] array")
    t, code, data = row
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        return line_error(name, lineno, f"{what} event time must be a number")
    if t < 0:
        return line_error(name, lineno, f"{what} event time must not be negative: {t}")
    if not t < MAX_TIME:
        return line_error(name, lineno, f"{what} event time is too large: {t}")
    if not isinstance(code, str):
        return line_error(name, lineno, f"{what} event code must be a string")
    if not code:
        return line_error(name, lineno, "missing event code")
    if not isinstance(data, str):
        return line_error(name, lineno, f"{what} event data must be a string")
    return line_error(name, lineno, f"invalid {what} event")


def check_event_data(name: str, lineno: int, code: str, data: str) -> str:
    """Validate the data of ``r`` and ``x`` events; returns the data to keep."""
    if code == RESIZE:
        try:
            parse_size(data)
        except ValueError as e:
            raise line_error(name, lineno, str(e)) from None
    elif code == EXIT:
        try:
            return str(int(data.strip()))
        except ValueError:
            raise line_error(name, lineno, f"invalid exit status: {data!r}") from None
    return data


_QUOTED_CODES = {c: f'"{c}"' for c in "oirmx"}


def quote_code(code: str) -> str:
    """An event code as a JSON string, without a json.dumps call for the usual codes."""
    quoted = _QUOTED_CODES.get(code)
    return quoted if quoted is not None else json.dumps(code, ensure_ascii=False)
