"""`stream --local` and `session --stream-local` from the command line: a websockets client
as the viewer of the printed URL sees the program's output, markers, the exit and Close
1000; the recording file of `session` has the same events; hotkeys work while streaming.

Servers bind 127.0.0.1 port 0. Programs wait for a file the test creates once its viewer
is connected, so that no step depends on timing.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Optional, Tuple

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from asciinema.asciicast import open_recording
from asciinema.stream.alis import MAGIC, AlisDecoder, Init

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ptyutil import PtyProc  # noqa: E402

TIMEOUT = 60
URL_RE = re.compile(rb"::: Live streaming at (http://127\.0\.0\.1:\d+)\r?\n")
WAIT_FOR_GO = "while [ ! -e go ]; do sleep 0.02; done; "


class Viewer:
    """A websockets client on ``/ws`` of a stream, reading on a thread of its own until the
    stream closes."""

    def __init__(self, http_url: str) -> None:
        self.url = http_url.replace("http://", "ws://", 1) + "/ws"
        self.ws = connect(self.url, subprotocols=["v1.alis"], open_timeout=TIMEOUT)  # type: ignore[list-item]
        self.messages: List[bytes] = []
        self.close_code: Optional[Tuple[int, str]] = None
        self.init = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while True:
                message = self.ws.recv(timeout=TIMEOUT)
                assert isinstance(message, bytes)
                self.messages.append(message)
                if len(self.messages) == 2:
                    self.init.set()
        except ConnectionClosed as e:
            if e.rcvd is not None:
                self.close_code = (e.rcvd.code, e.rcvd.reason)
        finally:
            self.init.set()

    def finish(self) -> Tuple[Init, List[Tuple[int, str, str]]]:
        """Wait for the stream's end: its Init and events ``(id, code, data)``."""
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "the stream did not end"
        self.ws.close()
        assert self.ws.subprotocol == "v1.alis"
        decoder = AlisDecoder()
        assert decoder.feed(self.messages[0]) == MAGIC
        init = decoder.feed(self.messages[1])
        assert isinstance(init, Init)
        events = []
        for message in self.messages[2:]:
            event_id, event = decoder.feed(message)  # type: ignore[misc]
            events.append((event_id, event.code, event.data))
        return init, events


def read_url(fd: int, buffer: bytearray) -> str:
    """Read ``fd`` until the "Live streaming at" line; its URL."""
    deadline = TIMEOUT
    while True:
        m = URL_RE.search(bytes(buffer))
        if m:
            return m.group(1).decode()
        ready, _, _ = select.select([fd], [], [], deadline)
        assert ready, f"no URL printed; output so far: {bytes(buffer)!r}"
        chunk = os.read(fd, 65536)
        assert chunk, f"output ended without a URL: {bytes(buffer)!r}"
        buffer += chunk


@pytest.fixture
def procs() -> Iterator[List[subprocess.Popen]]:  # type: ignore[type-arg]
    started: List[subprocess.Popen] = []  # type: ignore[type-arg]
    yield started
    for p in started:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(TIMEOUT)


def start(cli_argv: List[str], env: Dict[str, str], tmp_path: Path, procs: list, *args: str) -> subprocess.Popen:  # type: ignore[type-arg]
    proc = subprocess.Popen(cli_argv + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=str(tmp_path), start_new_session=True)
    procs.append(proc)
    return proc


def finish(proc: subprocess.Popen, out: bytearray) -> Tuple[int, bytes, bytes]:  # type: ignore[type-arg]
    rest, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, bytes(out) + rest, err


class Watched(NamedTuple):
    url: str  #: the page's, as the session printed it
    viewer: Viewer
    init: Init
    events: List[Tuple[int, str, str]]
    status: int
    stdout: bytes
    stderr: bytes


def watch(proc: subprocess.Popen, tmp_path: Path) -> Watched:  # type: ignore[type-arg]
    """Join the stream whose URL ``proc`` prints as a viewer, let its program go (it waits
    for the file ``go``: WAIT_FOR_GO) and wait for both to end."""
    out = bytearray()
    assert proc.stdout is not None
    url = read_url(proc.stdout.fileno(), out)
    viewer = Viewer(url)
    assert viewer.init.wait(TIMEOUT)
    (tmp_path / "go").touch()
    init, events = viewer.finish()
    return Watched(url, viewer, init, events, *finish(proc, out))


def output_of(events: List[Tuple[int, str, str]]) -> str:
    return "".join(data for _, code, data in events if code == "o")


def test_stream_local_to_a_viewer(cli: object, cli_argv: List[str], rec_env: Dict[str, str], tmp_path: Path,
                                  procs: list) -> None:
    script = WAIT_FOR_GO + "printf 'hello\\n'; printf 'LAST'; exit 3"
    proc = start(cli_argv, rec_env, tmp_path, procs, "stream", "--local", "127.0.0.1:0", "--headless",
                 "--return", "-c", script)
    url, viewer, init, events, status, stdout, stderr = watch(proc, tmp_path)
    assert status == 3, stderr
    assert stderr == b""
    assert (init.cols, init.rows) == (80, 24)
    assert output_of(events) == "hello\r\nLAST"
    assert events[-1][1:] == ("x", "3")
    assert [e[0] for e in events] == list(range(init.last_id + 1, init.last_id + 1 + len(events)))
    assert viewer.close_code == (1000, "Stream ended")
    assert stdout.decode().replace("hello\r\nLAST", "").splitlines() == [
        "::: asciinema session started",
        f"::: Live streaming at {url}",
        "::: asciinema session ended",
    ]
    assert list(tmp_path.glob("*.cast")) == []


def test_session_records_and_streams_the_same_events(cli: object, cli_argv: List[str], rec_env: Dict[str, str],
                                                     tmp_path: Path, procs: list) -> None:
    script = WAIT_FOR_GO + "for i in 1 2 3; do printf 'line %s\\n' $i; sleep 0.05; done; printf '\\305'; " \
        "sleep 0.1; printf '\\274 end'"
    proc = start(cli_argv, rec_env, tmp_path, procs, "session", "-o", "x.cast", "-f", "asciicast-v2",
                 "--stream-local", "--headless", "-c", script, "-t", "both")
    url, viewer, init, events, status, stdout, stderr = watch(proc, tmp_path)
    assert (status, stderr) == (0, b"")
    assert viewer.close_code == (1000, "Stream ended")
    assert init.last_id == 0  # joined before the program wrote anything
    with open(tmp_path / "x.cast", "rb") as f:
        recording = open_recording(f, "x.cast")
        recorded = [(e[1], e[2]) for e in recording.events]
    assert recording.header.title == "both"
    assert recorded == [(code, data) for _, code, data in events]
    assert output_of(events) == "line 1\r\nline 2\r\nline 3\r\nż end"
    lines = stdout.decode().replace(output_of(events), "").splitlines()
    assert lines[:3] == ["::: asciinema session started", "::: Recording to x.cast", f"::: Live streaming at {url}"]
    assert lines[-2:] == ["::: asciinema session ended", "::: Recorded to x.cast"]


def test_listener_that_cannot_bind_is_one_error_line(cli: object, cli_argv: List[str], rec_env: Dict[str, str],
                                                     tmp_path: Path, procs: list) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for args in (["stream", "-l", f"127.0.0.1:{port}"], ["session", "-o", "x.cast", "-l", f"127.0.0.1:{port}"]):
            r = subprocess.run(cli_argv + args + ["--headless", "-c", "echo never > ran"], stdin=subprocess.DEVNULL,
                               capture_output=True, env=rec_env, cwd=str(tmp_path), timeout=TIMEOUT,
                               start_new_session=True)
            assert r.returncode == 1
            assert r.stderr == b"Error: cannot start listener: Address already in use\n"
            assert b"session started" not in r.stdout
    assert not (tmp_path / "ran").exists()
    # as in asciinema 3, the file was created before the listener: empty, so overwritable
    assert (tmp_path / "x.cast").stat().st_size == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses Linux ptys")
def test_hotkeys_while_streaming(cli: object, cli_argv: List[str], rec_env: Dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "config" / "config.toml").write_text(
        '[notifications]\nenabled = false\n[session]\nadd_marker_key = "^b"\n')
    r = PtyProc(cli_argv + ["stream", "-l", "-I", "-c", "cat"], rec_env, str(tmp_path))
    try:
        r.expect(URL_RE, timeout=TIMEOUT)
        url = URL_RE.search(r.output)
        assert url is not None
        viewer = Viewer(url.group(1).decode())
        assert viewer.init.wait(TIMEOUT)
        at = len(r.output)
        r.send_key(b"one\r")
        r.expect(b"one\r\none\r\n", start=at)
        r.send_key(b"\x02")  # marker
        r.send_key(b"\x1c")  # pause
        r.send_key(b"hidden\r")
        r.expect(b"hidden\r\nhidden\r\n", start=at)  # still shown on the terminal
        r.send_key(b"\x1c")  # resume
        r.send_key(b"two\r")
        r.expect(b"two\r\ntwo\r\n", start=at)
        r.send_key(b"\x04")
        assert r.wait(TIMEOUT) == 0
        init, events = viewer.finish()
    finally:
        r.close()
    text = output_of(events)
    assert "one" in text and "two" in text and "hidden" not in text
    codes = [code for _, code, _ in events]
    assert codes.count("m") == 1 and codes[-1] == "x"
    marker = codes.index("m")
    assert "one" in output_of(events[:marker]) and "two" in output_of(events[marker:])
    typed = "".join(data for _, code, data in events if code == "i")
    assert "one" in typed and "two" in typed and "hidden" not in typed and "\x02" not in typed
    assert viewer.close_code == (1000, "Stream ended")
