"""asciicast v3: header with a ``term`` object, events at intervals from the previous event.

Pure codec. Intervals are written in milliseconds with an error-carrying quantiser, so the
rounding error of any event's absolute time never exceeds half a millisecond however long
the recording is. Lines that are blank or start with ``#`` are comments.
"""

from __future__ import annotations

import json
from itertools import accumulate, starmap
from json.encoder import encode_basestring
from operator import sub
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from asciinema.asciicast import (
    Columns,
    Event,
    Header,
    Recording,
    check_special_events,
    event_columns,
    round_us,
    quote_code,
    chunk_columns,
    event_lines,
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
    recording = Recording(3, _decode_header(obj, name))
    return recording.set_batches(_batches(stream, name, recording))


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
    return Header(
        cols=cols,
        rows=rows,
        term_type=optional_text(term, "type", name),
        term_version=optional_text(term, "version", name),
        theme=decode_theme(term.get("theme"), name),
        timestamp=optional_timestamp(obj, name),
        idle_time_limit=optional_seconds(obj, "idle_time_limit", name),
        command=optional_text(obj, "command", name),
        title=optional_text(obj, "title", name),
        env=decode_env(env, name),
    )


def _batches(stream: ByteReader, name: str, recording: Recording) -> Iterator[Columns]:
    now = 0
    for start, linenos, times, codes, datas in event_columns(stream, name, 2, True, "asciicast v3"):
        if not times:
            continue
        us = list(accumulate(round_us(times), initial=now))
        del us[0]
        now = recording.last_time = us[-1]
        datas = check_special_events(recording, name, start, linenos, codes, datas, exits=True)
        yield us, codes, datas


def format_interval(ms: int) -> str:
    """Whole milliseconds as seconds with exactly three decimals: ``0.000``, ``12.345``."""
    s, frac = divmod(ms, 1000)
    return f"{s}.{frac:03d}"


_LINE = "[%s, %s, %s]\n"
_TABLE_SIZE = 10000
_interval_table: List[str] = []
#: per event code: ``]\n[`` + the interval (below 10 s) + the code field, a line's whole head;
#: per (code, True): the same as UTF-8 between quotes, for :func:`quoted_lines`
_heads: Dict[object, List[Any]] = {}


def _interval_texts() -> List[str]:
    # Formatting is the hot spot of conversions; most intervals are under 10 s, so their
    # text comes from a table built on first use.
    if not _interval_table:
        _interval_table.extend(f"{s}.{f:03d}" for s in range(_TABLE_SIZE // 1000) for f in range(1000))
    return _interval_table


def _intervals_as_text(ms: List[int]) -> Iterable[str]:
    table = _interval_texts()
    if max(ms) < _TABLE_SIZE:
        return map(table.__getitem__, ms)
    return [table[m] if m < _TABLE_SIZE else format_interval(m) for m in ms]


def _line_heads(ms: List[int], codes: Sequence[str], quoted: bool = False) -> Optional[List[Iterable[Any]]]:
    """The heads of a batch's lines for :func:`joined_lines` (or :func:`quoted_lines` if
    ``quoted``), one piece each, if all share a code."""
    code = single_code(codes)
    if code is None or max(ms) >= _TABLE_SIZE:
        return None
    heads = _heads.get((code, True) if quoted else code)
    if heads is None:
        field = f", {quote_code(code)}, "
        heads = ["]\n[" + text + field for text in _interval_texts()]
        if quoted:
            heads = [f'"{head}"'.encode() for head in heads]
        _heads[(code, True) if quoted else code] = heads
    return [map(heads.__getitem__, ms)]


class Encoder:
    """asciicast v3 lines with millisecond intervals whose rounding error never accumulates.

    Carrying each interval's rounding error into the next one (asciinema 3's quantiser) is
    the same as rounding every absolute time to the nearest millisecond, half up, and
    writing the differences; that form lets whole chunks be encoded with C-level maps.
    ``time_offset`` (µs) is added to every event time (used when joining recordings).
    """

    def __init__(self, time_offset: int = 0) -> None:
        self.time_offset = time_offset
        self.prev_ms = 0  #: the previous event's absolute time, rounded to ms

    def header(self, header: Header) -> str:
        term: Dict[str, object] = {"cols": header.cols, "rows": header.rows}
        if header.term_type is not None:
            term["type"] = header.term_type
        if header.term_version is not None:
            term["version"] = header.term_version
        if header.theme is not None:
            term["theme"] = theme_object(header.theme)
        obj: Dict[str, object] = {"version": 3, "term": term}
        obj.update(common_header_fields(header))
        return _dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"

    def event(self, event: Tuple[int, str, str]) -> str:  # an Event, or the plain tuple of a batch
        t, code, data = event
        ms = (t + self.time_offset + 500) // 1000
        interval = max(ms - self.prev_ms, 0)
        self.prev_ms = max(ms, self.prev_ms)
        return _LINE % (format_interval(interval), quote_code(code), encode_basestring(data))

    def encode(self, events: Iterable[Event]) -> Iterator[str]:
        """Encode a stream of events into chunks of about 4,096 lines."""
        return starmap(self.encode_columns, chunk_columns(events))

    def encode_columns(self, times: Sequence[int], codes: Sequence[str], datas: Sequence[str]) -> str:
        """Encode one batch of events given as columns."""
        if not times:
            return ""
        return self._lines(times, self._intervals(times), codes, datas)

    def encode_columns_utf8(self, times: Sequence[int], codes: Sequence[str],
                            datas: Union[Sequence[str], Sequence[bytes]]) -> bytes:
        """:meth:`encode_columns` as the UTF-8 bytes to write; ``datas`` may be UTF-8 already."""
        if not times:
            return b""
        intervals = self._intervals(times)
        if intervals is not None:
            heads = _line_heads(intervals, codes, quoted=True)
            data = None if heads is None else joined_data(datas)
            lines = None if data is None else quoted_lines(heads, data)  # type: ignore[arg-type]  # heads is set when data is
            if lines is not None:
                return lines
        return self._lines(times, intervals, codes, as_text(datas)).encode("utf-8", "replace")

    def _lines(self, times: Sequence[int], intervals: Optional[List[int]], codes: Sequence[str],
               datas: Sequence[str]) -> str:
        if intervals is None:
            return "".join(map(self.event, zip(times, codes, datas)))
        heads = _line_heads(intervals, codes)
        if heads is not None:
            return joined_lines(heads, datas)
        return event_lines(_intervals_as_text(intervals), codes, datas)

    def encode_utf8(self, events: Sequence[Event]) -> bytes:
        """Live recording: a batch of events as the UTF-8 lines that go to the file."""
        if not events:
            return b""
        times, codes, datas = zip(*events)
        stamps = self._stamps(times)
        if stamps is None:
            return "".join(map(self.event, events)).encode("utf-8", "replace")
        return event_lines_utf8(stamps, codes, datas)

    def _stamps(self, times: Sequence[int]) -> Optional[Iterable[str]]:
        """The interval texts of a batch, or None if times go backwards (a hand-made stream)."""
        intervals = self._intervals(times)
        return None if intervals is None else _intervals_as_text(intervals)

    def _intervals(self, times: Sequence[int]) -> Optional[List[int]]:
        """The intervals (ms) of a batch, or None if times go backwards (a hand-made stream)."""
        half = self.time_offset + 500
        ms = [(t + half) // 1000 for t in times]
        intervals = list(map(sub, ms, [self.prev_ms] + ms[:-1]))
        if min(intervals) < 0:
            return None
        self.prev_ms = ms[-1]
        return intervals

    def finish(self) -> str:
        return ""
