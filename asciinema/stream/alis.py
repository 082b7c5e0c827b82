"""ALiS v1, the binary live-stream protocol of asciinema 3 and its web player: encoder and
decoder as pure state machines (bytes in, bytes out, no I/O, no clock).

One WebSocket binary message per item: first the magic ``ALiS\\x01``, then an Init that
carries the terminal size, theme and a string that redraws the screen, then one message per
event. Integers are unsigned LEB128 varints, strings are a varint byte length plus UTF-8.
Times are microseconds; Init carries the absolute stream time and sets the base, every
event carries its time relative to the previous message. A time that would go backwards
is sent as 0 and leaves the base where it is, so the receiver's clock never runs back.
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Tuple, Union

from asciinema.asciicast import EXIT, INPUT, MARKER, OUTPUT, RESIZE, Event, Theme, make_event, parse_size

#: the WebSocket subprotocol name
SUBPROTOCOL = "v1.alis"
#: the first message of every stream
MAGIC = b"ALiS\x01"

INIT = 0x01
#: event type bytes are the event codes' ASCII values
EVENT_TYPES = {OUTPUT: 0x6F, INPUT: 0x69, RESIZE: 0x72, MARKER: 0x6D, EXIT: 0x78}

_THEME_NONE = b"\x00"
_THEME_16 = 16
_THEME_8 = 8

_SMALL = [bytes((n,)) for n in range(128)]


class Init(NamedTuple):
    """The state a viewer starts from."""

    last_id: int  #: ID of the last event the ``init`` string already reflects (0: none)
    time: int  #: absolute stream time, µs
    cols: int
    rows: int
    theme: Optional[Theme] = None
    init: str = ""  #: escape sequences that redraw the screen on a fresh terminal


def leb128(n: int) -> bytes:
    """Unsigned LEB128: 7 bits per byte, low group first, high bit set on all but the last."""
    if n < 128:
        return _SMALL[n] if n >= 0 else _negative(n)
    out = bytearray()
    while n >= 128:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _negative(n: int) -> bytes:
    raise ValueError(f"LEB128 of a negative number: {n}")


def _string(text: str) -> bytes:
    # Lone surrogates (from JSON "\ud800" escapes in a file) have no UTF-8 form.
    data = text.encode("utf-8", "replace")
    return leb128(len(data)) + data


def _rgb(color: str) -> bytes:
    return bytes.fromhex(color[1:7])


def _theme(theme: Optional[Theme]) -> bytes:
    if theme is None or len(theme.palette) not in (_THEME_8, _THEME_16):
        return _THEME_NONE
    colors = [theme.fg, theme.bg, *theme.palette]
    return bytes((len(theme.palette),)) + b"".join(_rgb(c) for c in colors)


def init_message(init: Init) -> bytes:
    return b"".join((
        b"\x01", leb128(init.last_id), leb128(max(init.time, 0)), leb128(init.cols), leb128(init.rows),
        _theme(init.theme), _string(init.init),
    ))


def _exit_status(data: str) -> int:
    try:
        return max(int(data), 0)
    except ValueError:
        return 0


def event_message(event_id: int, event: Event, base: int) -> Tuple[Optional[bytes], int]:
    """The message for ``event`` after a message at ``base`` µs, and the new base.

    None for an event ALiS has no type for (or a malformed resize); the base stays.
    """
    time, code, data = event
    type_ = EVENT_TYPES.get(code)
    if type_ is None:
        return None, base
    if code == OUTPUT or code == INPUT or code == MARKER:
        payload = _string(data)
    elif code == RESIZE:
        try:
            cols, rows = parse_size(data)
        except ValueError:
            return None, base
        payload = leb128(cols) + leb128(rows)
    else:
        payload = leb128(_exit_status(data))
    if time > base:
        rel = time - base
        base = time
    else:
        rel = 0
    return b"".join((_SMALL[type_], leb128(event_id), leb128(rel), payload)), base


class AlisEncoder:
    """One viewer's (or one relay's) ALiS stream: remembers the time base between messages."""

    def __init__(self) -> None:
        self.time = 0  #: µs of the last message; event times are sent relative to it

    def init(self, init: Init) -> bytes:
        self.time = max(init.time, 0)
        return init_message(init)

    def event(self, event_id: int, event: Event) -> Optional[bytes]:
        """The message for ``event``; None for events that have no ALiS form."""
        message, self.time = event_message(event_id, event, self.time)
        return message


# --------------------------------------------------------------------------- decoding


class AlisError(ValueError):
    """A malformed ALiS message."""


def read_leb128(data: bytes, pos: int) -> Tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise AlisError("truncated varint")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _read_string(data: bytes, pos: int) -> Tuple[str, int]:
    length, pos = read_leb128(data, pos)
    end = pos + length
    if end > len(data):
        raise AlisError("truncated string")
    try:
        return data[pos:end].decode("utf-8"), end
    except UnicodeDecodeError as e:
        raise AlisError(f"invalid UTF-8 in string: {e}") from None


def _read_theme(data: bytes, pos: int) -> Tuple[Optional[Theme], int]:
    if pos >= len(data):
        raise AlisError("truncated theme")
    count = data[pos]
    pos += 1
    if count == 0:
        return None, pos
    if count not in (_THEME_8, _THEME_16):
        raise AlisError(f"invalid theme palette size: {count}")
    end = pos + 3 * (2 + count)
    if end > len(data):
        raise AlisError("truncated theme")
    colors = ["#" + data[i:i + 3].hex() for i in range(pos, end, 3)]
    return Theme(colors[0], colors[1], tuple(colors[2:])), end


Decoded = Union[bytes, Init, Tuple[int, Event]]


class AlisDecoder:
    """Turns received messages back into the magic, Inits and ``(id, Event)`` pairs with
    absolute times."""

    def __init__(self) -> None:
        self.started = False
        self.time = 0

    def feed(self, message: bytes) -> Decoded:
        if not self.started:
            if message != MAGIC:
                raise AlisError(f"not an ALiS v1 stream: first message {message[:8]!r}")
            self.started = True
            return message
        if not message:
            raise AlisError("empty message")
        type_ = message[0]
        if type_ == INIT:
            last_id, pos = read_leb128(message, 1)
            time, pos = read_leb128(message, pos)
            cols, pos = read_leb128(message, pos)
            rows, pos = read_leb128(message, pos)
            theme, pos = _read_theme(message, pos)
            text, pos = _read_string(message, pos)
            self._end(message, pos)
            self.time = time
            return Init(last_id, time, cols, rows, theme, text)
        code = _CODES.get(type_)
        if code is None:
            raise AlisError(f"unknown message type: {type_:#04x}")
        event_id, pos = read_leb128(message, 1)
        rel, pos = read_leb128(message, pos)
        if code == RESIZE:
            cols, pos = read_leb128(message, pos)
            rows, pos = read_leb128(message, pos)
            data = f"{cols}x{rows}"
        elif code == EXIT:
            status, pos = read_leb128(message, pos)
            data = str(status)
        else:
            data, pos = _read_string(message, pos)
        self._end(message, pos)
        self.time += rel
        return event_id, make_event(self.time, code, data)

    @staticmethod
    def _end(message: bytes, pos: int) -> None:
        if pos != len(message):
            raise AlisError(f"{len(message) - pos} bytes after the end of a message")


_CODES = {type_: code for code, type_ in EVENT_TYPES.items()}


def decode_all(messages: List[bytes]) -> List[Decoded]:
    """Every message of a stream decoded, in order."""
    decoder = AlisDecoder()
    return [decoder.feed(m) for m in messages]
