"""The event model shared by every part of the program, and the format sniffer.

An event is a tuple ``(time, code, data)``: ``time`` in whole microseconds from the start of
the recording (absolute, whatever the file stores), ``code`` one of ``o i r m x`` (or any other
code found in a file, kept as is) and ``data`` a string (``"COLSxROWS"`` for ``r``, the
decimal status for ``x``). :class:`Event` names the fields for code that builds events;
readers yield plain tuples of the same shape, so consumers unpack or index. Microseconds are
the resolution of asciicast v2 and of the time parser of asciinema 3, so integer times keep
conversions exact.

:func:`open_recording` reads from a binary stream: it decodes the header at once and returns
the events as a lazy iterator, so a file of any size is read in constant memory. Nothing here
opens files or sockets.
"""

from __future__ import annotations

import json
import re
from itertools import chain, islice, repeat, starmap
from json.encoder import encode_basestring
from operator import le, mul
from types import MappingProxyType
from typing import (
    TYPE_CHECKING, Any, Callable, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union,
)

from asciinema.errors import FormatError

if TYPE_CHECKING:  # a Protocol class costs start-up time; only the type checker needs this one
    from typing import Protocol

    class ByteReader(Protocol):
        """What the decoders read: a binary file, or a stand-in with its ``readline`` and ``read``."""

        def readline(self) -> bytes: ...

        def read(self, size: int = -1, /) -> bytes: ...

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


# Plain records are NamedTuples, not dataclasses: importing dataclasses and running its
# decorator costs about 15 ms at every start of the program.


class Theme(NamedTuple):
    fg: str
    bg: str
    palette: Tuple[str, ...]  #: 16 colours, ``#rrggbb``


class Header(NamedTuple):
    cols: int
    rows: int
    term_type: Optional[str] = None
    term_version: Optional[str] = None
    theme: Optional[Theme] = None
    timestamp: Optional[int] = None
    idle_time_limit: Optional[float] = None
    command: Optional[str] = None
    title: Optional[str] = None
    env: Mapping[str, str] = MappingProxyType({})  #: read-only: one empty mapping is shared


#: A batch of events as three columns: times (µs), codes, data. Decoders produce these and
#: the fast encoders consume them whole, so that per-event work stays in C-level builtins.
Columns = Tuple[Sequence[int], Sequence[str], Sequence[str]]


class Recording:
    """A decoded header plus the lazy, single-pass iterator of its events (or batches).

    ``last_time`` (µs) and ``last_size`` follow the events consumed so far: after a full
    pass they hold the time of the last event and the size set by the last resize event
    (None when there was none), which is what concatenation needs.
    """

    def __init__(self, version: int, header: Header) -> None:
        self.version = version
        self.header = header
        self.last_time = 0
        self.last_size: Optional[Tuple[int, int]] = None
        self.batches: Iterator[Columns] = iter(())
        #: where the decoder reports what it repaired (a ``!!!`` line unless replaced)
        self.warn: Callable[[str], None] = _print_warning

    def set_batches(self, batches: Iterator[Columns]) -> "Recording":
        self.batches = batches
        return self

    @property
    def events(self) -> Iterator[Event]:
        """The events one by one (shares the single pass with :attr:`batches`)."""
        # Zipping each batch's columns and chaining them runs in C, so iterating events
        # costs next to nothing on top of decoding.
        return chain.from_iterable(starmap(zip, self.batches))


def _print_warning(message: str) -> None:
    from asciinema import status

    status.warning(message)


_SIZE_RE = re.compile(r"(\d+)x(\d+)\Z")


def shown_value(value: object) -> str:
    """A value from a file, as shown in a message: a repr cut short (strings of megabytes and
    arrays nested a thousand deep are valid JSON)."""
    import reprlib

    return reprlib.repr(value)


def parse_size(data: str) -> Tuple[int, int]:
    """``"COLSxROWS"`` to ``(cols, rows)``; raises ValueError with a user-facing message."""
    m = _SIZE_RE.match(data)
    if m is None:
        if "x" not in data:
            raise ValueError("invalid size value in resize event")
        cols_text, _, rows_text = data.partition("x")
        if not cols_text.isdigit() or int(cols_text) > 65535:
            raise ValueError(f"invalid cols value in resize event: {shown_value(cols_text)}")
        raise ValueError(f"invalid rows value in resize event: {shown_value(rows_text)}")
    cols, rows = int(m.group(1)), int(m.group(2))
    if cols > 65535:
        raise ValueError(f"invalid cols value in resize event: {shown_value(m.group(1))}")
    if rows > 65535:
        raise ValueError(f"invalid rows value in resize event: {shown_value(m.group(2))}")
    return cols, rows


def reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid number")


def json_loads(data: Union[bytes, str]) -> object:
    """json.loads that refuses NaN and Infinity, which are not JSON.

    Nesting deeper than the interpreter's recursion limit is a JSONDecodeError like any
    other, with the place where the nesting went too deep.
    """
    try:
        return json.loads(data, parse_constant=reject_constant)
    except RecursionError:
        pass
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    raise json.JSONDecodeError("too deeply nested", text, _too_deep(text)) from None


#: strings (skipped whole) and brackets, for finding where nesting goes too deep
_NESTING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]')
#: nesting past this depth is where a document is blamed; no asciicast goes past 4
_DEEP = 100


def _too_deep(text: str) -> int:
    """Where the nesting of brackets in ``text`` first gets deeper than :data:`_DEEP` (or 0)."""
    depth = 0
    for m in _NESTING_RE.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > _DEEP:
                return m.start()
        elif c in "]}":
            depth -= 1
    return 0


def open_recording(stream: ByteReader, name: str) -> Recording:
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
    except UnicodeDecodeError:
        # a title or env value typed in another encoding: the header is read, with U+FFFD there
        try:
            obj = json_loads(first.decode("utf-8", "replace"))
        except ValueError:
            obj = None
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        version = obj.get("version")
        if version == 3:
            return v3.decode(obj, stream, name)
        if version == 2:
            return v2.decode(obj, stream, name)
        if version not in (1, None):
            raise FormatError(f"{name}:1: unsupported asciicast version: {shown_value(version)}")
    rest = first + stream.read()
    if not rest.strip():
        raise FormatError(f"{name}: empty file")
    return v1.decode(rest, name)


def line_error(name: str, lineno: int, message: str) -> FormatError:
    return FormatError(f"{name}:{lineno}: {message}")


#: decoded JSON lines, of any shape until :func:`_row_columns` checks them (duck-typed: a
#: row without ``len()`` is a TypeError there)
Rows = List[Any]

_READ_SIZE = 1 << 16


def _blocks(stream: ByteReader) -> Iterator[bytes]:
    """Blocks of whole lines (each ending with a newline) read from ``stream``.

    ``read1`` returns what a pipe has now, so a recording still being written (``tail -f``)
    flows through at once; regular files are read 64 KiB at a time. The columns decoded from a
    block are what an encoder then reads; with blocks of 256 KiB they no longer stay in the
    processor's cache, and encoding text that isn't ASCII took a fifth longer.
    """
    read = getattr(stream, "read1", stream.read)
    pending: List[bytes] = []  # the start of a line not ended yet, as read
    while True:
        chunk = read(_READ_SIZE)
        if not chunk:
            if pending:
                yield b"".join(pending) + b"\n"
            return
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:  # a long line: its pieces are joined once it ends, not at every read
            pending.append(chunk)
            continue
        if pending:
            pending.append(memoryview(chunk)[:cut])
            yield b"".join(pending)
        else:
            yield chunk if cut == len(chunk) else chunk[:cut]
        pending = [chunk[cut:]] if cut < len(chunk) else []


#: What stands between two lines of a block joined into one flat JSON array:
#: ``[t1, "o", "a"]\n[t2, ...`` becomes ``[t1, "o", "a",<TAB>null, t2, ...``. The null marks
#: where each line ended; the raw tab, which JSON refuses inside strings, keeps a string from
#: running on into the next line.
_LINE_JOIN = b",\tnull,"

Block = Tuple[int, Optional[List[int]], Sequence[float], Sequence[str], Sequence[str]]


def event_columns(stream: ByteReader, name: str, first_lineno: int, comments: bool, what: str) -> Iterator[Block]:
    """Decode and check the event lines of a v2/v3 file, a block of lines at a time.

    Yields ``(start, linenos, times, codes, datas)`` for the non-blank lines of each block:
    ``times`` are JSON numbers (at least 0, below :data:`MAX_TIME`), ``codes`` non-empty
    strings, ``datas`` strings. ``linenos`` lists the line numbers of the events, or is None
    when event ``k`` is on line ``start + k``. A block of nothing but ``[...]`` lines is
    decoded by one ``json.loads`` (see :func:`_flat_columns`); anything else, and a block
    that fails a check, line by line, which also names the line to blame.
    """
    lineno = first_lineno
    for block in _blocks(stream):
        cols = _flat_columns(block)
        if cols is not None:
            yield (lineno, None) + cols
            lineno += len(cols[0])
            continue
        rows, linenos = _decode_lines(block, name, lineno, comments)
        yield (lineno, linenos) + _row_columns(rows, name, linenos, what)
        lineno += block.count(b"\n")


def _flat_columns(block: bytes) -> Optional[Tuple[List[float], List[str], List[str]]]:
    """The checked columns of a block of ``[time, code, data]`` lines, or None.

    The lines are joined by :data:`_LINE_JOIN` into one flat array and decoded at once,
    with no list per line; every 4th value must be the null that ended a line. That proves
    each line held exactly three values: a string can't span the tab, a line marker nested
    in an array or object would make that container a value of the flat array (refused by
    the type checks below), and nulls can't stand in for times, codes or data, so the
    ``n - 1`` markers fill exactly the ``n - 1`` places of line ends.
    """
    if block[:1] != b"[" or block[-2:] != b"]\n":
        return None
    joined = block[:-1].replace(b"]\n[", _LINE_JOIN)  # the first [ and last ] enclose the array
    if b"\n" in joined:  # a line that doesn't start with [ or end with ]
        return None
    try:
        flat = json_loads(joined)
    except (ValueError, UnicodeDecodeError):
        return None
    assert isinstance(flat, list)  # the text is one JSON array: it starts with [ and ends with ]
    n = (len(joined) - len(block) + 1) // (len(_LINE_JOIN) - 3) + 1  # lines: each join grew the text
    if len(flat) != 4 * n - 1 or flat[3::4].count(None) != n - 1:
        return None
    times, codes, datas = flat[0::4], flat[1::4], flat[2::4]
    return (times, codes, datas) if _columns_ok(times, codes, datas) else None


def _columns_ok(times: Sequence[Any], codes: Sequence[Any], datas: Sequence[Any]) -> bool:
    """Whether every time is a number in range, every code a non-empty string, every data a string.

    One C-level pass per check over each column (bool, a subclass of int, is refused by
    comparing types exactly). The columns hold decoded JSON values of any type: the checks
    run in order, so ``min`` and ``max`` see numbers only.
    """
    try:
        return (
            set(map(type, times)) <= _NUMBER_TYPES
            and min(times) >= 0
            and max(times) < MAX_TIME
            and _codes_ok(codes)
            and set(map(type, datas)) == {str}
        )
    except TypeError:  # unhashable codes
        return False


def _codes_ok(codes: Sequence[object]) -> bool:
    # Most batches have one code, "o": one count answers.
    if codes[0] in _CODE_FIELDS and codes.count(codes[0]) == len(codes):
        return True
    return set(map(type, set(codes))) == {str} and "" not in codes


def _decode_lines(block: bytes, name: str, start: int, comments: bool) -> Tuple[Rows, List[int]]:
    """The JSON values of the non-blank (non-comment) lines of a block, and their line numbers."""
    rows, linenos = [], []
    for k, line in enumerate(block.split(b"\n")[:-1]):
        text = line.strip()
        if not text or (comments and text[:1] == b"#"):
            continue
        try:
            rows.append(json_loads(text))
        except UnicodeDecodeError as e:
            raise line_error(name, start + k, f"invalid UTF-8: {e.reason}") from None
        except ValueError as e:
            lead = len(line) - len(line.lstrip())
            raise line_error(name, start + k, f"invalid JSON: {json_reason(e, start + k - 1, lead)}") from None
        linenos.append(start + k)
    return rows, linenos


_NUMBER_TYPES = {int, float}


def _row_columns(
    rows: Rows, name: str, linenos: List[int], what: str
) -> Tuple[Sequence[float], Sequence[str], Sequence[str]]:
    """Check that every row is ``[time, code, data]`` and split them into three columns.

    The checks run over whole columns; only a failing block is walked row by row to name
    the broken line.
    """
    if not rows:
        return (), (), ()
    try:
        # A dict or a string of length 3 gives a non-number time, anything without len() a TypeError.
        if set(map(len, rows)) == {3}:
            times, codes, datas = zip(*rows)
            if _columns_ok(times, codes, datas):
                return times, codes, datas
    except TypeError:
        pass
    for lineno, row in zip(linenos, rows):
        error = row_error(name, lineno, row, what)
        if error is not None:
            raise error
    raise AssertionError("unreachable: a block failed its checks but no row did")


def round_us(times: Sequence[object]) -> List[int]:
    """Times in seconds (JSON numbers) as whole microseconds: ``round(t * 1000000)`` of each.

    Times are floats but for hand-made files; for a batch of floats the multiplication and
    the rounding are calls of C functions that take their arguments as they are (no tuple
    per call, as a slot wrapper like ``float.__mul__`` would build), three times faster than
    the generic expression. An int time, whose product is an exact int, fails
    ``float.__round__`` and sends the batch the generic way.
    """
    try:
        return list(map(float.__round__, map(mul, times, repeat(1000000))))
    except TypeError:
        return [round(t * 1000000) for t in times]  # type: ignore[operator]  # not numbers: the TypeError is the check


def first_decrease(values: List[int], previous: int) -> Optional[int]:
    """Index of the first value smaller than the one before it (``previous`` for the first)."""
    if values[0] >= previous and all(map(le, values, values[1:])):
        return None
    prev = previous
    for k, v in enumerate(values):
        if v < prev:
            return k
        prev = v
    return None


def json_reason(e: ValueError, lines_before: int = 0, lead: int = 0) -> str:
    """The whole message of a JSON error, its position counted in the file.

    ``lines_before``: lines of the file before the decoded text; ``lead``: characters cut
    from the start of the text's first line.
    """
    if not isinstance(e, json.JSONDecodeError):
        return str(e)  # NaN and Infinity: no position
    column = e.colno + (lead if e.lineno == 1 else 0)
    return f"{e.msg}: line {e.lineno + lines_before} column {column}"


def row_error(name: str, lineno: int, row: object, what: str) -> Optional[FormatError]:
    """Say what is wrong with an event row, or None when it is fine."""
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
    return None


def check_special_events(
    recording: Recording, name: str, start: int, linenos: Optional[List[int]],
    codes: Sequence[str], datas: Sequence[str], exits: bool,
) -> Sequence[str]:
    """Validate the rare ``r`` (and, for v3, ``x``) events of a block; track the last size."""
    if RESIZE not in codes and not (exits and EXIT in codes):
        return datas
    fixed = list(datas)
    for k, code in enumerate(codes):
        if code == RESIZE:
            try:
                recording.last_size = parse_size(datas[k])
            except ValueError as e:
                raise line_error(name, linenos[k] if linenos else start + k, str(e)) from None
        elif exits and code == EXIT:
            try:
                fixed[k] = str(int(datas[k].strip()))
            except ValueError:
                lineno = linenos[k] if linenos else start + k
                raise line_error(name, lineno, f"invalid exit status: {shown_value(datas[k])}") from None
    return tuple(fixed)


_QUOTED_CODES = {c: f'"{c}"' for c in "oirmx"}
#: what stands between an event's time and its data: `, "o", `
_CODE_FIELDS = {c: f', "{c}", ' for c in "oirmx"}


def quote_code(code: str) -> str:
    """An event code as a JSON string, without a json.dumps call for the usual codes."""
    quoted = _QUOTED_CODES.get(code)
    return quoted if quoted is not None else json.dumps(code, ensure_ascii=False)


#: data at least this long is escaped by :func:`_escape_bytes`; shorter, by the C escaper
#: (one call costs less than the Python function's overhead)
LONG_DATA = 2048
#: every byte that JSON strings escape: control characters, quote and backslash
_SPECIAL = bytes(range(32)) + b'"\\'
_PLAIN = bytes(b for b in range(256) if b not in _SPECIAL)
#: (byte, escape) in the order of replacement: the backslash before what adds backslashes
_ESCAPES = [(b"\\", b"\\\\"), (b'"', b'\\"')] + [
    (bytes([c]), {8: b"\\b", 9: b"\\t", 10: b"\\n", 12: b"\\f", 13: b"\\r"}.get(c, b"\\u%04x" % c))
    for c in range(32)
]
#: more kinds of escapes than this in one text and :func:`_escape_bytes` leaves it to C
_MAX_PASSES = 8


def _escape_bytes(data: bytes, plain: bytes = _PLAIN, escapes: Sequence[Tuple[bytes, bytes]] = _ESCAPES,
                  sparse: int = 16) -> Optional[bytes]:
    """The inside of the JSON string of UTF-8 ``data``, or None where the C escaper is faster.

    The C escaper reads text character by character (about 400 MB/s). Here the bytes to
    escape are found with one ``translate`` and each kind present is replaced in its own
    C-level pass, about twice as fast on lines of text (bulk output: logs, listings, files).
    Dense escapes (colours, binary: more than one byte in ``sparse``) or many kinds of them
    are left to the C escaper. Every byte escaped is below 128, and no such byte is part of
    a longer UTF-8 sequence, so escaping the bytes is escaping the text. Bytes in ``plain``
    are kept as they are.
    """
    special = data.translate(None, plain)
    if not special:
        return data
    if len(special) * sparse > len(data):
        return None
    present = [pair for pair in escapes if pair[0] in special]
    if len(present) > _MAX_PASSES:
        return None
    for byte, escape in present:
        data = data.replace(byte, escape)
    return data


def event_lines_utf8(stamps: Iterable[str], codes: Sequence[str], datas: Sequence[str]) -> bytes:
    """:func:`event_lines` as UTF-8 bytes, for live recording: the bytes that reach the file.

    Events of a busy session are reads of up to 64 KiB, mostly ASCII. Their escaped bytes
    are joined into the output as they are, with no detour through ``str``; that saves
    three copies of every byte recorded.
    """
    parts: List[bytes] = []
    append = parts.append
    for stamp, code, data in zip(stamps, codes, datas):
        if len(data) >= LONG_DATA and data.isascii():
            inner = _escape_bytes(data.encode("ascii"))
            if inner is not None:
                append(f'[{stamp}, {quote_code(code)}, "'.encode("ascii"))
                append(inner)
                append(b'"]\n')
                continue
        # lone surrogates (from JSON "\\ud800" escapes) have no UTF-8 form
        append(f"[{stamp}, {quote_code(code)}, {encode_basestring(data)}]\n".encode("utf-8", "replace"))
    return b"".join(parts)


def event_lines(stamps: Iterable[str], codes: Sequence[str], datas: Sequence[str]) -> str:
    """``[time, "code", "data"]`` lines for columns of formatted times, codes and data.

    The lines are joined from their pieces in one C-level pass; this is the hot loop of
    every conversion. Data is escaped like serde_json and ``ensure_ascii=False``.
    """
    if set(codes) <= _CODE_FIELDS.keys():
        fields: Iterable[str] = map(_CODE_FIELDS.__getitem__, codes)
    else:
        fields = (f", {quote_code(c)}, " for c in codes)
    pieces = chain.from_iterable(zip(stamps, fields, map(encode_basestring, datas), repeat("]\n[")))
    text = "".join(pieces)
    return "[" + text[:-1] if text else ""


def code_fields(codes: Sequence[str]) -> Iterable[str]:
    """What stands between each event's time and data: ``, "o", ``."""
    if set(codes) <= _CODE_FIELDS.keys():
        return map(_CODE_FIELDS.__getitem__, codes)
    return [f", {quote_code(c)}, " for c in codes]


def single_code(codes: Sequence[str]) -> Optional[str]:
    """The code of every event of a batch when they share one of the usual codes, else None."""
    code = codes[0]
    return code if code in _CODE_FIELDS and codes.count(code) == len(codes) else None


def joined_lines(heads: Sequence[Iterable[str]], datas: Sequence[str]) -> str:
    """Event lines from their heads, given as columns of pieces, and their data.

    The pieces of each head joined are ``]\n[<time>, "<code>", `` (the end of the line
    before, then the start of this one), so each line adds only its few pieces and its
    escaped data to the one C-level join; the fewer the pieces, the faster.
    """
    text = "".join(chain.from_iterable(zip(*heads, map(encode_basestring, datas))))
    return text[2:] + "]\n" if text else ""


#: what separates the data of a batch's events in :func:`joined_data`: NUL is the rarest
#: character of terminal output (a batch whose data holds one is encoded the other way)
_PLAIN_OR_SEP = _PLAIN + b"\x00"
_ESCAPES_BUT_SEP = [pair for pair in _ESCAPES if pair[0] != b"\x00"]


def joined_data(datas: Union[Sequence[str], Sequence[bytes]]) -> Optional[bytes]:
    """The data of a batch (text, or UTF-8 already) as one UTF-8 text, separated by NULs,
    for :func:`quoted_lines`; None when a data holds a NUL of its own or has no UTF-8 form
    (a lone surrogate)."""
    if datas and type(datas[0]) is bytes:
        data = b"\x00".join(datas)  # type: ignore[arg-type]
    else:
        try:
            data = "\x00".join(datas).encode("utf-8")  # type: ignore[arg-type]
        except UnicodeEncodeError:
            return None
    return data if data.count(b"\x00") == len(datas) - 1 else None


def as_text(datas: Union[Sequence[str], Sequence[bytes]]) -> Sequence[str]:
    """The data of a batch as text, whether it came as text or as UTF-8."""
    return list(map(bytes.decode, datas)) if datas and type(datas[0]) is bytes else datas  # type: ignore


def quoted_lines(heads: Sequence[Iterable[bytes]], data: bytes) -> Optional[bytes]:
    """:func:`joined_lines` as UTF-8, from data joined by :func:`joined_data`; None where
    escaping the text whole is not worth it (see :func:`_escape_bytes`).

    The C escaper takes a string at a time, and text that isn't ASCII costs it several
    times more than ASCII, then more again to encode as UTF-8. Here the data of a whole
    batch is encoded once and escaped in a few C-level passes; the escaped text, split at
    the NULs it keeps, is joined with the heads, whose pieces joined are
    ``"]\n[<time>, "<code>", "``: they bring the quotes around each data.
    """
    # Up to one byte in four to escape: the C escaper would also have to encode every string.
    escaped = _escape_bytes(data, _PLAIN_OR_SEP, _ESCAPES_BUT_SEP, 4)
    if escaped is None:
        return None
    return b"".join(chain.from_iterable(zip(*heads, escaped.split(b"\x00"))))[3:] + b'"]\n'


def chunk_columns(events: Iterable[Event], size: int = 4096) -> Iterator[Columns]:
    """Events regrouped into batches of columns, for encoders that work on columns."""
    it = iter(events)
    while True:
        chunk = list(islice(it, size))
        if not chunk:
            return
        times, codes, datas = zip(*chunk)
        yield times, codes, datas
