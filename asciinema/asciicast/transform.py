"""Time transformations over event streams, used by ``play``: pure, lazy generators.

Both take and yield :class:`~asciinema.asciicast.Event` with times in whole microseconds, and
keep every event (only times change), so they work on recordings of any length in constant
memory. ``play`` applies idle-time limiting first, then speed.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

from asciinema.asciicast import Event, make_event


def limit_idle_time(events: Iterable[Event], limit: Optional[float]) -> Iterator[Event]:
    """Shorten every pause longer than ``limit`` seconds to ``limit``.

    The gap before an event is measured from the previous event's original time (the first
    event's from 0). Each gap longer than the limit adds its excess to an offset that is
    taken off this and all later events. ``None`` passes the events through unchanged.

    Times that go backwards (possible only in hand-made files) are not moved before the
    previous output time.
    """
    if limit is None:
        yield from events
        return
    limit_us = int(round(limit * 1_000_000))
    prev = 0  # previous original time
    last = 0  # previous new time
    offset = 0
    for event in events:
        t = event[0]
        gap = t - prev
        if gap > limit_us:
            offset += gap - limit_us
        prev = t
        new = t - offset
        if new < last:
            new = last
        last = new
        yield event if new == t else make_event(new, event[1], event[2])


def accelerate(events: Iterable[Event], speed: float) -> Iterator[Event]:
    """Divide every time by ``speed`` (> 0), rounded to whole microseconds."""
    if speed == 1.0:
        yield from events
        return
    if not speed > 0:
        raise ValueError(f"speed must be positive: {speed!r}")
    for event in events:
        yield make_event(int(event[0] / speed + 0.5), event[1], event[2])
