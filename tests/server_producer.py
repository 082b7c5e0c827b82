"""A stand-in for an asciinema server's producer WebSocket (``/ws/S/<token>``), for the
remote stream tests and the benchmark.

A websockets server on 127.0.0.1, port 0, on a thread of its own. It checks what a real
server checks: the ``v1.alis`` subprotocol, a User-Agent, and the ALiS stream itself,
decoded by a small decoder written here (not asciinema.stream.alis: the point is to catch
our encoder's bugs): the magic first, an Init next, event IDs that follow the Init's
``last_id`` one by one, well-formed varints and strings, nothing left over in a message.
It records what each connection received and rebuilds its terminal output (the Init's
text, then the output events).

Controls, one :class:`Plan` per connection in order (then :attr:`ProducerServer.default`):
accept; refuse with an HTTP status (503: down for a while; 400: protocol not supported);
never answer the handshake;
accept without echoing the subprotocol; drop the connection (no Close) or close it with a
code after N messages; stall (stop reading) after N messages. A connection can also be
dropped or closed from the test at any time (:meth:`ProducerServer.drop`, :meth:`close`).
"""

from __future__ import annotations

import asyncio
import http
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

TIMEOUT = 60

ACCEPT = "accept"
REFUSE = "refuse"  #: answer the handshake with HTTP ``status``
NO_SUBPROTOCOL = "no subprotocol"  #: accept without the Sec-WebSocket-Protocol header
DROP = "drop"  #: after ``after`` messages, cut the TCP connection (no Close frame)
CLOSE = "close"  #: after ``after`` messages, Close with ``code``
STALL = "stall"  #: after ``after`` messages, stop reading
HANG = "hang"  #: take the connection and never answer the handshake


class Plan(NamedTuple):
    action: str = ACCEPT
    after: int = 0
    code: int = 1000
    status: int = 503


class AlisError(AssertionError):
    pass


class Init(NamedTuple):
    last_id: int
    time: int
    cols: int
    rows: int
    theme: Optional[bytes]
    text: str


class Ev(NamedTuple):
    id: int
    rel_time: int
    code: str
    data: object  #: text, (cols, rows) or the exit status


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def varint(self) -> int:
        n = shift = 0
        while True:
            if self.pos >= len(self.data):
                raise AlisError(f"varint runs past the message: {self.data!r}")
            b = self.data[self.pos]
            self.pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def string(self) -> str:
        size = self.varint()
        if self.pos + size > len(self.data):
            raise AlisError(f"string runs past the message: {self.data!r}")
        raw = self.data[self.pos:self.pos + size]
        self.pos += size
        return raw.decode("utf-8")  # strict: ALiS strings are UTF-8

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise AlisError("message too short")
        raw = self.data[self.pos:self.pos + n]
        self.pos += n
        return raw

    def done(self) -> None:
        if self.pos != len(self.data):
            raise AlisError(f"{len(self.data) - self.pos} bytes left over in {self.data[:40]!r}")


def decode(message: bytes) -> object:
    """One ALiS message (not the magic): an :class:`Init` or an :class:`Ev`."""
    r = _Reader(message)
    kind = r.take(1)[0]
    if kind == 0x01:
        last_id, t, cols, rows = r.varint(), r.varint(), r.varint(), r.varint()
        flag = r.take(1)[0]
        if flag == 0:
            theme = None
        elif flag in (8, 16):
            theme = r.take(3 * (2 + flag))
        else:
            raise AlisError(f"bad theme flag {flag}")
        text = r.string()
        r.done()
        return Init(last_id, t, cols, rows, theme, text)
    code = chr(kind)
    if code not in "oirmx":
        raise AlisError(f"unknown message type {kind:#x}")
    event_id, rel = r.varint(), r.varint()
    data: object
    if code in "oim":
        data = r.string()
    elif code == "r":
        data = (r.varint(), r.varint())
    else:
        data = r.varint()
    r.done()
    return Ev(event_id, rel, code, data)


@dataclass
class Connection:
    """What one producer connection did and received."""

    number: int
    plan: Plan
    subprotocol: Optional[str] = None
    user_agent: Optional[str] = None
    path: str = ""
    messages: List[bytes] = field(default_factory=list)
    received: int = 0  #: messages
    received_bytes: int = 0
    items: List[object] = field(default_factory=list)  #: decoded, after the magic
    error: Optional[str] = None  #: the first protocol error seen
    close: Optional[Tuple[int, str]] = None  #: the Close frame the client sent, if any
    closed: threading.Event = field(default_factory=threading.Event)
    ws: Optional[ServerConnection] = None

    @property
    def inits(self) -> List[Init]:
        return [i for i in self.items if isinstance(i, Init)]

    def segments(self) -> List[Tuple[Init, str]]:
        """Each Init (the first, and any re-sync) with the output text after it."""
        out: List[Tuple[Init, str]] = []
        for item in self.items:
            if isinstance(item, Init):
                out.append((item, ""))
            elif isinstance(item, Ev) and item.code == "o" and out:
                out[-1] = (out[-1][0], out[-1][1] + str(item.data))
        return out

    def output(self) -> str:
        """The terminal output this connection rebuilds: the last Init's text and the output after it."""
        segments = self.segments()
        return segments[-1][0].text + segments[-1][1] if segments else ""

    def events(self) -> List[Ev]:
        return [i for i in self.items if isinstance(i, Ev)]


class ProducerServer:
    def __init__(self, plans: Sequence[Plan] = (), default: Plan = Plan(), keep: bool = True,
                 tls: Optional[ssl.SSLContext] = None) -> None:
        """``keep``: record and check every message (else only count them: the benchmark's
        server must not take the CPU the session needs); ``tls``: serve wss:// with it."""
        self.keep = keep
        self.tls = tls
        self.plans = list(plans)
        self.default = default
        self.connections: List[Connection] = []
        self.attempts = 0  #: handshakes seen, refused ones included
        self.token = "producer-token"
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="producer-server", daemon=True)
        self.port = 0
        self._lock = threading.Lock()
        self._plan_of: dict = {}

    # --------------------------------------------------------------- test's thread

    def __enter__(self) -> "ProducerServer":
        self._thread.start()
        assert self._ready.wait(TIMEOUT)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(TIMEOUT)

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}/ws/S/{self.token}"

    def wait_for(self, cond: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; connections: {self.summary()}")
            time.sleep(0.01)

    def summary(self) -> List[Tuple[int, str, int, Optional[str], Optional[Tuple[int, str]]]]:
        return [(c.number, c.plan.action, len(c.messages), c.error, c.close) for c in self.connections]

    def drop(self, conn: Connection) -> None:
        """Cut ``conn`` off without a Close frame."""
        assert self._loop is not None and conn.ws is not None
        self._loop.call_soon_threadsafe(conn.ws.transport.abort)

    def close(self, conn: Connection, code: int, reason: str = "") -> None:
        assert self._loop is not None and conn.ws is not None
        ws = conn.ws
        self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(ws.close(code, reason)))

    # --------------------------------------------------------------- server's thread

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", 0, process_request=self._process_request,
                         select_subprotocol=self._select_subprotocol, compression=None, ping_interval=None,
                         max_size=None, max_queue=1, server_header=None, open_timeout=None, ssl=self.tls) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()
            for conn in self.connections:  # stalled ones would wait for a Close handshake
                if conn.ws is not None:
                    conn.ws.transport.abort()
            server.close()

    async def _idle(self) -> None:
        assert self._stop is not None
        try:
            await asyncio.wait_for(self._stop.wait(), TIMEOUT)
        except asyncio.TimeoutError:
            pass

    def _next_plan(self) -> Plan:
        return self.plans.pop(0) if self.plans else self.default

    async def _process_request(self, ws: ServerConnection, request: Request) -> Optional[Response]:
        self.attempts += 1
        plan = self._next_plan()
        if plan.action == HANG:
            await self._idle()
        if plan.action == REFUSE:
            body = f"{plan.status}\n".encode()
            return Response(plan.status, http.HTTPStatus(plan.status).phrase,
                            Headers([("Content-Length", str(len(body))), ("Connection", "close")]), body)
        self._plan_of[id(ws)] = plan
        return None

    def _select_subprotocol(self, ws: ServerConnection, offered: Sequence[Subprotocol]) -> Optional[Subprotocol]:
        plan = self._plan_of.get(id(ws), Plan())
        if plan.action == NO_SUBPROTOCOL:
            return None
        return Subprotocol("v1.alis") if "v1.alis" in offered else None

    async def _handle(self, ws: ServerConnection) -> None:
        plan = self._plan_of.pop(id(ws), Plan())
        conn = Connection(len(self.connections) + 1, plan, ws.subprotocol, ws.request.headers.get("User-Agent"),
                          ws.request.path, ws=ws)
        self.connections.append(conn)
        try:
            if plan.action == NO_SUBPROTOCOL:
                await self._idle()  # until the client hangs up
                return
            if ws.subprotocol != "v1.alis":
                conn.error = "no v1.alis subprotocol"
                await ws.close(1002, "Subprotocol negotiation failed")
                return
            if not conn.user_agent:
                conn.error = "no User-Agent"
            if plan.action == STALL:  # a small window, so that the client feels the stall soon
                sock = ws.transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            expected: Optional[int] = None
            async for message in ws:
                if not isinstance(message, bytes):
                    conn.error = conn.error or "a text message"
                    continue
                conn.received += 1
                conn.received_bytes += len(message)
                if self.keep or conn.received <= 2:
                    conn.messages.append(message)
                    expected = self._check(conn, message, expected)
                n = conn.received
                if plan.action in (DROP, CLOSE, STALL) and n >= plan.after:
                    if plan.action == DROP:
                        ws.transport.abort()
                        return
                    if plan.action == CLOSE:
                        await ws.close(plan.code, "test")
                        return
                    await self._idle()  # stalled: read nothing more
                    return
        except ConnectionClosed:
            pass
        finally:
            rcvd = ws.protocol.close_rcvd
            if rcvd is not None:
                conn.close = (rcvd.code, rcvd.reason)
            conn.closed.set()

    def _check(self, conn: Connection, message: bytes, expected: Optional[int]) -> Optional[int]:
        n = len(conn.messages)
        try:
            if n == 1:
                if message != b"ALiS\x01":
                    raise AlisError(f"first message is not the magic: {message[:16]!r}")
                return None
            item = decode(message)
            conn.items.append(item)
            if isinstance(item, Init):
                return item.last_id + 1
            assert isinstance(item, Ev)
            if expected is None:
                raise AlisError("an event before the Init")
            if item.id != expected:
                raise AlisError(f"event {item.id}, expected {expected}")
            return expected + 1
        except (AlisError, UnicodeDecodeError) as e:
            conn.error = conn.error or str(e)
            return expected
