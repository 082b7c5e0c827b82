"""Terminal probing: the terminal's version (XTVERSION) and colours (OSC 10/11/4).

:class:`ProbeReplies` is a pure parser of the replies; :func:`probe` writes the queries to the
user's terminal and reads what comes back, giving up after a second of silence.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Mapping, Optional, Tuple

from asciinema.ttyctl import raw_mode

if TYPE_CHECKING:
    from re import Pattern

    from asciinema.asciicast import Theme

    #: primary DA, OSC replies, XTVERSION, and an ``rgb:`` colour spec
    _Res = Tuple[Pattern[bytes], Pattern[bytes], Pattern[bytes], Pattern[str]]

#: XTVERSION, foreground, background and the 16 palette colours, then primary DA, which
#: every terminal answers and so marks the end of the replies.
PROBE_QUERY = (
    b"\x1b[>0q\x1b]10;?\x07\x1b]11;?\x07"
    + b"".join(b"\x1b]4;%d;?\x07" % i for i in range(16))
    + b"\x1b[c"
)
#: seconds without any reply before giving up
PROBE_TIMEOUT = 1.0

_DA_RE: Optional[_Res] = None  # compiled lazily: most commands never probe


def _probe_res() -> _Res:
    global _DA_RE
    import re

    if _DA_RE is None:
        _DA_RE = (
            re.compile(rb"\x1b\[\?[0-9;]*c"),
            re.compile(rb"\x1b\](\d+);([^\x07\x1b]*)(?:\x07|\x1b\\)"),
            re.compile(rb"\x1bP>\|([^\x1b]*)\x1b\\"),
            re.compile(r"rgb:([0-9a-fA-F]{2,4})/([0-9a-fA-F]{2,4})/([0-9a-fA-F]{2,4})\Z"),
        )
    return _DA_RE


def parse_color(spec: str) -> Optional[str]:
    """``rgb:R/G/B`` (2-4 hex digits each; the first two count) to ``#rrggbb``."""
    m = _probe_res()[3].match(spec)
    if m is None:
        return None
    return "#" + "".join(c[:2].lower() for c in m.groups())


class ProbeReplies:
    """Pure parser of the replies to :data:`PROBE_QUERY`, in any order and any chunking.

    Everything that is not a reply (typed-ahead keys, unknown sequences) is skipped.
    """

    def __init__(self) -> None:
        self.buffer = b""
        self.done = False  #: the primary DA reply arrived
        self.version: Optional[str] = None
        self.fg: Optional[str] = None
        self.bg: Optional[str] = None
        self.palette: dict = {}

    def feed(self, data: bytes) -> None:
        da, osc, dcs, _ = _probe_res()
        self.buffer += data
        if da.search(self.buffer):
            self.done = True
        for m in dcs.finditer(self.buffer):
            self.version = m.group(1).decode("utf-8", "replace")
        for m in osc.finditer(self.buffer):
            code, body = m.group(1), m.group(2).decode("latin-1")
            if code == b"10":
                self.fg = parse_color(body) or self.fg
            elif code == b"11":
                self.bg = parse_color(body) or self.bg
            elif code == b"4":
                parts = body.split(";")
                for i in range(0, len(parts) - 1, 2):
                    color = parse_color(parts[i + 1])
                    if parts[i].isdigit() and int(parts[i]) < 16 and color:
                        self.palette[int(parts[i])] = color

    def theme(self) -> "Optional[Theme]":
        """The theme when fg, bg and all 16 palette colours were received, else None."""
        from asciinema.asciicast import Theme

        if self.fg is None or self.bg is None or len(self.palette) < 16:
            return None
        return Theme(self.fg, self.bg, tuple(self.palette[i] for i in range(16)))


def should_probe(env: "Mapping[str, str]") -> bool:
    """No probing on terminals that can't answer (``dumb``, the Linux console) or in GNU screen."""
    return env.get("TERM") not in ("dumb", "linux") and not env.get("STY")


def probe(fd: int, timeout: float = PROBE_TIMEOUT) -> ProbeReplies:
    """Ask the terminal on ``fd`` for its version and colours (raw mode meanwhile).

    Stops at the primary DA reply, or when ``timeout`` seconds pass with nothing read;
    never waits longer than ``4 * timeout`` in all.
    """
    import select
    import time

    replies = ProbeReplies()
    with raw_mode(fd):
        try:
            os.write(fd, PROBE_QUERY)
        except OSError:
            return replies
        now = time.monotonic()
        quiet_until, give_up = now + timeout, now + 4 * timeout
        while not replies.done:
            now = time.monotonic()
            left = min(quiet_until, give_up) - now
            if left <= 0:
                break
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                continue
            except OSError:
                break
            if not data:
                break
            replies.feed(data)
            quiet_until = time.monotonic() + timeout
    return replies
