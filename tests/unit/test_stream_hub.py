"""The hub on its own: an asyncio loop in the test's thread, viewers that are just
coroutines calling Subscriber.next, and a stand-in terminal."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import List, Optional

from asciinema.asciicast import Event
from asciinema.stream.alis import MAGIC, AlisDecoder, Init
from asciinema.stream.hub import CLOSED, LIVE, Hub, Limits, Subscriber

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from streamutil import FakeTerminal, replay  # noqa: E402

TIMEOUT = 60


def make(limits: Limits = Limits(snapshot_interval=0)) -> "tuple[FakeTerminal, Hub]":
    term = FakeTerminal()
    hub = Hub(term.snapshot, limits)
    term.hub = hub
    return term, hub


async def read_all(sub: Subscriber) -> List[bytes]:
    messages = []
    while True:
        message = await asyncio.wait_for(sub.next(), TIMEOUT)
        if message is None:
            return messages
        messages.append(message)


async def until(cond, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    for _ in range(TIMEOUT * 100):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_viewers_that_join_together_share_one_snapshot() -> None:
    term, hub = make()

    async def main() -> None:
        hub.bind(asyncio.get_running_loop())
        term.output("hello")
        subs = [hub.subscribe() for _ in range(50)]
        firsts = await asyncio.gather(*(s.next() for s in subs))
        assert firsts == [MAGIC] * 50
        inits = await asyncio.gather(*(asyncio.wait_for(s.next(), TIMEOUT) for s in subs))
        assert len(set(inits)) == 1
        assert term.snapshots == 1

    asyncio.run(main())


def test_events_published_while_the_snapshot_is_taken_follow_the_init_exactly_once() -> None:
    term = FakeTerminal()
    inside = threading.Event()
    go_on = threading.Event()

    def slow_snapshot() -> Init:
        inside.set()
        assert go_on.wait(TIMEOUT)
        return term.snapshot()

    hub = Hub(slow_snapshot, Limits(snapshot_interval=0))
    term.hub = hub

    async def main() -> List[bytes]:
        loop = asyncio.get_running_loop()
        hub.bind(loop)
        term.output("a")
        sub = hub.subscribe()
        reader = asyncio.ensure_future(read_all(sub))
        await loop.run_in_executor(None, inside.wait, TIMEOUT)
        for i in range(20):  # published before the snapshot reads the terminal: in the Init
            term.output(str(i))
        go_on.set()
        for i in range(20, 40):  # maybe in the Init, maybe after it: never both, never lost
            term.output(str(i))
            await asyncio.sleep(0)
        await until(lambda: sub.state == LIVE, "live")
        term.output("z")
        hub.end()
        return await reader

    messages = asyncio.run(main())
    text, ids = replay(messages)
    assert text == "a" + "".join(str(i) for i in range(40)) + "z"
    assert ids[0] <= -21  # the Init reflects "a" and the first 20 at least


def test_a_late_joiner_whose_init_is_ahead_of_the_next_event_gets_time_zero() -> None:
    def snapshot() -> Init:
        return Init(1, 5000, 80, 24, None, "x")  # the Init time runs ahead of event 2

    hub = Hub(snapshot, Limits(snapshot_interval=0))

    async def main() -> List[bytes]:
        hub.bind(asyncio.get_running_loop())
        early = hub.subscribe()
        await early.next()
        await early.next()  # Init
        late = hub.subscribe()
        await late.next()
        await late.next()  # the same Init
        hub.publish(2, Event(3000, "o", "b"))
        hub.publish(3, Event(6000, "o", "c"))
        hub.publish(4, Event(7000, "o", "d"))
        hub.end()
        return [m for m in await read_all(late)] + [b"--"] + await read_all(early)

    messages = asyncio.run(main())
    cut = messages.index(b"--")
    for part in (messages[:cut], messages[cut + 1:]):
        decoder = AlisDecoder()
        decoder.feed(MAGIC)
        decoder.feed(b"\x01\x01\x88\x27\x50\x18\x00\x01x")  # Init(1, 5000, ...)
        got = [decoder.feed(m) for m in part]
        # event 2 happened "before" the Init time: sent as 0, then times count from there
        assert got == [(2, Event(5000, "o", "b")), (3, Event(6000, "o", "c")), (4, Event(7000, "o", "d"))]


def test_a_failing_snapshot_closes_those_viewers_only() -> None:
    calls: List[int] = []

    def snapshot() -> Init:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return Init(0, 0, 80, 24)

    hub = Hub(snapshot, Limits(snapshot_interval=0))

    async def main() -> None:
        hub.bind(asyncio.get_running_loop())
        first = hub.subscribe()
        assert await first.next() == MAGIC
        assert await asyncio.wait_for(first.next(), TIMEOUT) is None
        assert first.failed and first.state == CLOSED
        second = hub.subscribe()
        assert await second.next() == MAGIC
        assert await asyncio.wait_for(second.next(), TIMEOUT) is not None
        assert not second.failed

    asyncio.run(main())


def test_nothing_is_queued_while_nobody_watches() -> None:
    term, hub = make()

    async def main() -> None:
        hub.bind(asyncio.get_running_loop())
        for i in range(1000):
            term.output("x" * 100)
        assert len(hub._inbox) == 0 and hub._published == 0
        sub = hub.subscribe()
        hub.unsubscribe(sub)
        term.output("y")
        assert len(hub._inbox) == 0

    asyncio.run(main())


def test_viewer_that_lags_gets_a_fresh_init_and_then_everything_after_it() -> None:
    term, hub = make(Limits(queue_bytes=10_000, queue_messages=50, snapshot_interval=0))

    async def main() -> List[bytes]:
        hub.bind(asyncio.get_running_loop())
        sub = hub.subscribe()
        messages = [await sub.next(), await asyncio.wait_for(sub.next(), TIMEOUT)]
        for i in range(200):  # the viewer reads nothing meanwhile
            term.output(f"<{i}>")
        await until(lambda: len(hub._inbox) == 0, "drained")
        assert sub.resyncs == 1 and not sub.queue
        messages.append(await asyncio.wait_for(sub.next(), TIMEOUT))  # a fresh Init
        term.output("end")
        hub.end()
        return messages + await read_all(sub)

    text, ids = replay(asyncio.run(main()))
    assert text == "".join(f"<{i}>" for i in range(200)) + "end"
    assert ids == [0, -200, 201]


def test_end_reaches_viewers_waiting_for_events() -> None:
    term, hub = make()

    async def main() -> Optional[bytes]:
        hub.bind(asyncio.get_running_loop())
        sub = hub.subscribe()
        await sub.next()
        await sub.next()
        waiter = asyncio.ensure_future(sub.next())
        await asyncio.sleep(0)
        threading.Thread(target=hub.end).start()
        return await asyncio.wait_for(waiter, TIMEOUT)

    assert asyncio.run(main()) is None


def test_direct_writes_and_queued_messages_keep_their_order() -> None:
    term, hub = make()
    written: List[bytes] = []
    room = [True]
    direct = [0]

    def write_now(subs: List[Subscriber], message: bytes) -> None:
        assert all(s.channel is written for s in subs)
        written.append(message)
        direct[0] += 1

    hub.write_now = write_now

    async def main() -> None:
        hub.bind(asyncio.get_running_loop())
        sub = hub.subscribe()
        sub.channel = written
        sub.writable = lambda: room[0]

        async def sender() -> None:
            while True:
                message = await sub.next()
                if message is None:
                    return
                written.append(message)
                await asyncio.sleep(0)  # a send that takes a while

        task = asyncio.ensure_future(sender())
        await until(lambda: sub.state == LIVE and sub.idle, "idle")
        for i in range(300):
            room[0] = i % 7 != 0  # now and then the socket is full: queue instead
            term.output(f"<{i}>")
            for _ in range(i % 4):  # sometimes the hub gets to it while the sender is busy
                await asyncio.sleep(0)
        hub.end()
        await asyncio.wait_for(task, TIMEOUT)

    asyncio.run(main())
    text, ids = replay(written)
    assert text == "".join(f"<{i}>" for i in range(300))
    assert ids == [0] + list(range(1, 301))
    assert 0 < direct[0] < 300  # both ways were taken
