"""The remote forwarder (asciinema/stream/forwarder.py) in this process, fed by a Broadcast
as in the stream process, against tests/server_producer.py: a server that stops reading
is given up after the send timeout, and the next connection starts from the live screen;
the forwarder ends promptly whatever the server does."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import List

import pytest

from asciinema.asciicast import Event
from asciinema.stream import forwarder
from asciinema.stream.broadcast import Broadcast
from asciinema.stream.forwarder import Forwarder
from asciinema.stream.hub import Limits
from asciinema.vt import Terminal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from server_producer import HANG, STALL, Plan, ProducerServer  # noqa: E402

TIMEOUT = 60


def screen(text: str) -> object:
    term = Terminal(80, 24, collect=False)
    term.feed(text)
    buffer = term.screen.buffer
    cursor = term.cursor
    return [[tuple(buffer[y][x]) for x in range(80)] for y in range(24)], (cursor.x, cursor.y)


class Feed:
    def __init__(self, broadcast: Broadcast) -> None:
        self.b = broadcast
        self.last_id = 0
        self.printed: List[str] = []

    def output(self, text: str) -> None:
        self.last_id += 1
        self.b.send(self.last_id, Event(self.last_id * 1000, "o", text))
        self.printed.append(text)


def test_a_stalled_server_is_left_and_the_next_connection_starts_from_the_screen(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forwarder, "SEND_TIMEOUT", 0.5)
    notices: List[str] = []
    with ProducerServer([Plan(STALL, after=3)], default=Plan()) as server:
        fwd = Forwarder(server.url, "asciinema/test", notices.append, random=lambda: 0.0)
        b = Broadcast([fwd], Limits(queue_bytes=64 << 10, queue_messages=256))
        b.start(80, 24)
        feed = Feed(b)
        feed.output("first\r\n")
        server.wait_for(lambda: server.connections and server.connections[0].received >= 2, "the Init")
        deadline = time.monotonic() + TIMEOUT
        i = 0
        while len(server.connections) < 2:  # a flood until the stalled connection is given up
            assert time.monotonic() < deadline, server.summary()
            i += 1
            feed.output(f"line {i} " + "x" * 2000 + "\r\n")
            if i % 64 == 0:
                time.sleep(0.001)
        feed.output("\x1b[H\x1b[2Jafter the stall\r\n")
        server.wait_for(lambda: "after the stall" in server.connections[1].output(), "the second connection")
        feed.output("the end\r\n")
        started = time.monotonic()
        b.close(4.0)
        assert time.monotonic() - started < TIMEOUT
        second = server.connections[1]
        assert second.closed.wait(TIMEOUT)
    assert server.connections[0].error is None and second.error is None
    assert second.close == (1000, "ended")
    inits = second.inits
    assert inits and second.items[0] == inits[0]  # the magic, then an Init
    # the screen was cleared after the flood: what follows the clear is all it shows
    assert screen(second.output()) == screen("".join(feed.printed[-2:]))
    assert notices in (["Cannot connect to the server, retrying..."],
                       ["Connected to the server", "Disconnected from the server, reconnecting..."])


def test_closing_does_not_wait_for_a_handshake_that_never_ends() -> None:
    with ProducerServer(default=Plan(HANG)) as server:
        fwd = Forwarder(server.url, "asciinema/test", lambda _: None)
        b = Broadcast([fwd])
        b.start(80, 24)
        Feed(b).output("hello\r\n")
        server.wait_for(lambda: server.attempts >= 1, "a connection attempt")
        started = time.monotonic()
        b.close(2.0)
        took = time.monotonic() - started
        assert fwd._thread is not None and not fwd._thread.is_alive()
    assert took < 2.0 + 5, took  # its own bound, with slack for a busy machine


def test_notices_of_a_server_that_is_not_there() -> None:
    with ProducerServer() as server:
        url = server.url
    notices: List[str] = []
    fwd = Forwarder(url, "asciinema/test", notices.append, random=lambda: 0.0)
    b = Broadcast([fwd])
    b.start(80, 24)
    deadline = time.monotonic() + TIMEOUT
    while not notices:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    b.close(2.0)
    assert notices == ["Cannot connect to the server, retrying..."]
