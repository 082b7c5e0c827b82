"""What the session sends the stream process through its pipe: the start of the session and
the numbered events, as frames of bytes. Pure encoder and incremental decoder (no I/O).

A frame is a kind byte and a 4-byte little-endian length, then that many bytes:

* ``S``: the start, UTF-8 JSON ``{"cols": C, "rows": R, "theme": null | {"fg", "bg", "palette"}}``;
* ``E``: an event: its ID and time (µs) as 8-byte little-endian integers, its code (one
  ASCII byte) and its data in UTF-8 (lone surrogates kept, so that nothing is changed on the way).

IDs go up by one, but may jump: the session drops the oldest events rather than wait when
the stream process falls far behind, and the jump tells the stream process so.
"""

from __future__ import annotations

import json
import struct
from typing import List, NamedTuple, Optional, Tuple, Union

from asciinema.asciicast import Event, Theme, make_event

_HEAD = struct.Struct("<cI")
_EVENT = struct.Struct("<QQc")
_START = b"S"
_EVENT_KIND = b"E"


class Start(NamedTuple):
    cols: int
    rows: int
    theme: Optional[Theme] = None


Item = Union[Start, Tuple[int, Event]]


def encode_start(start: Start) -> bytes:
    theme = start.theme
    body = json.dumps({
        "cols": start.cols,
        "rows": start.rows,
        "theme": None if theme is None else {"fg": theme.fg, "bg": theme.bg, "palette": list(theme.palette)},
    }).encode()
    return _HEAD.pack(_START, len(body)) + body


def encode_events(events: List[Tuple[int, Event]]) -> bytes:
    parts = []
    pack_head, pack_event = _HEAD.pack, _EVENT.pack
    for event_id, (time, code, data) in events:
        body = data.encode("utf-8", "surrogatepass")
        parts.append(pack_head(_EVENT_KIND, _EVENT.size + len(body)))
        parts.append(pack_event(event_id, max(time, 0), code.encode("ascii", "replace")[:1] or b"?"))
        parts.append(body)
    return b"".join(parts)


class FrameError(ValueError):
    """Bytes that are not frames."""


class FrameDecoder:
    """Frames from a byte stream that arrives in arbitrary pieces."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> List[Item]:
        buffer = self._buffer
        buffer += data
        items: List[Item] = []
        pos = 0
        end = len(buffer)
        head_size = _HEAD.size
        while end - pos >= head_size:
            kind, size = _HEAD.unpack_from(buffer, pos)
            start = pos + head_size
            if end - start < size:
                break
            if kind == _EVENT_KIND:
                if size < _EVENT.size:
                    raise FrameError(f"event frame of {size} bytes")
                event_id, time, code = _EVENT.unpack_from(buffer, start)
                text = buffer[start + _EVENT.size:start + size].decode("utf-8", "surrogatepass")
                items.append((event_id, make_event(time, code.decode("ascii"), text)))
            elif kind == _START:
                items.append(_decode_start(bytes(buffer[start:start + size])))
            else:
                raise FrameError(f"unknown frame kind {kind!r}")
            pos = start + size
        del buffer[:pos]
        return items

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame."""
        return len(self._buffer)


def _decode_start(body: bytes) -> Start:
    try:
        value = json.loads(body)
        theme = value["theme"]
        return Start(int(value["cols"]), int(value["rows"]),
                     None if theme is None else Theme(theme["fg"], theme["bg"], tuple(theme["palette"])))
    except (ValueError, KeyError, TypeError) as e:
        raise FrameError(f"bad start frame: {e}") from None
