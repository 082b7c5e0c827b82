"""``--strip-osc``: drop the OSC sequences that carry metadata rather than anything drawn.

OSC 7 (the working directory, with the host name), OSC 1337 (iTerm2: user, host, current
directory, inline files) and OSC 633 (VS Code shell integration: every command line as
typed) show nothing on playback but are in the recorded data. They end with BEL or ST, or
where another escape sequence starts (which stays). A sequence split between events is
dropped as well: the start of one at the end of an event is held until the rest shows
whether it is one (at most :data:`asciinema.redact.HOLD_US` later), and the body of one
that has begun is dropped as it comes, however long.

Only output is changed. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import List, Optional

from asciinema.asciicast import OUTPUT, Event, make_event

_IDS = r"(?:7|1337|633)"
_WHOLE = re.compile(r"\x1b\]" + _IDS + r"(?:;[^\x07\x1b]*)?(?:\x07|\x1b\\|(?=\x1b[^\\]))")
#: one whose body has begun (its number and ';' seen, or an ESC that may start its ST) and
#: runs to the end of the text
_OPEN = re.compile(r"\x1b\]" + _IDS + r"(?:;[^\x07\x1b]*\x1b?|\x1b)\Z")
#: what could still become one: ESC, ESC ], ESC ] and part of a number, or a whole number
_PREFIX = re.compile(r"\x1b(?:\](?:1(?:3(?:37?)?)?|6(?:33?)?|7)?)?\Z")
_BODY_END = re.compile(r"[\x07\x1b]")
HOLD_US = 1_000_000


class StripOscFilter:
    """A capture filter (see :class:`asciinema.capture.Filter`)."""

    def __init__(self) -> None:
        self.held = ""  #: the start of what may be a sequence to drop
        self.held_at = 0
        self.dropping = False  #: inside the body of one
        self.last = 0

    def _event(self, time: int, text: str) -> List[Event]:
        if not text:
            return []
        self.last = max(self.last, time)
        return [make_event(self.last, OUTPUT, text)]

    def feed(self, event: Event) -> List[Event]:
        time, code, data = event[0], event[1], event[2]
        if code != OUTPUT:
            self.last = max(self.last, time)
            return [event if time >= self.last else make_event(self.last, code, data)]
        text = self.held + data
        if self.held:
            time = self.held_at
        self.held = ""
        if self.dropping:
            m = _BODY_END.search(text)
            if m is None:
                return []
            i = m.start()
            if text[i] == "\x07":
                text = text[i + 1:]
            elif i + 1 == len(text):  # ESC: ST, or the start of something else?
                self.held, self.held_at = "\x1b", time
                return []
            else:
                text = text[i + 2:] if text[i + 1] == "\\" else text[i:]
            self.dropping = False
        text = _WHOLE.sub("", text)
        m = _OPEN.search(text)
        if m is not None:
            self.dropping = True
            text = text[:m.start()]
            if m.group().endswith("\x1b"):
                self.held, self.held_at = "\x1b", time
        else:
            m = _PREFIX.search(text)
            if m is not None:
                self.held, self.held_at = m.group(), time
                text = text[:m.start()]
        return self._event(time, text)

    def deadline(self) -> Optional[int]:
        return self.held_at + HOLD_US if self.held else None

    def tick(self, now: int) -> List[Event]:
        if self.held and self.held_at + HOLD_US <= now:
            return self.flush()
        return []

    def flush(self) -> List[Event]:
        held, self.held = self.held, ""
        if self.dropping and held == "\x1b":
            return []  # the end of a dropped sequence, cut short
        return self._event(self.held_at, held)
