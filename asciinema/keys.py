"""The session hotkeys as a pure state machine: one terminal read in, one action out.

No I/O and no clock here; :class:`asciinema.session.Session` acts on the result.

A key triggers only when a single read returns exactly its bytes, as in asciinema 3: a paste or a
burst of typed-ahead input that happens to contain the key is passed through unchanged.
With a prefix key configured, the pause and marker keys act only right after the prefix;
the prefix pressed twice sends one literal prefix to the program, and the prefix followed
by any other key sends that key.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

#: send ``data`` on to the program
FORWARD = "forward"
#: toggle pause/resume of the capture
PAUSE = "pause"
#: add a marker event
MARKER = "marker"
#: the prefix key was pressed: nothing is sent
PREFIX = "prefix"


class Action(NamedTuple):
    kind: str
    data: bytes = b""


class Hotkeys:
    """Recognises the prefix, pause and add-marker keys (each None when disabled)."""

    def __init__(
        self,
        prefix: Optional[bytes] = None,
        pause: Optional[bytes] = None,
        marker: Optional[bytes] = None,
    ) -> None:
        self.prefix = prefix or None
        self.pause = pause or None
        self.marker = marker or None
        self.prefix_mode = False

    def feed(self, chunk: bytes) -> Action:
        """The action for one read of input ``chunk``."""
        if self.prefix is not None and not self.prefix_mode:
            if chunk == self.prefix:
                self.prefix_mode = True
                return Action(PREFIX)
            return Action(FORWARD, chunk)
        self.prefix_mode = False
        if self.pause is not None and chunk == self.pause:
            return Action(PAUSE)
        if self.marker is not None and chunk == self.marker:
            return Action(MARKER)
        return Action(FORWARD, chunk)
