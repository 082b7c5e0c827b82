"""When the remote stream's forwarder reconnects, and what it tells the user: a pure state
machine, as asciinema 3 behaves. Time and randomness are passed in; no I/O, no clock.

* A connection that stays up :data:`ESTABLISHED` seconds counts as established: the attempt
  counter starts again from zero, and if failures came before it the user hears
  ``Connected to the server`` (never connected before) or ``Reconnected to the server``.
* The first failure of a series says ``Cannot connect to the server, retrying...`` (never
  connected yet) or ``Disconnected from the server, reconnecting...``; the ones after it
  say nothing.
* After a failure the forwarder waits a random delay, uniform in
  ``[0, min(BASE_DELAY * 2**attempt, MAX_DELAY))``, the attempt counted up to :data:`MAX_ATTEMPT`.
* Some ends are final: the session is over (no notice), the server closed the stream
  cleanly (1000 or 4000-4099), the server refused the protocol (HTTP 400 on the handshake)
  or does not know it (no subprotocol in its reply).
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Tuple

#: seconds a connection must stay up to count as established
ESTABLISHED = 3.0
#: the first delay's bound (s), doubled at each attempt
BASE_DELAY = 0.5
#: no delay is longer than this (s)
MAX_DELAY = 10.0
#: the attempt counter stops growing here
MAX_ATTEMPT = 10

# How a connection (or an attempt at one) ended.
FINISHED = "finished"  #: the session ended and the stream was closed by us
HALTED = "halted"  #: the server closed with 1000 or 4000-4099
INCOMPATIBLE = "incompatible"  #: HTTP 400 on the handshake
TOO_OLD = "too old"  #: the server accepted the WebSocket without the subprotocol
FAILED = "failed"  #: anything else: refused, dropped, timed out, another close code

CONNECTED = "Connected to the server"
RECONNECTED = "Reconnected to the server"
CANNOT_CONNECT = "Cannot connect to the server, retrying..."
DISCONNECTED = "Disconnected from the server, reconnecting..."
HALTED_NOTICE = "Stream halted by the server"
INCOMPATIBLE_NOTICE = "CLI not compatible with the server, forwarding failed"
TOO_OLD_NOTICE = "The server version is too old, forwarding failed"

_FINAL_NOTICES = {FINISHED: None, HALTED: HALTED_NOTICE, INCOMPATIBLE: INCOMPATIBLE_NOTICE, TOO_OLD: TOO_OLD_NOTICE}


class Next(NamedTuple):
    """What to do after a connection ended."""

    notices: Tuple[str, ...]  #: to tell the user, in this order
    stop: bool  #: forwarding is over
    delay: float = 0.0  #: seconds to wait before the next attempt (when not stopping)


def is_clean_close(code: Optional[int]) -> bool:
    """A Close code from the server that ends the stream for good (not a failure)."""
    return code is not None and (code == 1000 or 4000 <= code <= 4099)


class Reconnect:
    def __init__(self) -> None:
        self.attempt = 0  #: failures since the last established connection (capped)
        self.ever_connected = False  #: a connection was established once
        self._since: Optional[float] = None  #: when the current connection opened

    def opened(self, now: float) -> None:
        """A connection is open (handshake done) at ``now``."""
        self._since = now

    def tick(self, now: float) -> Optional[str]:
        """Call while connected (at the latest :data:`ESTABLISHED` s after :meth:`opened`);
        the notice when the connection has just become established."""
        since = self._since
        if since is None or now - since < ESTABLISHED:
            return None
        self._since = None
        notice = None
        if self.attempt > 0:
            notice = RECONNECTED if self.ever_connected else CONNECTED
        self.ever_connected = True
        self.attempt = 0
        return notice

    def ended(self, how: str, now: float, random: Callable[[], float]) -> Next:
        """The connection (or the attempt) ended ``how`` at ``now``; ``random()`` is uniform
        in [0, 1)."""
        established = self.tick(now)  # a connection that lasted long enough was established
        self._since = None
        notices: Tuple[str, ...] = () if established is None else (established,)
        if how in _FINAL_NOTICES:
            final = _FINAL_NOTICES[how]
            return Next(notices if final is None else notices + (final,), True)
        if self.attempt == 0:
            notices += (DISCONNECTED if self.ever_connected else CANNOT_CONNECT,)
        delay = random() * min(BASE_DELAY * 2 ** self.attempt, MAX_DELAY)
        self.attempt = min(self.attempt + 1, MAX_ATTEMPT)
        return Next(notices, False, delay)
