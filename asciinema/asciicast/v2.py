"""asciicast v2: header with ``width``/``height``, events at absolute times in seconds.

Pure codec: the decoder reads from a binary stream handed to it, the encoder returns text.
Exit events are written to v2 files as ``[t, "x", "status"]``, as asciinema 3 does, although
v2 readers of old tools treat them as unknown events.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from itertools import accumulate, islice, repeat, starmap
from json.encoder import encode_basestring
from operator import add, floordiv, le, mod, truediv
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Union

from asciinema.asciicast import (
    Columns,
    Event,
    Header,
    Recording,
    check_special_events,
    event_columns,
    first_decrease,
    round_us,
    quote_code,
    chunk_columns,
    event_lines,
    code_fields,
    joined_lines,
    joined_data,
    as_text,
    quoted_lines,
    single_code,
    event_lines_utf8,
)
from asciinema.asciicast.header import (
    common_header_fields,
    decode_env,
    decode_theme,
    optional_timestamp,
    optional_seconds,
    optional_text,
    theme_object,
)
from asciinema.errors import FormatError

if TYPE_CHECKING:
    from asciinema.asciicast import ByteReader

_dumps = json.dumps


def decode(obj: Dict[str, object], stream: ByteReader, name: str) -> Recording:
    recording = Recording(2, _decode_header(obj, name))
    return recording.set_batches(_batches(stream, name, recording))


def _decode_header(obj: Dict[str, object], name: str) -> Header:
    width, height = obj.get("width"), obj.get("height")
    if type(width) is not int or type(height) is not int or width <= 0 or height <= 0:
        raise FormatError(f"{name}:1: asciicast v2 header needs positive integer width and height")
    env = decode_env(obj.get("env"), name)
    return Header(
        cols=width,
        rows=height,
        term_type=env.get("TERM"),
        theme=decode_theme(obj.get("theme"), name),
        timestamp=optional_timestamp(obj, name),
        idle_time_limit=optional_seconds(obj, "idle_time_limit", name),
        command=optional_text(obj, "command", name),
        title=optional_text(obj, "title", name),
        env=env,
    )


def _batches(stream: ByteReader, name: str, recording: Recording) -> Iterator[Columns]:
    prev = 0
    warned = False
    for start, linenos, times, codes, datas in event_columns(stream, name, 2, False, "asciicast v2"):
        if not times:
            continue
        us = round_us(times)
        bad = first_decrease(us, prev)
        if bad is not None:
            us = _clamp(us, prev)
            if not warned:
                warned = True
                lineno = linenos[bad] if linenos else start + bad
                before = us[bad - 1] if bad else prev
                recording.warn(
                    f"{name}:{lineno}: event time goes backwards ({times[bad]} after {before / 1e6});"
                    " such events are moved to the time of the one before them"
                )
        prev = recording.last_time = us[-1]
        datas = check_special_events(recording, name, start, linenos, codes, datas, exits=False)
        yield us, codes, datas


def _clamp(us: List[int], prev: int) -> List[int]:
    """Times that go backwards raised to the time before them, as asciinema 2.x plays them."""
    clamped = list(accumulate(us, max, initial=prev))
    del clamped[0]
    return clamped


def format_time(us: int) -> str:
    """Whole microseconds as seconds with trailing zeros trimmed: ``0.0``, ``1.000001``, ``12.3``."""
    s, frac = divmod(us, 1000000)
    if not frac:
        return f"{s}.0"
    return f"{s}.{frac:06d}".rstrip("0")


#: ``.000`` to ``.999``: the milliseconds of a time with microseconds after them
_MILLIS = [f".{m:03d}" for m in range(1000)]
#: ``.0``, ``.001`` to ``.999`` with trailing zeros trimmed: the milliseconds ending a time
_LAST_MILLIS = [f".{m:03d}".rstrip("0") if m else ".0" for m in range(1000)]
#: ``""``, ``001`` to ``999`` with trailing zeros trimmed: the microseconds after the milliseconds
_MICROS = [f"{u:03d}".rstrip("0") for u in range(1000)]


class _Pieces(NamedTuple):
    """The tables a line's head is made of, as text (for :func:`joined_lines`) or as UTF-8
    with the quotes around the data (for :func:`quoted_lines`)."""

    second: Any  #: ``]\n[%d``, the start of a line with its whole seconds
    millis: List[Any]
    last_millis: List[Any]
    micros_and_code: Dict[str, List[Any]]  #: per event code: ``_MICROS`` + the code field, ``001, "o", ``
    quote: str


_TEXT = _Pieces("]\n[%d", _MILLIS, _LAST_MILLIS, {}, "")
_QUOTED = _Pieces(b'"]\n[%d', [m.encode() for m in _MILLIS], [m.encode() for m in _LAST_MILLIS], {}, '"')


def line_heads(us: Sequence[int], codes: Sequence[str], quoted: bool = False) -> Optional[List[Iterable[Any]]]:
    """Columns of pieces that make each line's head ``]\\n[<time>, "<code>", `` (see :func:`joined_lines`),
    or with ``quoted`` the UTF-8 ``"]\\n[<time>, "<code>", "`` (see :func:`quoted_lines`), then
    only when all events share a code (else None).

    The time is :func:`format_time` of ``us`` (non-negative) in three pieces: the seconds,
    ``.mmm`` and ``uuu``. Formatting a float costs 200 to 350 ns a time, even in C; here
    each time takes a few C-level integer operations and table look-ups.
    """
    pieces = _QUOTED if quoted else _TEXT
    code = single_code(codes)
    if code is None and quoted:
        return None
    ms = list(map(floordiv, us, repeat(1000)))
    micros = list(map(mod, us, repeat(1000)))
    in_second = list(map(mod, ms, repeat(1000)))
    if any(micros):
        millis = list(map(pieces.millis.__getitem__, in_second))
        _end_at_millis(millis, micros, in_second, pieces.last_millis)
        heads: List[Iterable[Any]] = [_seconds(ms, pieces.second), millis]
    else:  # whole milliseconds, as from asciicast v3: every time ends at its milliseconds
        heads = [_seconds(ms, pieces.second), map(pieces.last_millis.__getitem__, in_second)]
    if code is None:
        return heads + [map(_MICROS.__getitem__, micros), code_fields(codes)]
    table = pieces.micros_and_code.get(code)
    if table is None:
        field = f", {quote_code(code)}, {pieces.quote}"
        table = [m + field for m in _MICROS]
        if quoted:
            table = [m.encode() for m in table]
        pieces.micros_and_code[code] = table
    return heads + [map(table.__getitem__, micros)]


def _end_at_millis(millis: List[Any], micros: List[int], in_second: List[int], last_millis: List[Any]) -> None:
    """Trim the milliseconds of the times with no microseconds (``1.500`` → ``1.5``)."""
    k = -1
    try:
        while True:
            k = micros.index(0, k + 1)
            millis[k] = last_millis[in_second[k]]
    except ValueError:
        pass


def _seconds(ms: List[int], second: Any) -> Iterable[Any]:
    """``]\\n[`` and the whole seconds of each time (given in milliseconds), by the format ``second``.

    In a recording many events share a second, and times never go backwards: each second is
    formatted once and repeated for the events in it, found by bisection.
    """
    n = len(ms)
    if (ms[-1] - ms[0]) // 1000 * 4 > n or not all(map(le, ms, islice(ms, 1, None))):
        return map(second.__mod__, map(floordiv, ms, repeat(1000)))
    texts: List[Any] = []
    lo = 0
    while lo < n:
        s = ms[lo] // 1000
        hi = bisect_left(ms, (s + 1) * 1000, lo)
        texts += repeat(second % s, hi - lo)
        lo = hi
    return texts


def _lines(times: Sequence[int], codes: Sequence[str], datas: Sequence[str]) -> str:
    if min(times) >= 0:
        return joined_lines(line_heads(times, codes), datas)  # type: ignore[arg-type]  # a list for times >= 0
    return event_lines(map(format_time, times), codes, datas)  # only from a hand-made stream


_LINE = "[%s, %s, %s]\n"

# Between these bounds (100 µs to 31 years) the shortest repr of ``t / 1e6`` is exactly
# format_time(t): the division is correctly rounded, two six-decimal numbers are further
# apart than one unit in the last place, and repr uses no exponent. It runs in C, several
# times faster than formatting digits in Python.
_REPR_MIN = 100
_REPR_MAX = 10**15


class Encoder:
    """asciicast v2 lines. ``time_offset`` (µs) is added to every event (append, cat)."""

    def __init__(self, time_offset: int = 0) -> None:
        self.time_offset = time_offset

    def header(self, header: Header) -> str:
        obj: Dict[str, object] = {"version": 2, "width": header.cols, "height": header.rows}
        obj.update(common_header_fields(header))
        if header.theme is not None:
            obj["theme"] = theme_object(header.theme)
        return _dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"

    def event(self, event: Event) -> str:
        t, code, data = event
        return _LINE % (format_time(t + self.time_offset), quote_code(code), encode_basestring(data))

    def encode(self, events: Iterable[Event]) -> Iterator[str]:
        """Encode a stream of events into chunks of about 4,096 lines."""
        return starmap(self.encode_columns, chunk_columns(events))

    def encode_columns(self, times: Sequence[int], codes: Sequence[str], datas: Sequence[str]) -> str:
        """Encode one batch of events given as columns."""
        if not times:
            return ""
        return _lines(self._shifted(times), codes, datas)

    def encode_columns_utf8(self, times: Sequence[int], codes: Sequence[str],
                            datas: Union[Sequence[str], Sequence[bytes]]) -> bytes:
        """:meth:`encode_columns` as the UTF-8 bytes to write; ``datas`` may be UTF-8 already."""
        if not times:
            return b""
        times = self._shifted(times)
        if min(times) >= 0:
            heads = line_heads(times, codes, quoted=True)
            data = None if heads is None else joined_data(datas)
            lines = None if data is None else quoted_lines(heads, data)  # type: ignore[arg-type]  # heads is set when data is
            if lines is not None:
                return lines
        return _lines(times, codes, as_text(datas)).encode("utf-8", "replace")

    def _shifted(self, times: Sequence[int]) -> Sequence[int]:
        return list(map(add, times, repeat(self.time_offset))) if self.time_offset else times

    def encode_utf8(self, events: Sequence[Event]) -> bytes:
        """Live recording: a batch of events as the UTF-8 lines that go to the file."""
        if not events:
            return b""
        times, codes, datas = zip(*events)
        return event_lines_utf8(self._stamps(times), codes, datas)

    def _stamps(self, times: Sequence[int]) -> Iterable[str]:
        times = self._shifted(times)
        if min(times) >= _REPR_MIN and max(times) < _REPR_MAX:
            return map(repr, map(truediv, times, repeat(1e6)))
        return map(format_time, times)

    def finish(self) -> str:
        return ""
