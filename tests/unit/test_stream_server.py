"""The local stream server on loopback: real sockets, the real page and player, websockets
clients as viewers, and the clients a server meets in the wild (garbage, plain HTTP on /ws,
path traversal, huge headers, viewers that never read, many viewers coming and going)."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from asciinema.stream.alis import MAGIC, AlisDecoder, Init
from asciinema.stream.hub import Limits
from asciinema.stream.server import StreamServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from streamutil import Stream, get, pin_send_buffer, raw_request, recv_all, replay, wait_for  # noqa: E402

TIMEOUT = 60


@pytest.fixture
def stream() -> Iterator[Stream]:
    s = Stream()
    try:
        yield s
    finally:
        s.server.close()


def test_magic_then_init_then_events_then_close_1000(stream: Stream) -> None:
    stream.term.output("before\r\n")
    with connect(stream.ws_url(), subprotocols=["v1.alis"], open_timeout=TIMEOUT) as ws:
        assert ws.subprotocol == "v1.alis"
        assert ws.recv(timeout=TIMEOUT) == MAGIC
        decoder = AlisDecoder()
        decoder.feed(MAGIC)
        init = decoder.feed(ws.recv(timeout=TIMEOUT))
        assert init == Init(1, 1000, 80, 24, None, "before\r\n")
        stream.term.output("one")
        stream.term.event("r", "100x30")
        stream.term.event("m", "mark")
        stream.term.event("i", "x")
        stream.term.output("two")
        stream.term.event("x", "0")
        stream.hub.end()
        messages, code, reason = recv_all(ws)
    assert (code, reason) == (1000, "Stream ended")
    items = [decoder.feed(m) for m in messages]
    assert [i for i, _ in items] == [2, 3, 4, 5, 6, 7]  # type: ignore[misc]
    assert [(e.time, e.code, e.data) for _, e in items] == [  # type: ignore[misc]
        (2000, "o", "one"), (3000, "r", "100x30"), (4000, "m", "mark"), (5000, "i", "x"), (6000, "o", "two"),
        (7000, "x", "0")]


def test_first_viewer_of_a_fresh_session_gets_an_empty_init(stream: Stream) -> None:
    with connect(stream.ws_url(), subprotocols=["v1.alis"], open_timeout=TIMEOUT) as ws:
        assert ws.recv(timeout=TIMEOUT) == MAGIC
        assert ws.recv(timeout=TIMEOUT) == bytes.fromhex("01 00 00 50 18 00 00")


@pytest.mark.parametrize("subprotocols", [None, ["v2.asciicast"]])
def test_client_without_the_subprotocol_gets_1002(stream: Stream, subprotocols: List[str]) -> None:
    with connect(stream.ws_url(), subprotocols=subprotocols, open_timeout=TIMEOUT) as ws:
        assert ws.subprotocol is None
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=TIMEOUT)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (1002, "Subprotocol negotiation failed")
    assert stream.viewers() == 0


def test_what_viewers_send_is_discarded(stream: Stream) -> None:
    with connect(stream.ws_url(), subprotocols=["v1.alis"], open_timeout=TIMEOUT) as ws:
        ws.recv(timeout=TIMEOUT)
        ws.recv(timeout=TIMEOUT)
        for _ in range(100):
            ws.send(b"\x00" * 1000)
            ws.send("text")
        ws.ping()
        stream.term.output("still here")
        message = ws.recv(timeout=TIMEOUT)
        assert message.endswith(b"still here")
        # more than a viewer may send in one message: its connection is closed, no one else's
        ws.send(b"x" * (1 << 17))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=TIMEOUT)
    with connect(stream.ws_url(), subprotocols=["v1.alis"], open_timeout=TIMEOUT) as ws:
        assert ws.recv(timeout=TIMEOUT) == MAGIC


def test_page_and_player(stream: Stream) -> None:
    for path in ("/", "/index.html", "/?fit=width"):
        status, headers, body = get(stream.port, path)
        assert status == 200, path
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert b'new URL("ws", location.href)' in body
        assert int(headers["content-length"]) == len(body)
        assert headers["connection"] == "close"
        assert headers["cache-control"] == "public, max-age=0, must-revalidate"
    # the page names the player's files by their digests, served to be cached for good
    js_name = re.search(rb'src="(asciinema-player\.min\.[0-9a-f]{16}\.js)"', body)
    css_name = re.search(rb'href="(asciinema-player\.[0-9a-f]{16}\.css)"', body)
    assert js_name is not None and css_name is not None
    status, headers, js = get(stream.port, "/" + js_name.group(1).decode())
    assert status == 200 and headers["content-type"].startswith("text/javascript") and b"AsciinemaPlayer" in js
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    status, headers, css = get(stream.port, "/" + css_name.group(1).decode())
    assert status == 200 and headers["content-type"].startswith("text/css") and b".ap-" in css
    assert get(stream.port, "/asciinema-player.min.js")[2] == js
    assert get(stream.port, "/asciinema-player.css")[2] == css


def test_304_and_gzip(stream: Stream) -> None:
    status, headers, js = get(stream.port, "/asciinema-player.min.js")
    etag = headers["etag"]
    status, headers, body = get(stream.port, "/asciinema-player.min.js", {"If-None-Match": etag})
    assert status == 304 and body == b"" and headers["etag"] == etag
    status, headers, body = get(stream.port, "/asciinema-player.min.js", {"Accept-Encoding": "gzip, deflate"})
    assert status == 200 and headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
    assert len(body) < len(js) // 2 and gzip.decompress(body) == js
    status, headers, body = get(stream.port, "/", {"If-None-Match": get(stream.port, "/")[1]["etag"]})
    assert status == 304


@pytest.mark.parametrize(
    "target",
    ["/nope", "/../index.html", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd", "//etc/passwd",
     "/etc/passwd", "http://127.0.0.1/etc/passwd", "/asciinema/assets/index.html", "/LICENSE-asciinema-player",
     "/index.html/..", "/ws/../index.html", "/asciinema-player.min.js%00.html", "/%5c..%5cindex.html"],
)
def test_unknown_paths_and_traversal_are_404(stream: Stream, target: str) -> None:
    status, _, body = get(stream.port, target)
    assert (status, body) == (404, b"404")


def test_token_path(stream: Stream) -> None:
    token = "t0ken-for-the-test_0123456789"
    with_token = Stream(token=token)
    try:
        port = with_token.port
        assert with_token.server.url == f"http://127.0.0.1:{port}/s/{token}/"
        for path in ("/", "/index.html", "/asciinema-player.min.js", "/ws", f"/s/{token[:-1]}/", "/s/",
                     f"/s/{token}x/ws", f"/s/{token}/../index.html", f"/S/{token}/"):
            assert get(port, path)[0] == 404, path
        assert get(port, f"/s/{token}/")[0] == 200
        assert get(port, f"/s/{token}/asciinema-player.css")[0] == 200
        status, headers, _ = get(port, f"/s/{token}")
        assert status == 301 and headers["location"] == f"/s/{token}/"
        for path in ("/ws", "/s/wrong/ws"):
            with pytest.raises(InvalidStatus) as info:
                connect(with_token.ws_url(path), subprotocols=["v1.alis"], open_timeout=TIMEOUT)
            assert info.value.response.status_code == 404
        with connect(with_token.ws_url(f"/s/{token}/ws"), subprotocols=["v1.alis"], open_timeout=TIMEOUT) as ws:
            assert ws.recv(timeout=TIMEOUT) == MAGIC
    finally:
        with_token.server.close()


def test_non_loopback_address_gets_a_token() -> None:
    for host in ("0.0.0.0", "192.168.0.10", "::"):
        server = StreamServer(None, host, 8080)  # type: ignore[arg-type]
        assert server.token is not None and len(server.token) >= 22
        assert server.url.endswith(f":8080/s/{server.token}/")
    assert StreamServer(None, "0.0.0.0", 1).token != StreamServer(None, "0.0.0.0", 1).token  # type: ignore[arg-type]
    assert StreamServer(None, "127.0.0.1", 8080).url == "http://127.0.0.1:8080"  # type: ignore[arg-type]
    assert StreamServer(None, "::1", 8080).url == "http://[::1]:8080"  # type: ignore[arg-type]


def test_cross_site_page_cannot_open_the_socket(stream: Stream) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(stream.ws_url(), subprotocols=["v1.alis"], origin="http://evil.example",  # type: ignore[arg-type]
                open_timeout=TIMEOUT)
    assert info.value.response.status_code == 403
    same_site = f"http://127.0.0.1:{stream.port}"
    with connect(stream.ws_url(), subprotocols=["v1.alis"], origin=same_site,  # type: ignore[arg-type]
                 open_timeout=TIMEOUT) as ws:
        assert ws.recv(timeout=TIMEOUT) == MAGIC


def test_bad_clients_are_answered_and_the_server_goes_on(stream: Stream) -> None:
    port = stream.port
    # a plain HTTP client on /ws: told to upgrade
    response = raw_request(port, b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 426 ")
    # garbage instead of a request, a non-GET method, a bad version, a bad header: 400
    for data in (os.urandom(4096) + b"\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(300) + b"\r\n",
                 b"GET / HTTP/1.1\nHost: x\n\n",
                 b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", b"HEAD / HTTP/1.1\r\n\r\n",
                 b"GET / HTTP/0.9\r\n\r\n", b"\r\n\r\n", b"GET /\r\n\r\n", b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
                 b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n"):
        for half_close in (False, True):
            response = raw_request(port, data, half_close=half_close)
            assert response.startswith(b"HTTP/1.1 400 Bad Request\r\n") and response.endswith(b"\r\n\r\n400"), data
    # a request cut short by the client's end of file: nobody to answer
    for data in (b"GET /ws HTTP/1.1\r\nHost", b"GET / HTTP/1.1\r\n", b"", b"\x16\x03\x01\x02\x00" + bytes(300)):
        assert raw_request(port, data, half_close=True) == b""
    # garbage after a good WebSocket handshake: the connection is failed, others live on
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(handshake(port))
        assert b" 101 " in s.recv(4096).split(b"\r\n")[0]
        s.sendall(os.urandom(10000))
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
    # oversized request line and headers: 400 too, unless the client is still sending when
    # the server gives up (then the kernel resets the connection, and the answer may be lost)
    for data in (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n",
                 b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 100_000 + b"\r\n\r\n",
                 b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(1000)) + b"\r\n"):
        response = raw_request(port, data)
        assert response == b"" or response.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert get(port, "/")[0] == 200
    with connect(stream.ws_url(), subprotocols=["v1.alis"], open_timeout=TIMEOUT) as ws:
        assert ws.recv(timeout=TIMEOUT) == MAGIC
    wait_for(lambda: stream.viewers() == 0, TIMEOUT, "viewers gone")


def handshake(port: int, path: str = "/ws") -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: v1.alis\r\n\r\n").encode()


def test_100_viewers_get_every_event_in_order() -> None:
    stream = Stream()
    viewers = 100
    events = 500
    try:
        stream.term.output("start ")
        joined = threading.Event()
        results: List[Tuple[str, List[int], int]] = []

        async def viewer(ready: List[int]) -> None:
            from websockets.asyncio.client import connect as aconnect

            async with aconnect(stream.ws_url(), subprotocols=["v1.alis"], open_timeout=TIMEOUT,
                                max_size=None) as ws:
                messages = [await ws.recv(), await ws.recv()]
                ready.append(1)
                if len(ready) == viewers:
                    joined.set()
                try:
                    while True:
                        messages.append(await asyncio.wait_for(ws.recv(), TIMEOUT))
                except ConnectionClosed as e:
                    assert e.rcvd is not None
                    text, ids = replay(messages)  # type: ignore[arg-type]
                    results.append((text, ids, e.rcvd.code))

        async def main() -> None:
            ready: List[int] = []
            await asyncio.gather(*(viewer(ready) for _ in range(viewers)))

        clients = threading.Thread(target=asyncio.run, args=(main(),))
        clients.start()
        assert joined.wait(TIMEOUT)
        for i in range(events):
            stream.term.output(f"{i} ")
        stream.term.event("x", "0")
        stream.hub.end()
        clients.join(TIMEOUT * 2)
        assert not clients.is_alive()
        expected = "start " + "".join(f"{i} " for i in range(events))
        assert len(results) == viewers
        for text, ids, code in results:
            assert code == 1000
            assert text == expected
            assert ids[-1] == events + 2  # the exit event came last
        in_step = sum(1 for _, ids, _ in results if ids == [-1] + list(range(2, events + 3)))
        print(f"{in_step} of {viewers} viewers got every event without a re-sync")
    finally:
        stream.server.close()


def test_a_viewer_that_never_reads_costs_bounded_memory_and_slows_no_one() -> None:
    limits = Limits(queue_bytes=256 << 10, queue_messages=1024)
    stream = Stream(limits, screen=3000)
    chunk = "y" * 4000
    events = 2000  # 8 MB: far more than the stalled viewer's queue and socket buffers hold
    try:
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", stream.port))
        stalled.sendall(handshake(stream.port))
        wait_for(lambda: stream.viewers() == 1, TIMEOUT, "the stalled viewer")
        def pin() -> None:
            server = stream.server.server
            assert server is not None
            (conn,) = server.handlers
            pin_send_buffer(conn.transport)

        stream.in_loop(pin)
        readers = [connect(stream.ws_url(), subprotocols=["v1.alis"], open_timeout=TIMEOUT, max_size=None)
                   for _ in range(3)]
        got: List[List[bytes]] = [[r.recv(timeout=TIMEOUT), r.recv(timeout=TIMEOUT)] for r in readers]

        peak_buffer = 0

        def buffered() -> int:
            server = stream.server.server
            assert server is not None
            return max(c.transport.get_write_buffer_size() for c in server.handlers)

        def drain(i: int) -> None:
            try:
                while True:
                    got[i].append(readers[i].recv(timeout=TIMEOUT))
            except ConnectionClosed:
                pass

        threads = [threading.Thread(target=drain, args=(i,)) for i in range(len(readers))]
        for t in threads:
            t.start()
        for n in range(events):
            stream.term.output(chunk)
            if n % 100 == 0:
                peak_buffer = max(peak_buffer, stream.in_loop(buffered))  # type: ignore[call-overload]
        stream.hub.end()
        for t in threads:
            t.join(TIMEOUT)
        # the readers are done; the stalled viewer is still there and was cut loose
        wait_for(lambda: stream.viewers() == 1, TIMEOUT, "readers gone")
        (stalled_stats,) = stream.stats()
        assert stalled_stats.resyncs >= 1
        expected = chunk * events
        for messages in got:
            text, _ = replay(messages)
            assert len(text) >= 3000 and expected.endswith(text)
        # its queue never held more than the limit plus one message, nor its socket's
        # buffer more than websockets' write limit plus one message
        print(f"stalled viewer: {stalled_stats}, peak socket buffer {peak_buffer} bytes")
        assert stalled_stats.peak_bytes <= limits.queue_bytes + 4100
        assert peak_buffer <= (64 << 10) + 4100
        for r in readers:
            r.close()
        stalled.close()
    finally:
        stream.server.close()


def test_producer_never_blocks_even_when_the_loop_is_stuck() -> None:
    limits = Limits(backlog_bytes=1 << 20)
    stream = Stream(limits)
    try:
        with connect(stream.ws_url(), subprotocols=["v1.alis"], open_timeout=TIMEOUT, max_size=None) as ws:
            messages = [ws.recv(timeout=TIMEOUT), ws.recv(timeout=TIMEOUT)]
            release = threading.Event()
            stuck = threading.Event()

            def block() -> None:
                stuck.set()
                release.wait(TIMEOUT)

            assert stream.server._loop is not None
            stream.server._loop.call_soon_threadsafe(block)
            assert stuck.wait(TIMEOUT)
            producer = threading.Thread(target=lambda: [stream.term.output("z" * 10_000) for _ in range(1000)])
            producer.start()
            producer.join(TIMEOUT)
            assert not producer.is_alive()
            backlog = stream.hub._published - stream.hub._drained
            assert backlog <= limits.backlog_bytes + 20_000
            release.set()
            stream.term.output("last")
            stream.hub.end()
            received, code, _ = recv_all(ws)
        text, ids = replay(messages + received)
        assert code == 1000
        assert text == "z" * 10_000 * 1000 + "last"
        assert sum(1 for i in ids if i <= 0) >= 2  # re-synced after the dropped events
    finally:
        stream.server.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds in /proc")
def test_1000_connect_disconnect_cycles_leave_no_fd_or_thread_behind(stream: Stream) -> None:
    stream.term.output("screen")
    # warm up: the first connection imports and allocates what later ones reuse
    with connect(stream.ws_url(), subprotocols=["v1.alis"], open_timeout=TIMEOUT) as ws:
        ws.recv(timeout=TIMEOUT)
    wait_for(lambda: stream.viewers() == 0, TIMEOUT, "viewers gone")
    fds, threads = open_fds(), threading.active_count()
    for n in range(1000):
        kind = n % 4
        if kind == 0:  # a viewer that leaves politely after its Init
            with connect(stream.ws_url(), subprotocols=["v1.alis"], open_timeout=TIMEOUT) as ws:
                ws.recv(timeout=TIMEOUT)
                ws.recv(timeout=TIMEOUT)
        elif kind == 1:  # a viewer that vanishes mid-handshake or right after it
            s = socket.create_connection(("127.0.0.1", stream.port), timeout=TIMEOUT)
            s.sendall(handshake(stream.port)[: n % 200 + 1] if n % 8 == 1 else handshake(stream.port))
            s.close()
        elif kind == 2:
            assert get(stream.port, "/")[0] == 200
        else:  # connect and hang up at once
            socket.create_connection(("127.0.0.1", stream.port), timeout=TIMEOUT).close()
        if n % 100 == 0:
            stream.term.output(f"{n}")
    wait_for(lambda: stream.viewers() == 0 and threading.active_count() <= threads and open_fds() <= fds,
             TIMEOUT * 2, f"fds back to {fds} and threads to {threads}")
    server = stream.server.server
    assert server is not None
    assert stream.in_loop(lambda: len(server.handlers)) == 0


def test_close_stops_the_thread_and_frees_the_port() -> None:
    threads = threading.active_count()
    stream = Stream()
    port = stream.port
    with connect(stream.ws_url(), subprotocols=["v1.alis"], open_timeout=TIMEOUT) as ws:
        ws.recv(timeout=TIMEOUT)
        stream.server.close()
        _, code, reason = recv_all(ws)
    assert (code, reason) == (1000, "Stream ended")
    assert stream.server._thread is not None and not stream.server._thread.is_alive()
    wait_for(lambda: threading.active_count() <= threads, TIMEOUT, "threads gone")
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_busy_port_is_one_clear_error() -> None:
    from asciinema.errors import AsciinemaError
    from asciinema.stream.hub import Hub

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        server = StreamServer(Hub(lambda: Init(0, 0, 80, 24)), "127.0.0.1", port)
        with pytest.raises(AsciinemaError, match="^cannot start listener: Address already in use$"):
            server.start()
        server.close()


def test_missing_player_is_an_error_at_bind(monkeypatch: pytest.MonkeyPatch) -> None:
    from asciinema.errors import AsciinemaError
    from asciinema.stream import web

    def missing(name: str) -> bytes:
        raise AsciinemaError(f"the web player is missing ({name})")

    monkeypatch.setattr(web, "read_asset", missing)
    server = StreamServer(None, "127.0.0.1", 0)  # type: ignore[arg-type]
    with pytest.raises(AsciinemaError, match="^the web player is missing"):
        server.bind()
    assert server._sock is None  # nothing bound, nothing to close


#: What the session's process does with ``--stream-local``: bind, fork the stream process,
#: and keep only the pipe. Prints the modules it then holds and the player files it keeps.
SESSION_SIDE = """
import sys
from asciinema.asciicast import Header, make_event
from asciinema.stream.live import LiveStreamOutput
out = LiveStreamOutput(sys.argv[1])
out.open()
out.start(Header(80, 24), lambda: None)
out.send(make_event(1000, "o", "hello"))
heavy = sorted(m for m in ("asyncio", "websockets", "logging", "hashlib", "_hashlib", "_ssl", "gzip", "secrets")
               if m in sys.modules)
print(heavy, out.server._files is None, out.server.site is None, out.server.port > 0, flush=True)
out.close(10)
"""


@pytest.mark.parametrize("listen", ["127.0.0.1:0", "0.0.0.0:0"])
def test_the_session_process_holds_no_server_code_nor_player(listen: str) -> None:
    # The stream process serves; the session's process would otherwise carry websockets,
    # asyncio and OpenSSL (about 12 MB) for nothing.
    import subprocess

    root = Path(__file__).resolve().parent.parent.parent
    result = subprocess.run([sys.executable, "-c", SESSION_SIDE, listen], cwd=root, capture_output=True, text=True,
                            timeout=TIMEOUT, env=dict(os.environ, PYTHONPATH=str(root)))
    assert result.stdout == "[] True True True\n", result.stderr


def test_no_stray_output_on_stderr(capfd: pytest.CaptureFixture[str], stream: Stream) -> None:
    # During a session stderr is the user's terminal: nothing the server meets may print there.
    raw_request(stream.port, os.urandom(100), half_close=True)
    raw_request(stream.port, b"GET /ws HTTP/1.1\r\n\r\n")
    with connect(stream.ws_url(), open_timeout=TIMEOUT) as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=TIMEOUT)
    stream.server.close()
    time.sleep(0.1)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
