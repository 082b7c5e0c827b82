"""Helpers for the stream tests: a stand-in for the live terminal, a server on loopback,
and raw HTTP for the requests no polite client would send."""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

from websockets.exceptions import ConnectionClosed

from asciinema.asciicast import Event
from asciinema.stream.alis import AlisDecoder, Init
from asciinema.stream.hub import Hub, Limits
from asciinema.stream.server import StreamServer


class FakeTerminal:
    """What the live output will be: numbers events, keeps the screen (here: all the text so
    far), publishes each event after taking it in, and snapshots under the same lock."""

    def __init__(self, screen: Optional[int] = None) -> None:
        self.screen = screen  #: keep only this many characters (None: all), like a screen
        self.lock = threading.Lock()
        self.last_id = 0
        self.time = 0
        self.chunks: List[str] = []
        self.snapshots = 0
        self.hub: Optional[Hub] = None

    def output(self, text: str) -> None:
        self.event("o", text)

    def event(self, code: str, data: str) -> None:
        assert self.hub is not None
        with self.lock:
            self.last_id += 1
            self.time += 1000
            if code == "o":
                self.chunks.append(data)
                if self.screen is not None and len(self.chunks) > 64:
                    self.chunks = ["".join(self.chunks)[-self.screen:]]
            self.hub.publish(self.last_id, Event(self.time, code, data))

    def snapshot(self) -> Init:
        with self.lock:
            self.snapshots += 1
            text = "".join(self.chunks)
            if self.screen is not None:
                text = text[-self.screen:]
            self.chunks = [text]
            return Init(self.last_id, self.time, 80, 24, None, text)


class Stream:
    def __init__(self, limits: Limits = Limits(), token: Optional[str] = None, screen: Optional[int] = None) -> None:
        self.term = FakeTerminal(screen)
        self.hub = Hub(self.term.snapshot, limits)
        self.term.hub = self.hub
        self.server = StreamServer(self.hub, "127.0.0.1", 0, token=token)
        self.server.start()
        self.port = self.server.port

    def ws_url(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def in_loop(self, fn: Callable[[], object], timeout: float = 60) -> object:
        """Run ``fn`` on the server's loop (where the hub's state lives) and return its result."""
        done = threading.Event()
        box: List[object] = []

        def call() -> None:
            box.append(fn())
            done.set()

        assert self.server._loop is not None
        self.server._loop.call_soon_threadsafe(call)
        assert done.wait(timeout)
        return box[0]

    def stats(self) -> List[Tuple[str, int, int, int]]:
        return self.in_loop(self.hub.stats)  # type: ignore[return-value]

    def viewers(self) -> int:
        return len(self.stats())


def pin_send_buffer(transport) -> None:  # type: ignore[no-untyped-def]
    """Keep the server's end of a viewer's connection at a 4 KiB send buffer. The kernel grows
    a loopback socket's to several MB (CI once took all of a 4 MB test there, and the hub's
    queue for a viewer that never reads never filled); a size set by hand stays. Call on the
    server's loop."""
    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)


def wait_for(cond: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def raw_request(port: int, data: bytes, timeout: float = 30, half_close: bool = False) -> bytes:
    """Send ``data`` (then end the sending half if asked) and read until the server closes
    the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def get(port: int, path: str, headers: Dict[str, str] = {}) -> Tuple[int, Dict[str, str], bytes]:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"] + [f"{k}: {v}" for k, v in headers.items()]
    response = raw_request(port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in header_lines:
        k, _, v = line.partition(":")
        fields[k.strip().lower()] = v.strip()
    return int(status_line.split()[1]), fields, body


def recv_all(ws, timeout: float = 60) -> Tuple[List[bytes], int, str]:  # type: ignore[no-untyped-def]
    """Every message a websockets client gets until the server closes, then the close's
    code and reason."""
    messages = []
    try:
        while True:
            messages.append(ws.recv(timeout=timeout))
    except ConnectionClosed as e:
        assert e.rcvd is not None
        return messages, e.rcvd.code, e.rcvd.reason


def replay(messages: List[bytes]) -> Tuple[str, List[int]]:
    """A viewer's screen text (the last Init plus the output after it) and the IDs it got."""
    decoder = AlisDecoder()
    text = ""
    ids: List[int] = []
    expected = None
    for message in messages:
        item = decoder.feed(message)
        if isinstance(item, Init):
            text = item.init
            expected = item.last_id + 1
            ids.append(-item.last_id)  # an Init, shown negative
        elif isinstance(item, tuple):
            event_id, event = item
            assert event_id == expected, f"got event {event_id}, expected {expected}"
            expected += 1
            ids.append(event_id)
            if event.code == "o":
                text += event.data
    return text, ids
