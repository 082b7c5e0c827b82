"""The remote stream's reconnection policy (asciinema/stream/reconnect.py): notices, delays
and stops, as asciinema 3 has them, with time and randomness given."""

from __future__ import annotations

from typing import List, Tuple

from hypothesis import given
from hypothesis import strategies as st

from asciinema.stream import reconnect as rc
from asciinema.stream.reconnect import FAILED, FINISHED, HALTED, INCOMPATIBLE, TOO_OLD, Next, Reconnect, \
    is_clean_close


def top(x: float = 0.999999) -> float:
    return x


def test_a_server_that_is_never_there() -> None:
    p = Reconnect()
    steps = [p.ended(FAILED, float(i), top) for i in range(14)]
    assert steps[0].notices == ("Cannot connect to the server, retrying...",)
    assert all(s.notices == () for s in steps[1:])  # once per series
    assert not any(s.stop for s in steps)
    bounds = [0.5, 1, 2, 4, 8, 10, 10, 10, 10, 10, 10, 10, 10, 10]
    assert [round(s.delay, 3) for s in steps] == [round(b * 0.999999, 3) for b in bounds]
    assert p.attempt == rc.MAX_ATTEMPT


def test_established_after_three_seconds_resets_the_series() -> None:
    p = Reconnect()
    p.opened(0.0)
    assert p.tick(2.9) is None
    assert p.tick(3.0) is None  # established, but no failure came before: nothing to say
    assert p.ever_connected
    step = p.ended(FAILED, 100.0, top)
    assert step.notices == ("Disconnected from the server, reconnecting...",)
    assert step.delay < 0.5
    p.ended(FAILED, 101.0, top)
    p.opened(102.0)
    assert p.tick(104.9) is None
    assert p.tick(105.0) == "Reconnected to the server"
    assert p.tick(106.0) is None  # said once
    assert p.attempt == 0


def test_first_connection_after_failures_says_connected() -> None:
    p = Reconnect()
    assert p.ended(FAILED, 0.0, top).notices == ("Cannot connect to the server, retrying...",)
    p.opened(1.0)
    assert p.tick(4.0) == "Connected to the server"


def test_a_short_connection_does_not_end_the_series() -> None:
    p = Reconnect()
    p.ended(FAILED, 0.0, top)
    p.opened(1.0)
    step = p.ended(FAILED, 2.0, top)  # up for a second only
    assert step.notices == ()
    assert p.attempt == 2 and not p.ever_connected


def test_a_connection_that_ends_after_three_seconds_counts_as_established() -> None:
    # without a tick in between (the timer did not fire first): both notices, in order
    p = Reconnect()
    p.ended(FAILED, 0.0, top)
    p.opened(1.0)
    step = p.ended(FAILED, 10.0, top)
    assert step.notices == ("Connected to the server", "Disconnected from the server, reconnecting...")
    assert step.delay < 0.5


def test_final_ends() -> None:
    cases = {
        FINISHED: (),
        HALTED: ("Stream halted by the server",),
        INCOMPATIBLE: ("CLI not compatible with the server, forwarding failed",),
        TOO_OLD: ("The server version is too old, forwarding failed",),
    }
    for how, notices in cases.items():
        p = Reconnect()
        assert p.ended(how, 0.0, top) == Next(notices, True)
        p = Reconnect()
        p.ended(FAILED, 0.0, top)
        assert p.ended(how, 1.0, top) == Next(notices, True)  # also in the middle of a series


def test_clean_close_codes() -> None:
    assert [c for c in (None, 999, 1000, 1001, 1006, 1011, 3999, 4000, 4002, 4099, 4100, 4101) if is_clean_close(c)] \
        == [1000, 4000, 4002, 4099]


@given(st.lists(st.tuples(st.sampled_from(["fail", "open", "tick"]), st.floats(0, 20), st.floats(0, 0.999999)),
                max_size=60))
def test_any_history(history: List[Tuple[str, float, float]]) -> None:
    """Whatever happens: delays within the capped bound, the attempt counter capped, a
    failure notice only at the start of a series, a connected notice only after failures
    and once per connection."""
    p = Reconnect()
    now = 0.0
    since = None  # when the open connection opened, until it is established
    series = False  # failures since the last established connection
    connected_once = False
    for what, dt, r in history:
        now += dt
        expected: List[str] = []
        if since is not None and now - since >= rc.ESTABLISHED and what != "open":
            if series:
                expected.append("Reconnected to the server" if connected_once else "Connected to the server")
            series, connected_once, since = False, True, None
        if what == "open":
            p.opened(now)
            since = now
            continue
        established = connected_once and since is None and not series
        if what == "tick":
            notice = p.tick(now)
            assert ([notice] if notice else []) == expected
            if established:
                assert p.attempt == 0
            continue
        attempt = 0 if established else p.attempt
        step = p.ended(FAILED, now, lambda: r)
        since = None
        assert not step.stop
        assert step.delay == r * min(0.5 * 2 ** attempt, 10.0)
        assert 0 <= step.delay < 10.0
        assert p.attempt == min(attempt + 1, rc.MAX_ATTEMPT)
        if not series:
            expected.append("Disconnected from the server, reconnecting..." if connected_once
                            else "Cannot connect to the server, retrying...")
        assert list(step.notices) == expected
        series = True
