"""Signals that would end the process at once, turned into exceptions while work must not be cut.

``play`` (the terminal must be restored) and ``convert`` (the temporary file must be removed)
both catch SIGTERM and SIGHUP this way. Armed, the first signal raises :class:`Signalled`
(KeyboardInterrupt for SIGINT) wherever the main thread is; disarmed, during the clean-up,
signals are only noted in :attr:`SignalGuard.received`, for the caller to act on afterwards.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Tuple, Union

if TYPE_CHECKING:
    from types import FrameType

    #: a signal's disposition, as ``signal.signal`` takes and returns it (None: set outside Python)
    _Handler = Union[Callable[[int, Optional[FrameType]], Any], int, None]


class Signalled(BaseException):
    """Raised from the signal handler; a BaseException so nothing on the way swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class SignalGuard:
    """Catches the signals named ``names``; ``keep_ignored`` leaves ignored ones ignored (nohup)."""

    def __init__(self, names: Sequence[str], *, keep_ignored: bool = False) -> None:
        self.names = names
        self.keep_ignored = keep_ignored
        self.armed = False
        #: the first signal received (a later one replaces SIGINT: it asks for more than ctrl+c)
        self.received: Optional[int] = None
        self._raised: Optional[int] = None  #: raised from the handler, for :meth:`check`
        self._saved: List[Tuple[int, _Handler]] = []

    def install(self) -> "SignalGuard":
        for name in self.names:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            try:
                previous = signal.signal(signum, self._handler)
            except (ValueError, OSError):  # not the main thread, or not supported here
                continue
            if self.keep_ignored and previous == signal.SIG_IGN:
                signal.signal(signum, previous)
                continue
            self._saved.append((signum, previous))
        self.armed = True
        return self

    def restore(self) -> None:
        """Disarm and put the previous handlers back."""
        self.armed = False
        for signum, previous in self._saved:
            try:
                signal.signal(signum, previous)
            except (ValueError, OSError, TypeError):
                pass
        self._saved = []

    def __enter__(self) -> "SignalGuard":
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def check(self) -> None:
        """Raise again what the handler raised, once. Python runs a handler wherever the main
        thread is, also in a finalizer or a callback whose exceptions it only prints; a loop
        that calls this before each wait then still stops instead of sleeping on. Call it
        only from the guarded work: what the handler raised is not forgotten when caught."""
        signum = self._raised
        if signum is not None:
            self._raised = None
            _raise(signum)

    def _handler(self, signum: int, frame: object) -> None:
        if self.received is None or self.received == signal.SIGINT:
            self.received = signum
        if self.armed:
            self.armed = False
            self._raised = signum
            _raise(signum)


def _raise(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Signalled(signum)
