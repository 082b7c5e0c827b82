"""The local live stream driven in-process, as the session drives it: events in through
``send``, viewers on loopback through websockets clients. :class:`LiveStreamOutput` (the
session's side: a pipe to a stream process) end to end, and :class:`Broadcast` (what the
stream process runs: the virtual terminal fed lazily, the hub, the server) in this process,
where its insides can be watched."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Tuple, Union

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from asciinema.asciicast import Event, Header, Theme, make_event
from asciinema.errors import AsciinemaError
from asciinema.stream import broadcast as bc
from asciinema.stream import live
from asciinema.stream.alis import MAGIC, AlisDecoder, Init
from asciinema.stream.broadcast import Broadcast
from asciinema.stream.frames import FrameDecoder, FrameError, Start, encode_events, encode_start
from asciinema.stream.hub import LIVE, Limits
from asciinema.stream.live import LiveStreamOutput
from asciinema.stream.server import StreamServer
from asciinema.vt import Terminal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from streamutil import pin_send_buffer, recv_all, wait_for  # noqa: E402

TIMEOUT = 60
THEME = Theme("#cccccc", "#000000", tuple(f"#{i:02x}{i:02x}{i:02x}" for i in range(0, 160, 10)))


Output = Union[LiveStreamOutput, Broadcast]


class Session:
    """Stands in for the session loop: the clock, the events, the wake-ups; and a terminal
    fed with the same output, the screen every viewer must end up with."""

    def __init__(self, out: Output, cols: int = 80, rows: int = 24) -> None:
        self.out = out
        self.time = 0
        self.last_id = 0
        self.wakes = 0
        self.reference = Terminal(cols, rows, collect=False)
        if isinstance(out, Broadcast):
            out.start(cols, rows, THEME)
        else:
            out.start(Header(cols, rows, theme=THEME), self.wake)

    def wake(self) -> None:
        self.wakes += 1

    def send(self, code: str, data: str) -> None:
        self.time += 1000
        if code == "o":
            self.reference.feed(data)
        elif code == "r":
            cols, rows = map(int, data.split("x"))
            self.reference.resize(cols, rows)
        self.send_event(make_event(self.time, code, data))

    def send_event(self, event: Event) -> None:
        self.last_id += 1
        if isinstance(self.out, Broadcast):
            self.out.send(self.last_id, event)
        else:
            self.out.send(event)

    def output(self, text: str) -> None:
        self.send("o", text)


@pytest.fixture
def out() -> Iterator[LiveStreamOutput]:
    o = LiveStreamOutput("127.0.0.1:0")
    o.open()
    try:
        yield o
    finally:
        o.close(TIMEOUT)


def make_broadcast(limits: Limits = Limits()) -> Broadcast:
    server = StreamServer(None, "127.0.0.1", 0)  # type: ignore[arg-type]
    server.bind()
    return Broadcast([server], limits)


@pytest.fixture
def b() -> Iterator[Broadcast]:
    o = make_broadcast()
    try:
        yield o
    finally:
        o.close(TIMEOUT)


def port_of(out: Output) -> int:
    server = out.consumers[0] if isinstance(out, Broadcast) else out.server
    assert isinstance(server, StreamServer)
    return server.port


def ws_url(out: Output) -> str:
    return f"ws://127.0.0.1:{port_of(out)}/ws"


def state(term: Terminal) -> object:
    """What a viewer sees: the rows with their colours and attributes, the cursor, and which
    screen is shown (with the primary one under the alternate screen)."""
    screen = term.screen

    def cells(buffer: object) -> List[List[Tuple[object, ...]]]:
        return [[tuple(buffer[y][x]) for x in range(term.cols)] for y in range(term.rows)]  # type: ignore[index]

    cursor = term.cursor
    return (term.cols, term.rows, term.display, cells(screen.buffer), term.alt_active,
            [line.rstrip() for line, _ in term.screen_lines()], (cursor.x, cursor.y, cursor.hidden))


class Viewer:
    """A viewer's screen rebuilt from what it received: a fresh terminal at each Init."""

    def __init__(self) -> None:
        self.decoder = AlisDecoder()
        self.term: Optional[Terminal] = None
        self.inits: List[Init] = []
        self.ids: List[int] = []  #: event IDs, and each Init's last ID as a negative number
        self.items: List[object] = []
        self.expected = 0

    def feed(self, message: bytes) -> None:
        item = self.decoder.feed(message)
        self.items.append(item)
        if isinstance(item, Init):
            self.inits.append(item)
            self.term = Terminal(item.cols, item.rows, collect=False)
            self.term.feed(item.init)
            self.ids.append(-item.last_id)
            self.expected = item.last_id + 1
        elif isinstance(item, tuple):
            event_id, event = item
            assert event_id == self.expected, f"got event {event_id}, expected {self.expected}"
            self.expected += 1
            self.ids.append(event_id)
            assert self.term is not None
            if event.code == "o":
                self.term.feed(event.data)
            elif event.code == "r":
                cols, rows = map(int, event.data.split("x"))
                self.term.resize(cols, rows)


def joiner(out: Output, last_id: int, reference: Optional[Terminal] = None,
           resyncs: bool = False) -> Tuple[Init, Terminal]:
    """A viewer that joins now: its (last) Init, and a fresh terminal fed with it and with
    the events after it that the stream had not taken in yet: up to ``last_id`` (a Broadcast,
    whose IDs are the sender's), or until its screen is ``reference``'s (the stream process
    numbers events on its own). With ``resyncs``, the viewer may be re-synced with a fresh
    Init meanwhile (it joins while the stream process catches up on a flood)."""
    with connect(ws_url(out), subprotocols=["v1.alis"], open_timeout=TIMEOUT, max_size=None) as ws:
        assert ws.recv(timeout=TIMEOUT) == MAGIC
        viewer = Viewer()
        viewer.decoder.feed(MAGIC)
        viewer.feed(ws.recv(timeout=TIMEOUT))  # type: ignore[arg-type]
        assert viewer.term is not None
        if reference is None:
            while viewer.expected <= last_id:
                viewer.feed(ws.recv(timeout=TIMEOUT))  # type: ignore[arg-type]
        else:
            deadline = time.monotonic() + TIMEOUT
            while state(viewer.term) != state(reference) and time.monotonic() < deadline:
                try:
                    viewer.feed(ws.recv(timeout=0.1))  # type: ignore[arg-type]
                except TimeoutError:
                    pass
    assert len(viewer.inits) == 1 or (resyncs and viewer.inits), viewer.inits
    return viewer.inits[-1], viewer.term


# ---------------------------------------------------------------------------- the stream


def test_magic_init_events_exit_then_close_1000(out: LiveStreamOutput) -> None:
    s = Session(out)
    with connect(ws_url(out), subprotocols=["v1.alis"], open_timeout=TIMEOUT) as ws:
        assert ws.recv(timeout=TIMEOUT) == MAGIC
        decoder = AlisDecoder()
        decoder.feed(MAGIC)
        init = decoder.feed(ws.recv(timeout=TIMEOUT))  # type: ignore[arg-type]
        assert isinstance(init, Init)
        assert (init.last_id, init.cols, init.rows, init.theme) == (0, 80, 24, THEME)
        assert init.time < 60_000_000  # the time since the session started
        s.time = 100_000_000
        s.output("one\r\n")
        s.send("r", "100x30")
        s.send("m", "mark")
        s.send("i", "x")
        s.output("two")
        s.send("x", "3")
        assert out.close(TIMEOUT) is None
        messages, code, reason = recv_all(ws)
    assert (code, reason) == (1000, "Stream ended")
    items = [decoder.feed(m) for m in messages]
    assert [(i, e.time, e.code, e.data) for i, e in items] == [  # type: ignore[misc]
        (1, 100_001_000, "o", "one\r\n"), (2, 100_002_000, "r", "100x30"), (3, 100_003_000, "m", "mark"),
        (4, 100_004_000, "i", "x"), (5, 100_005_000, "o", "two"), (6, 100_006_000, "x", "3")]
    assert out.failure() is None and s.wakes == 0


def test_url_and_busy_port() -> None:
    out = LiveStreamOutput("127.0.0.1:0")
    try:
        url = out.open()
        assert url == f"http://127.0.0.1:{out.server.port}"
        busy = LiveStreamOutput(f"127.0.0.1:{out.server.port}")
        with pytest.raises(AsciinemaError, match="^cannot start listener: Address already in use$"):
            busy.open()
        busy.close(TIMEOUT)
    finally:
        out.close(TIMEOUT)
    lan = LiveStreamOutput("0.0.0.0:0")
    try:
        assert lan.open().startswith("http://0.0.0.0:") and "/s/" in lan.url
    finally:
        lan.close(TIMEOUT)


def test_the_stream_runs_in_a_process_of_its_own() -> None:
    before = threading.active_count()
    out = LiveStreamOutput("127.0.0.1:0")
    try:
        out.open()
        pid = out.pid
        assert pid is not None
        # The session forks its program after open: no thread of ours may run by then.
        assert threading.active_count() == before
        # Keys that signal the session's process group (before raw mode) leave it alone.
        wait_for(lambda: os.getpgid(pid) == pid, TIMEOUT, "its own process group")
        Session(out)
        assert threading.active_count() > before
    finally:
        out.close(TIMEOUT)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped
    wait_for(lambda: threading.active_count() <= before, TIMEOUT, "threads gone")


def test_a_viewer_connecting_before_the_session_starts_is_served_once_it_does() -> None:
    out = LiveStreamOutput("127.0.0.1:0")
    try:
        out.open()
        got: List[object] = []

        def view() -> None:
            with connect(ws_url(out), subprotocols=["v1.alis"], open_timeout=TIMEOUT) as ws:
                got.append(ws.recv(timeout=TIMEOUT))
                got.append(ws.recv(timeout=TIMEOUT))

        viewer = threading.Thread(target=view)
        viewer.start()
        time.sleep(0.1)
        Session(out, 100, 40)
        viewer.join(TIMEOUT)
        assert got[0] == MAGIC
        decoder = AlisDecoder()
        decoder.feed(MAGIC)
        init = decoder.feed(got[1])  # type: ignore[arg-type]
        assert isinstance(init, Init) and (init.last_id, init.cols, init.rows) == (0, 100, 40)
    finally:
        out.close(TIMEOUT)


# ---------------------------------------------------------------------------- late joiners


def full_screen_program(cols: int, rows: int) -> List[str]:
    """Output of a shell, then an editor-like program on the alternate screen."""
    chunks = ["$ ls --color\r\n", "\x1b[1;34mdir\x1b[0m  \x1b[32mrun.sh\x1b[0m  plain.txt\r\n", "$ vim notes\r\n"]
    chunks.append("\x1b[?1049h\x1b[22;0;0t\x1b[H\x1b[2J\x1b[?25l")
    for y in range(1, rows):
        chunks.append(f"\x1b[{y};1H\x1b[3{y % 8};4{(y + 3) % 8}m{y:3d} " + "text 中文 " * (cols // 12) + "\x1b[K")
    chunks.append(f"\x1b[{rows};1H\x1b[7m-- INSERT --\x1b[27m\x1b[2;{rows - 1}r")
    chunks.append("\x1b[5;9H\x1b[1mhello\x1b[0m\x1b[?25h")
    return chunks


def test_a_late_joiner_sees_the_full_screen_program(out: LiveStreamOutput) -> None:
    s = Session(out, 100, 30)
    for chunk in full_screen_program(100, 30):
        s.output(chunk)
    init, term = joiner(out, s.last_id, s.reference)
    assert init.theme == THEME
    assert term.alt_active
    assert state(term) == state(s.reference)
    # ...and after the program ends, the shell's screen is there under it
    s.output("\x1b[r\x1b[?1049l$ ")
    _, term = joiner(out, s.last_id, s.reference)
    assert not term.alt_active and term.display[:3] == s.reference.display[:3]
    assert state(term) == state(s.reference)


def test_a_resize_reaches_the_terminal_and_the_joiner(b: Broadcast) -> None:
    s = Session(b)
    s.output("a line long enough to be re-wrapped when the window gets narrow " * 3 + "\r\n$ ")
    s.send("r", "40x10")
    s.output("after")
    init, term = joiner(b, s.last_id)
    assert (init.cols, init.rows) == (40, 10)
    assert state(term) == state(s.reference)


def test_the_init_time_is_the_stream_time_now(b: Broadcast) -> None:
    s = Session(b)
    s.time = 5_000_000
    s.output("x")
    init, _ = joiner(b, s.last_id)
    assert init.time >= 5_001_000 and init.last_id == 1


# ---------------------------------------------------------------------------- many viewers


def run_viewers(out: Output, count: int, produce: Callable[[], None],
                settle: bool = True) -> List[Tuple[Viewer, int, str]]:
    """``count`` viewers that read as fast as they can while ``produce`` runs; the output is
    closed after it, once every viewer has the exit event if ``settle`` (else at once: a
    viewer that is more than a few seconds behind then is cut off). Each viewer's screen,
    close code and reason."""
    joined = threading.Event()
    exits: List[int] = []
    results: List[Tuple[Viewer, int, str]] = []
    errors: List[BaseException] = []

    async def viewer(ready: List[int]) -> None:
        from websockets.asyncio.client import connect as aconnect

        # Messages are only collected while the stream runs, so that the viewers keep up
        # (a slow one would be cut off when the stream ends); the screens are built after.
        messages: List[bytes] = []
        async with aconnect(ws_url(out), subprotocols=["v1.alis"], open_timeout=TIMEOUT, max_size=None) as ws:
            messages.append(await ws.recv())  # type: ignore[arg-type]
            messages.append(await ws.recv())  # type: ignore[arg-type]
            ready.append(1)
            if len(ready) == count:
                joined.set()
            try:
                while True:
                    message = await asyncio.wait_for(ws.recv(), TIMEOUT)
                    messages.append(message)  # type: ignore[arg-type]
                    if message[:1] == b"x":
                        exits.append(1)
            except ConnectionClosed as e:
                assert e.rcvd is not None, "cut off"
                code, reason = e.rcvd.code, e.rcvd.reason
        v = Viewer()
        for message in messages:
            v.feed(message)
        results.append((v, code, reason))

    async def main() -> None:
        ready: List[int] = []
        for result in await asyncio.gather(*(viewer(ready) for _ in range(count)), return_exceptions=True):
            if isinstance(result, BaseException):
                errors.append(result)

    clients = threading.Thread(target=asyncio.run, args=(main(),))
    clients.start()
    assert joined.wait(TIMEOUT)
    produce()
    if settle:
        wait_for(lambda: len(exits) == count, TIMEOUT * 2, "every viewer to get the exit event")
    out.close(TIMEOUT)
    clients.join(TIMEOUT * 2)
    assert not clients.is_alive()
    assert errors == []
    assert len(results) == count
    return results


def test_100_viewers_get_every_event_in_order_and_end_on_the_right_screen(out: LiveStreamOutput) -> None:
    s = Session(out)
    s.output("\x1b[1mstart\x1b[0m\r\n")
    events = 400

    def produce() -> None:
        for i in range(events):
            s.output(f"\x1b[3{i % 8}mline {i}\x1b[0m " + "word " * (i % 13) + "\r\n")
            if i == events // 2:
                s.send("r", "60x20")
            if i % 100 == 0:
                s.send("m", f"m{i}")
        s.output("\x1b[?1049h\x1b[Hlast screen\x1b[3;5H")
        s.send("x", "0")

    results = run_viewers(out, 100, produce)
    resynced = 0
    for viewer, code, reason in results:
        assert (code, reason) == (1000, "Stream ended")
        assert viewer.items[-1][1][1:] == ("x", "0")  # type: ignore[index]  # the exit event came last
        if len(viewer.inits) == 1:  # kept up: every marker reached it, in order
            events_got = [item[1] for item in viewer.items if isinstance(item, tuple) and not isinstance(item, Init)]
            markers = [e.data for e in events_got if e.code == "m"]
            assert markers == [f"m{i}" for i in range(0, events, 100)]
        assert viewer.term is not None and state(viewer.term) == state(s.reference)
        resynced += len(viewer.inits) > 1
    print(f"{resynced} of 100 viewers re-synced")


def test_nothing_is_lost_at_the_end(out: LiveStreamOutput) -> None:
    s = Session(out)
    s.output("$ make\r\n")

    def produce() -> None:
        for i in range(50):
            s.output(f"building {i}\r\n")
        s.output("THE END\r\n")  # the program's last act
        s.send("x", "0")

    # Closed at once: the stream process must still deliver the last events before Close.
    for viewer, code, reason in run_viewers(out, 100, produce, settle=False):
        assert (code, reason) == (1000, "Stream ended")
        *_, last_output, exit_event = viewer.items
        assert exit_event[1][1:] == ("x", "0")  # type: ignore[index]
        if len(viewer.inits) == 1:  # kept up: got every event (the last output may come merged)
            assert last_output[1].code == "o" and last_output[1].data.endswith("THE END\r\n")  # type: ignore[index]
        assert viewer.term is not None and "THE END" in "\n".join(viewer.term.display)


def handshake(port: int) -> bytes:
    return (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: v1.alis\r\n\r\n").encode()


def test_a_viewer_that_never_reads_costs_bounded_memory_and_changes_nothing_for_the_others() -> None:
    limits = Limits(queue_bytes=256 << 10, queue_messages=1024)
    out = make_broadcast(limits)
    s = Session(out)
    chunk = "".join(f"row {i:5d} " + "y" * 60 + "\r\n" for i in range(60))  # about 4 KB
    try:
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port_of(out)))
        stalled.sendall(handshake(port_of(out)))

        def states() -> List[str]:
            return [st.state for st in in_loop(out, out.hubs[0].stats)]

        # live, not still being synced: output that comes while its Init is being made (slow
        # on a busy machine) is held apart, and its queue would never fill
        wait_for(lambda: states() == [LIVE], TIMEOUT, "the stalled viewer")

        def pin() -> None:
            (sub,) = out.hubs[0].subscribers
            pin_send_buffer(sub.channel.transport)  # type: ignore[attr-defined]

        in_loop(out, pin)
        stats: List[object] = []

        def produce() -> None:
            for n in range(1000):  # 4 MB: far more than its queue and socket buffers hold
                s.output(chunk.replace("row", f"{n:4d}", 1))
            s.output("done\r\n")
            s.send("x", "0")
            stats.extend(in_loop(out, out.hubs[0].stats))

        results = run_viewers(out, 3, produce)
        for viewer, code, _ in results:
            assert code == 1000
            assert viewer.term is not None and state(viewer.term) == state(s.reference)
        stalled_stats = [st for st in stats if st.resyncs >= 1 and st.peak_bytes >= 64 << 10]  # type: ignore[attr-defined]
        assert len(stalled_stats) >= 1, stats
        for st in stalled_stats:
            assert st.peak_bytes <= limits.queue_bytes + len(chunk) + 100  # type: ignore[attr-defined]
        stalled.close()
    finally:
        out.close(TIMEOUT)


def in_loop(out: Broadcast, fn: Callable[[], object]) -> object:
    done = threading.Event()
    box: List[object] = []

    def call() -> None:
        box.append(fn())
        done.set()

    server = out.consumers[0]
    assert isinstance(server, StreamServer) and server._loop is not None
    server._loop.call_soon_threadsafe(call)
    assert done.wait(TIMEOUT)
    return box[0]


# ---------------------------------------------------------------------------- floods


BLOCK = "".join(f"{i:05d} " + "z" * 73 + "\r\n" for i in range(800))  # 64 000 characters


def flood(s: Session, megabytes: int, final: str, reference: bool = False) -> Tuple[float, int]:
    """``megabytes`` of output in 64 KB events as fast as this thread can make them, the
    last one ending with ``final``; the worst time one ``send`` took and the largest
    backlog (of the terminal's, or of the pipe's) after a send."""
    worst = 0.0
    peak = 0
    out = s.out
    for n in range(megabytes * 16):
        data = BLOCK if n < megabytes * 16 - 1 else BLOCK + final
        if reference:
            s.reference.feed(data)
        s.time += 1000
        event = make_event(s.time, "o", data)
        start = time.perf_counter()
        s.send_event(event)
        worst = max(worst, time.perf_counter() - start)
        if isinstance(out, Broadcast):
            peak = max(peak, out._sent - out._taken)
        else:
            peak = max(peak, out._queued - out._dropped - out._written)
    return worst, peak


def test_send_never_waits_for_the_terminal(b: Broadcast) -> None:
    s = Session(b)
    worst, peak = flood(s, 64, "")
    # The terminal (a few MB/s) cannot have seen most of it: it was skipped, not waited for.
    assert b.skipped > 32 << 20
    print(f"64 MB in 64 KB events: slowest send {worst * 1e3:.2f} ms, largest backlog {peak / 1e6:.1f} MB")
    wait_for(lambda: b._sent - b._taken <= bc.MAX_BACKLOG, TIMEOUT, "the backlog trimmed")


def test_after_a_flood_the_joiner_gets_the_screen_the_tail_determines(b: Broadcast) -> None:
    s = Session(b)
    s.output("\x1b[?1049h")  # a full-screen program that prints a flood (its own screen stays)
    wait_for(lambda: b._fed_id == 1, TIMEOUT, "the terminal to catch up")
    final = "\x1b[H\x1b[2J\x1b[31mfinal\x1b[0m screen\r\n" + "".join(f"row {i}\r\n" for i in range(10))
    flood(s, 16, final)
    init, term = joiner(b, s.last_id)
    assert b.skipped > 0  # the bounded catch-up took place
    assert init.last_id == 16 * 16 + 1
    s.reference.feed(final)
    assert term.alt_active
    assert state(term) == state(s.reference)


def test_a_flood_of_scrolling_text_ends_on_the_right_screen(b: Broadcast) -> None:
    s = Session(b)
    flood(s, 8, "$ ", reference=True)
    _, term = joiner(b, s.last_id)
    assert b.skipped > 0
    assert state(term) == state(s.reference)


def test_events_lost_on_the_way_are_skipped_and_viewers_re_synced(b: Broadcast) -> None:
    s = Session(b)
    s.output("\x1b[?1049h\x1b[Hfirst\r\n")
    with connect(ws_url(b), subprotocols=["v1.alis"], open_timeout=TIMEOUT, max_size=None) as ws:
        viewer = Viewer()
        viewer.feed(ws.recv(timeout=TIMEOUT))  # type: ignore[arg-type]
        viewer.feed(ws.recv(timeout=TIMEOUT))  # type: ignore[arg-type]
        s.last_id += 5  # as when the session dropped events the stream process could not take
        s.output("\x1b[Hsecond\r\n")
        s.send("x", "0")
        b.close(TIMEOUT)
        messages, code, _ = recv_all(ws)
    for message in messages:
        viewer.feed(message)
    assert code == 1000
    assert len(viewer.inits) == 2 and viewer.expected == s.last_id + 1  # up to the exit event
    assert viewer.term is not None and state(viewer.term) == state(s.reference)


# ---------------------------------------------------------------------------- the session never waits


def test_a_stopped_stream_process_costs_the_session_nothing_but_bounded_memory(out: LiveStreamOutput) -> None:
    s = Session(out)
    s.output("\x1b[?1049h")
    joiner(out, s.last_id, s.reference)  # the stream process has it
    assert out.pid is not None
    os.kill(out.pid, signal.SIGSTOP)
    try:
        worst, peak = flood(s, 64, "\x1b[H\x1b[2Jthe end\r\n$ ")
        # Every send returned although nothing could be written to the stream process for
        # most of it: the oldest events were dropped instead.
        assert out.dropped_events > 0
        assert peak <= live.MAX_QUEUE + len(BLOCK) + 100
    finally:
        os.kill(out.pid, signal.SIGCONT)
    print(f"64 MB to a stopped stream process: slowest send {worst * 1e3:.2f} ms, largest queue {peak / 1e6:.1f} MB, "
          f"{out.dropped_events} events dropped")
    s.reference.feed("\x1b[H\x1b[2Jthe end\r\n$ ")
    # the stream process may still be taking in the flood's last megabytes when this viewer
    # joins, and so re-sync it
    _, term = joiner(out, s.last_id, s.reference, resyncs=True)
    assert state(term) == state(s.reference)
    assert out.failure() is None


def test_a_stream_process_that_dies_is_reported_once_and_the_session_goes_on(out: LiveStreamOutput) -> None:
    s = Session(out)
    assert out.pid is not None
    os.kill(out.pid, signal.SIGKILL)
    wait_for(lambda: (s.output("x" * 1000), out.failure() is not None)[1], TIMEOUT, "the failure")
    failure = out.failure()
    assert failure is not None and s.wakes == 1
    assert failure.message == "the local stream stopped (its process ended); viewers see no more of the session"
    assert failure.notice == "Live stream stopped"
    s.output("more")
    assert out.close(TIMEOUT) is None


# ---------------------------------------------------------------------------- the pipe's frames


def test_frames_round_trip_in_any_pieces() -> None:
    theme = THEME
    events = [(1, make_event(0, "o", "plain")), (2, make_event(10, "o", "中文 \ud800 \x00\x1b[m")),
              (3, make_event(2**40, "r", "80x24")), (9, make_event(11, "m", "")), (10, make_event(12, "x", "0"))]
    data = encode_start(Start(100, 40, theme)) + encode_start(Start(1, 2)) + encode_events(events)
    for step in (1, 3, 7, len(data)):
        decoder = FrameDecoder()
        items: List[object] = []
        for i in range(0, len(data), step):
            items.extend(decoder.feed(data[i:i + step]))
        assert items == [Start(100, 40, theme), Start(1, 2, None)] + events
        assert decoder.pending == 0


def test_frames_that_are_not_frames() -> None:
    with pytest.raises(FrameError):
        FrameDecoder().feed(b"Z\x00\x00\x00\x00")
    with pytest.raises(FrameError):
        FrameDecoder().feed(b"E\x01\x00\x00\x00x")
    with pytest.raises(FrameError):
        FrameDecoder().feed(b"S\x02\x00\x00\x00{}")


def test_output_that_arrives_together_is_merged_and_renumbered() -> None:
    def ev(t: int, code: str, data: str) -> Event:
        return make_event(t, code, data)

    merger = live.Merger()
    start = Start(80, 24)
    items = [start, (1, ev(1, "o", "a")), (2, ev(2, "o", "b")), (3, ev(3, "r", "10x5")), (4, ev(4, "o", "c")),
             (6, ev(6, "o", "d")), (7, ev(7, "o", "e")), (8, ev(8, "m", ""))]
    assert merger.merge(items) == [start, (1, ev(2, "o", "ab")), (2, ev(3, "r", "10x5")), (3, ev(4, "o", "c")),
                                   (5, ev(7, "o", "de")), (6, ev(8, "m", ""))]  # 4: events 5 were lost
    # a run goes on in the next read as a new event; a big run is cut
    big = "x" * (live.MERGE // 2 + 1)
    assert merger.merge([(9, ev(9, "o", "f")), (10, ev(10, "o", big)), (11, ev(11, "o", big)),
                         (12, ev(12, "x", "0"))]) == [
        (7, ev(10, "o", "f" + big)), (8, ev(11, "o", big)), (9, ev(12, "x", "0"))]


def test_header_theme_close_twice_and_misuse() -> None:
    theme = Theme("#ffffff", "#101010", THEME.palette)
    out = LiveStreamOutput("127.0.0.1:0", header_theme=theme)
    out.open()
    try:
        Session(out)  # the header says THEME
        init, _ = joiner(out, 0, Terminal(80, 24, collect=False))
        assert init.theme == theme
    finally:
        assert out.close(TIMEOUT) is None
        assert out.close(TIMEOUT) is None
    never_opened = LiveStreamOutput("127.0.0.1:0")
    with pytest.raises(RuntimeError):
        never_opened.start(Header(80, 24), lambda: None)
    assert never_opened.close(TIMEOUT) is None
    with pytest.raises(AsciinemaError):
        LiveStreamOutput("localhost:8080")  # an IP, not a host name
