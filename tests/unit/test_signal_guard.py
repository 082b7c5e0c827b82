"""SignalGuard: signals as exceptions while armed, only noted while not, and raised again by
``check`` when Python dropped the first exception (a handler run inside a finalizer)."""

from __future__ import annotations

import gc
import os
import signal
import sys
from typing import List

import pytest

from asciinema.asciicast import Event
from asciinema.player import KeyReader, Player, run
from asciinema.signal_guard import SignalGuard, Signalled

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class _KillsInFinalizer:
    """Sends ``signum`` to this process from ``__del__``: Python runs the handler there, and an
    exception raised in a finalizer is only passed to ``sys.unraisablehook``."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        os.kill(os.getpid(), self.signum)
        for _ in range(1000):  # bytecode to run the handler at (the signal is pending by now)
            pass


def _drop_in_finalizer(signum: int) -> List[BaseException]:
    dropped: List[BaseException] = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = lambda u: dropped.append(u.exc_value)  # type: ignore[assignment, misc]
    try:
        obj = _KillsInFinalizer(signum)
        del obj
        gc.collect()
    finally:
        sys.unraisablehook = old_hook
    return dropped


@pytest.mark.parametrize("name,expected", [("SIGINT", KeyboardInterrupt), ("SIGUSR1", Signalled)])
def test_an_exception_dropped_in_a_finalizer_is_raised_again_by_check(name: str, expected: type) -> None:
    signum = getattr(signal, name)
    before = signal.getsignal(signum)
    with SignalGuard((name,)) as guard:
        dropped = _drop_in_finalizer(signum)
        assert [type(e) for e in dropped] == [expected]  # what the loop would never have seen
        assert guard.received == signum and not guard.armed
        with pytest.raises(expected):
            guard.check()
        guard.check()  # once only
    assert signal.getsignal(signum) == before


def test_disarmed_signals_are_only_noted_and_a_later_one_replaces_sigint() -> None:
    with SignalGuard(("SIGINT", "SIGUSR1")) as guard:
        guard.armed = False
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGUSR1)
        for _ in range(1000):
            pass
        assert guard.received == signal.SIGUSR1
        guard.check()  # nothing was raised: nothing to raise again


def _o(t: int, text: str) -> Event:
    return Event(t, "o", text)


def test_playback_stops_at_check_before_waiting_for_the_next_event() -> None:
    """The playback loop asks ``check`` before each wait: a recording whose next event is
    an hour away ends at once when the check raises."""
    written: List[str] = []
    calls: List[int] = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 2:  # after the first event was written
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(Player([_o(0, "a"), _o(1_000, "b"), _o(3_600_000_000, "never")]), written.append, KeyReader(None), check)
    assert "".join(written) in ("a", "ab")
