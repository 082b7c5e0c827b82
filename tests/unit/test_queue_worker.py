"""The queue worker behind the file output and the terminal writer, the write-all helpers,
and outputs closed all at once."""

from __future__ import annotations

import os
import threading
from typing import Deque, List, Optional

import pytest

from asciinema.outputs import close_outputs
from asciinema.queue_worker import QueueWorker
from asciinema.write_all import write_all, writev_all

WAIT = 60  # seconds: generous, for a loaded machine


class Gate:
    """A drain that takes one item per call, and waits for the test to open the gate."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.taken: List[str] = []

    def __call__(self, items: Deque[str]) -> int:
        assert self.open.wait(WAIT)
        item = items.popleft()
        self.taken.append(item)
        return len(item)


class Wakes:
    def __init__(self) -> None:
        self.count = 0
        self.event = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()


def worker(drain, wake, **kw) -> QueueWorker[str]:  # type: ignore[no-untyped-def]
    w: QueueWorker[str] = QueueWorker("test-worker", drain, wake, high_water=10, low_water=5, **kw)
    w.start()
    return w


def test_congested_is_a_query_and_room_wakes_the_loop() -> None:
    gate, wakes = Gate(), Wakes()
    w = worker(gate, wakes)
    for _ in range(4):
        w.put("abc", 3)
    assert w.backlog() == 12
    # asking changes nothing, however often
    assert [w.congested() for _ in range(3)] == [True, True, True]
    assert wakes.count == 0
    gate.open.set()
    assert wakes.event.wait(WAIT)
    assert w.close(WAIT)
    assert gate.taken == ["abc"] * 4 and not w.congested() and w.backlog() == 0
    assert wakes.count == 1  # one wake-up for the way down


def test_room_wakes_the_loop_even_if_nobody_asked() -> None:
    gate, wakes = Gate(), Wakes()
    w = worker(gate, wakes)
    for _ in range(4):
        w.put("abc", 3)
    gate.open.set()
    assert wakes.event.wait(WAIT)
    assert w.close(WAIT)


def test_small_queues_cost_no_wake_ups() -> None:
    wakes = Wakes()
    taken: List[str] = []

    def drain(items: Deque[str]) -> int:
        taken.append(items.popleft())
        return 1

    w = worker(drain, wakes)
    for i in range(5):  # up to low water
        w.put(str(i), 1)
    assert w.close(WAIT)
    assert taken == [str(i) for i in range(5)] and wakes.count == 0


def test_begin_first_end_after_everything_put_before_close() -> None:
    log: List[str] = []

    def drain(items: Deque[str]) -> int:
        while items:
            log.append(items.popleft())
        return 0

    w = worker(drain, Wakes(), begin=lambda: log.append("<begin>"), end=lambda: log.append("<end>"), linger=0.01)
    w.put("a", 1)
    w.put("b", 1)
    assert w.close(WAIT)
    assert log == ["<begin>", "a", "b", "<end>"]


def test_a_failing_drain_stops_the_worker_and_says_why() -> None:
    wakes = Wakes()

    def drain(items: Deque[str]) -> int:
        raise OSError(28, "No space left on device")

    w = worker(drain, wakes)
    w.put("a", 1)
    assert wakes.event.wait(WAIT)
    assert isinstance(w.error, OSError) and w.error.errno == 28
    assert not w.items and w.close(WAIT)


def test_close_gives_up_after_its_timeout() -> None:
    gate = Gate()
    w = worker(gate, Wakes())
    w.put("a", 1)
    assert w.close(0.01) is False
    gate.open.set()
    assert w.close(WAIT)


class SlowOutput:
    """An output whose close waits until every output of the test is closing."""

    fatal = False

    def __init__(self, name: str, barrier: threading.Barrier, message: Optional[str] = None) -> None:
        self.name = name
        self.barrier = barrier
        self.message = message

    def close(self, timeout: float) -> Optional[str]:
        try:
            self.barrier.wait(WAIT)
        except threading.BrokenBarrierError:
            return "closed one after the other"
        return self.message


def test_outputs_are_closed_at_once() -> None:
    barrier = threading.Barrier(3)
    outputs = [SlowOutput("a", barrier), SlowOutput("b", barrier, "b failed"), SlowOutput("c", barrier)]
    assert close_outputs(outputs, WAIT) == [None, "b failed", None]  # type: ignore[arg-type]


def test_an_error_closing_an_output_is_raised_after_all_closed() -> None:
    closed: List[str] = []

    class Boom:
        fatal, name = True, "boom"

        def close(self, timeout: float) -> Optional[str]:
            raise RuntimeError("boom")

    class Fine:
        fatal, name = False, "fine"

        def close(self, timeout: float) -> Optional[str]:
            closed.append("fine")
            return None

    with pytest.raises(RuntimeError):
        close_outputs([Boom(), Fine()], WAIT)  # type: ignore[list-item]
    assert closed == ["fine"]


def test_write_all_through_a_full_nonblocking_pipe() -> None:
    r, w = os.pipe()
    os.set_blocking(w, False)
    data = os.urandom(1 << 20)  # far more than a pipe holds
    got = bytearray()

    def read() -> None:
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                return
            got.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        write_all(w, data)
        parts = [b"x" * 70000, memoryview(b"y" * 100), b"z" * 200000]
        assert writev_all(w, list(parts)) == 270100
    finally:
        os.close(w)
        reader.join(WAIT)
        os.close(r)
    assert bytes(got) == data + b"x" * 70000 + b"y" * 100 + b"z" * 200000
