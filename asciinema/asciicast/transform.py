"""Transformations over event streams: pure, lazy generators.

The time transformations, used by ``play``, take and yield
:class:`~asciinema.asciicast.Event` with times in whole microseconds, and keep every event
(only times change), so they work on recordings of any length in constant memory. ``play``
applies idle-time limiting first, then speed.

:func:`filter_batches` runs a recording through the capture filters (redaction, OSC
stripping) for ``convert``, with the recording's own times as the clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator, List, Optional, Sequence

from asciinema.asciicast import Columns, Event, make_event

if TYPE_CHECKING:
    from asciinema.capture import Filter


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


class FilterChain:
    """Events through ``filters`` in order, each filter's deadlines kept by the events' times:
    before an event goes in, what the filters hold that is due by its time goes out."""

    def __init__(self, filters: Sequence[Filter]) -> None:
        self.filters = list(filters)

    def feed(self, event: Event) -> List[Event]:
        out = self.tick(event[0])
        out.extend(self._through([event], 0))
        return out

    def tick(self, now: int) -> List[Event]:
        out: List[Event] = []
        for i, f in enumerate(self.filters):
            deadline = f.deadline()
            if deadline is not None and deadline <= now:
                out.extend(self._through(f.tick(now), i + 1))
        return out

    def flush(self) -> List[Event]:
        out: List[Event] = []
        for i, f in enumerate(self.filters):
            out.extend(self._through(f.flush(), i + 1))
        return out

    def _through(self, events: List[Event], first: int) -> List[Event]:
        for f in self.filters[first:]:
            if not events:
                break
            passed: List[Event] = []
            for event in events:
                passed.extend(f.feed(event))
            events = passed
        return events


def filter_batches(batches: Iterable[Columns], filters: Sequence[Filter]) -> Iterator[Columns]:
    """The batches of a recording through ``filters`` (see :class:`FilterChain`)."""
    chain = FilterChain(filters)
    for columns in batches:
        out: List[Event] = []
        feed = chain.feed
        for event in zip(*columns):
            out.extend(feed(event))  # type: ignore[arg-type]  # plain tuples, used as Events
        if out:
            yield _columns(out)
    out = chain.flush()
    if out:
        yield _columns(out)


def _columns(events: List[Event]) -> Columns:
    times, codes, datas = zip(*events)
    return times, codes, datas
