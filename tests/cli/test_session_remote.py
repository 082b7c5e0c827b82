"""`stream --remote ws://...` and `session --stream-remote`: the session forwarded to a
producer WebSocket (tests/server_producer.py, with a decoder of its own), through
disconnects, closes, refusals and a server that stalls or never comes back; the notices
(through notifications.command); the relay ID and the nested-stream guard; a file, a local
viewer and the remote together; a CONNECT proxy from HTTPS_PROXY.

Programs wait for files the test creates, so that no step depends on timing; the servers
bind 127.0.0.1 port 0.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from asciinema.asciicast import open_recording
from asciinema.hashing import relay_id
from asciinema.vt import Terminal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_api import ApiServer, Certificates, ConnectProxy, server_context  # noqa: E402
from server_producer import CLOSE, HANG, NO_SUBPROTOCOL, REFUSE, STALL, Connection, Plan, ProducerServer  # noqa: E402
from test_session_stream import Viewer, output_of, read_url  # noqa: E402

TIMEOUT = 60
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ws_proxy", "wss_proxy", "socks_proxy")


def wait(name: str) -> str:
    return f"while [ ! -e {name} ]; do sleep 0.02; done; "


@pytest.fixture
def env(rec_env: Dict[str, str], tmp_path: Path) -> Dict[str, str]:
    """rec_env with notices appended to ``notices`` in the test's directory, and no proxy."""
    env = {k: v for k, v in rec_env.items() if k.lower() not in PROXY_VARS}
    (tmp_path / "config" / "config.toml").write_text(
        "[notifications]\ncommand = 'printf \"%s\\\\n\" \"$TEXT\" >> notices'\n")
    return env


@pytest.fixture
def procs() -> Iterator[List["subprocess.Popen[bytes]"]]:
    started: List["subprocess.Popen[bytes]"] = []
    yield started
    for p in started:
        if p.poll() is None:
            os.killpg(p.pid, 9)
            p.wait(TIMEOUT)


def start(cli_argv: List[str], env: Dict[str, str], cwd: Path, procs: list, *args: str) -> "subprocess.Popen[bytes]":  # type: ignore[type-arg]
    proc = subprocess.Popen(cli_argv + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=str(cwd), start_new_session=True)
    procs.append(proc)
    return proc


def notices(tmp_path: Path) -> List[str]:
    try:
        return (tmp_path / "notices").read_text().splitlines()
    except FileNotFoundError:
        return []


def wait_until(cond, what: str, timeout: float = TIMEOUT) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def recorded_output(path: Path) -> str:
    return "".join(recorded_events(path))


def recorded_events(path: Path) -> List[str]:
    with open(path, "rb") as f:
        return [e[2] for e in open_recording(f, str(path)).events if e[1] == "o"]


def screen(text: str, cols: int = 80, rows: int = 24) -> object:
    """What a viewer sees after ``text``: every cell with its attributes, and the cursor."""
    term = Terminal(cols, rows, collect=False)
    term.feed(text)
    buffer = term.screen.buffer
    cursor = term.cursor
    return [[tuple(buffer[y][x]) for x in range(cols)] for y in range(rows)], (cursor.x, cursor.y, cursor.hidden)


def check_connection(conn: Connection, events: List[str]) -> None:
    """Each Init of ``conn`` shows the session's screen after one of its output ``events``,
    and the output after it is the session's output from there on."""
    assert conn.error is None, conn.error
    assert conn.subprotocol == "v1.alis" and conn.user_agent and conn.user_agent.startswith("asciinema/")
    assert " target/" in conn.user_agent  # the one User-Agent of every request (asciinema.http_client)
    printed = "".join(events)
    ends = [0]
    for text in events:
        ends.append(ends[-1] + len(text))
    for init, after in conn.segments():
        if after:
            at = printed.find(after)
            assert at in ends, f"connection {conn.number} got output the session did not print: {after!r}"
            assert screen(init.text) == screen(printed[:at]), f"connection {conn.number}'s Init"
        else:  # an Init and nothing after it on this connection
            assert any(screen(init.text) == screen(printed[:end]) for end in ends), f"connection {conn.number}'s Init"


def test_output_across_disconnects_with_each_connection_starting_from_the_screen(
        cli: object, cli_argv: List[str], env: Dict[str, str], tmp_path: Path, procs: list) -> None:
    script = ("printf 'A-1\\nA-2\\nA-end\\n'; " + wait("go1") + "printf '\\033[2J\\033[HB-1\\nB-end\\n'; "
              + wait("go2") + "printf 'C-1\\nC-end\\n'")
    # the first connection is closed with 1011 at once (an error: reconnect), the others stay
    with ProducerServer([Plan(CLOSE, after=2, code=1011)]) as server:
        proc = start(cli_argv, env, tmp_path, procs, "session", "-o", "x.cast", "-r", server.url, "--headless",
                     "-c", script)
        server.wait_for(lambda: len(server.connections) >= 2 and "A-end" in server.connections[1].output(),
                        "the second connection with the first part")
        wait_until(lambda: "Connected to the server" in notices(tmp_path), "an established connection")
        server.drop(server.connections[1])  # gone without a Close
        server.wait_for(lambda: len(server.connections) >= 3, "a reconnection")
        (tmp_path / "go1").touch()
        server.wait_for(lambda: "B-end" in server.connections[2].output(), "the second part")
        wait_until(lambda: "Reconnected to the server" in notices(tmp_path), "the reconnection established")
        server.close(server.connections[2], 1011, "internal error")
        server.wait_for(lambda: len(server.connections) >= 4, "another reconnection")
        (tmp_path / "go2").touch()
        _, stderr = proc.communicate(timeout=TIMEOUT)
        assert (proc.returncode, stderr) == (0, b"")
        last = server.connections[-1]
        assert last.closed.wait(TIMEOUT)
    printed = recorded_output(tmp_path / "x.cast")
    assert printed.endswith("C-end\r\n")
    assert last.close == (1000, "ended")
    assert last.events()[-1].code == "x"
    assert screen(last.output()) == screen(printed)
    for conn in server.connections:
        check_connection(conn, recorded_events(tmp_path / "x.cast"))
    assert notices(tmp_path) == [
        "Cannot connect to the server, retrying...",  # 1011 before the first connection was established
        "Connected to the server",
        "Disconnected from the server, reconnecting...",
        "Reconnected to the server",
        "Disconnected from the server, reconnecting...",
    ]


def test_a_server_that_never_comes_back_does_not_hold_the_exit(cli: object, cli_argv: List[str],
                                                               env: Dict[str, str], tmp_path: Path,
                                                               procs: list) -> None:
    # After the first connection, the server takes connections and never answers: the
    # forwarder is in the middle of a handshake when the session ends.
    with ProducerServer([Plan()], default=Plan(HANG)) as server:
        proc = start(cli_argv, env, tmp_path, procs, "stream", "-r", server.url, "--headless",
                     "-c", "printf 'one\\n'; " + wait("go") + "printf 'two\\n'")
        server.wait_for(lambda: server.connections and "one" in server.connections[0].output(), "the first output")
        server.drop(server.connections[0])
        server.wait_for(lambda: server.attempts >= 2, "a reconnection attempt")
        (tmp_path / "go").touch()
        started = time.monotonic()
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
        took = time.monotonic() - started
    assert (proc.returncode, stderr) == (0, b"")
    assert stdout.decode().endswith("two\r\n::: asciinema session ended\n")
    # 5 s at most for the forwarder, plus slack for a loaded machine (not a measurement)
    assert took < 5 + 10, took


@pytest.mark.parametrize("plan, notice, code", [
    (Plan(CLOSE, after=2, code=4002), "Stream halted by the server", None),
    (Plan(CLOSE, after=2, code=1000), "Stream halted by the server", None),
    (Plan(REFUSE, status=400), "CLI not compatible with the server, forwarding failed", None),
    (Plan(NO_SUBPROTOCOL), "The server version is too old, forwarding failed", None),
])
def test_final_answers_stop_forwarding_with_a_notice(cli: object, cli_argv: List[str], env: Dict[str, str],
                                                     tmp_path: Path, procs: list, plan: Plan, notice: str,
                                                     code: Optional[int]) -> None:
    script = f"while ! grep -q '{notice}' notices 2>/dev/null; do sleep 0.02; done; sleep 0.5; echo done"
    with ProducerServer([plan], default=Plan()) as server:
        proc = start(cli_argv, env, tmp_path, procs, "session", "-o", "x.cast", "-r", server.url, "--headless",
                     "-c", script)
        _, stderr = proc.communicate(timeout=TIMEOUT)
        assert (proc.returncode, stderr) == (0, b"")
        assert server.attempts == 1, server.summary()  # no reconnection
    assert notices(tmp_path) == [notice]
    assert recorded_output(tmp_path / "x.cast") == "done\r\n"


def test_relay_id_in_the_program_and_the_nested_stream_guard(cli: object, cli_argv: List[str],
                                                             env: Dict[str, str], tmp_path: Path,
                                                             procs: list) -> None:
    with ProducerServer() as server:
        r = subprocess.run(cli_argv + ["stream", "-r", server.url, "--headless", "-c",
                                       "echo $ASCIINEMA_RELAY_ID > relay"],
                           stdin=subprocess.DEVNULL, capture_output=True, env=env, cwd=str(tmp_path),
                           timeout=TIMEOUT, start_new_session=True)
        assert (r.returncode, r.stderr) == (0, b"")
        assert r.stdout.decode().splitlines() == [
            "::: asciinema session started", "::: asciinema session ended"]  # no URL line for a ws:// target
        assert (tmp_path / "relay").read_text() == relay_id(server.url) + "\n"
        attempts = server.attempts
        nested = dict(env, ASCIINEMA_RELAY_ID=relay_id(server.url))
        for args in (["stream", "-r", server.url], ["session", "-o", "n.cast", "-l", "--stream-remote", server.url]):
            r = subprocess.run(cli_argv + args + ["--headless", "-c", "echo ran > ran"], stdin=subprocess.DEVNULL,
                               capture_output=True, env=nested, cwd=str(tmp_path), timeout=TIMEOUT,
                               start_new_session=True)
            assert (r.returncode, r.stdout, r.stderr) == (1, b"", b"Error: This shell is already being streamed\n")
        assert not (tmp_path / "ran").exists()
        assert server.attempts == attempts
        # another target is another relay: streaming from inside a stream to elsewhere is fine
        r = subprocess.run(cli_argv + ["stream", "-r", server.url + "x", "--headless", "-c", "true"],
                           stdin=subprocess.DEVNULL, capture_output=True, env=nested, cwd=str(tmp_path),
                           timeout=TIMEOUT, start_new_session=True)
        assert r.returncode == 0, r.stderr


def test_file_local_viewer_and_remote_together(cli: object, cli_argv: List[str], env: Dict[str, str],
                                               tmp_path: Path, procs: list) -> None:
    script = wait("go") + "for i in 1 2 3; do printf 'line %s\\n' $i; done; printf '\\033[1mend\\033[0m'"
    with ProducerServer() as server:
        proc = start(cli_argv, env, tmp_path, procs, "session", "-o", "x.cast", "-l", "-r", server.url,
                     "--headless", "-c", script, "-t", "all three")
        out = bytearray()
        assert proc.stdout is not None
        url = read_url(proc.stdout.fileno(), out)
        viewer = Viewer(url)
        assert viewer.init.wait(TIMEOUT)
        server.wait_for(lambda: len(server.connections) == 1 and len(server.connections[0].items) >= 1,
                        "the remote's Init")
        (tmp_path / "go").touch()
        init, events = viewer.finish()
        rest, stderr = proc.communicate(timeout=TIMEOUT)
        assert (proc.returncode, stderr) == (0, b"")
        conn = server.connections[0]
        assert conn.closed.wait(TIMEOUT)
    printed = recorded_output(tmp_path / "x.cast")
    assert printed == "line 1\r\nline 2\r\nline 3\r\n\x1b[1mend\x1b[0m"
    assert output_of(events) == printed and viewer.close_code == (1000, "Stream ended")
    assert conn.close == (1000, "ended") and conn.error is None
    assert screen(conn.output()) == screen(printed)
    assert [e.code for e in conn.events()][-1] == "x"
    lines = (bytes(out) + rest).decode().replace(printed, "").splitlines()
    assert lines == ["::: asciinema session started", "::: Recording to x.cast", f"::: Live streaming at {url}",
                     "::: asciinema session ended", "::: Recorded to x.cast"]


def test_a_stalled_server_costs_the_session_nothing(cli: object, cli_argv: List[str], env: Dict[str, str],
                                                    tmp_path: Path, procs: list) -> None:
    data = "".join(f"{i:7d} " + "abcdefghij" * 7 + "\n" for i in range(100_000))  # 8 MB
    (tmp_path / "data").write_text(data)
    with ProducerServer([Plan(STALL, after=3)], default=Plan(STALL, after=3)) as server:
        proc = start(cli_argv, env, tmp_path, procs, "session", "-o", "x.cast", "-r", server.url, "--headless",
                     "-c", "printf 'start\\n'; sleep 0.5; cat data")
        stdout, stderr = proc.communicate(timeout=TIMEOUT * 2)
        assert (proc.returncode, stderr) == (0, b"")
    assert recorded_output(tmp_path / "x.cast") == "start\r\n" + data.replace("\n", "\r\n")
    assert server.connections and server.connections[0].error is None


def test_the_producer_connection_goes_through_the_proxy_from_the_environment(
        cli: object, cli_argv: List[str], env: Dict[str, str], tmp_path: Path, connect_proxy: ConnectProxy) -> None:
    with ProducerServer() as server:
        r = subprocess.run(cli_argv + ["stream", "-r", server.url, "--headless", "-c", "echo through"],
                           stdin=subprocess.DEVNULL, capture_output=True, env=dict(env, HTTPS_PROXY=connect_proxy.url),
                           cwd=str(tmp_path), timeout=TIMEOUT, start_new_session=True)
        assert (r.returncode, r.stderr) == (0, b"")
        conn = server.connections[0]
        assert conn.closed.wait(TIMEOUT)
    assert connect_proxy.requests == [("CONNECT", f"127.0.0.1:{server.port}")]
    assert "through" in conn.output() and conn.close == (1000, "ended")


def test_wss_through_the_proxy_with_the_certificate_from_ssl_cert_file(
        cli: object, cli_argv: List[str], env: Dict[str, str], tmp_path: Path, connect_proxy: ConnectProxy,
        certificates: Certificates) -> None:
    run_env = dict(env, HTTPS_PROXY=connect_proxy.url)
    with ProducerServer(tls=server_context(certificates)) as server:
        assert server.url.startswith("wss://")
        # not trusted: the forwarder retries (with a notice) and the session goes on
        r = subprocess.run(cli_argv + ["stream", "-r", server.url, "--headless", "-c",
                                       "while [ ! -e notices ]; do sleep 0.02; done; echo untrusted"],
                           stdin=subprocess.DEVNULL, capture_output=True, env=run_env, cwd=str(tmp_path),
                           timeout=TIMEOUT, start_new_session=True)
        assert (r.returncode, r.stderr) == (0, b"") and b"untrusted" in r.stdout
        assert notices(tmp_path)[0] == "Cannot connect to the server, retrying..."
        assert server.connections == []
        r = subprocess.run(cli_argv + ["stream", "-r", server.url, "--headless", "-c", "echo trusted"],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           env=dict(run_env, SSL_CERT_FILE=certificates.ca), cwd=str(tmp_path), timeout=TIMEOUT,
                           start_new_session=True)
        assert (r.returncode, r.stderr) == (0, b"")
        conn = server.connections[0]
        assert conn.closed.wait(TIMEOUT)
    assert set(connect_proxy.requests) == {("CONNECT", f"127.0.0.1:{server.port}")}
    assert "trusted" in conn.output() and conn.close == (1000, "ended") and conn.error is None


# ---------------------------------------------------------------------------- through the server's API


def api_env(env: Dict[str, str], api: ApiServer) -> Dict[str, str]:
    return dict(env, ASCIINEMA_SERVER_URL=api.url, USER="alice")


def status_lines(stdout: bytes, *program_output: str) -> List[str]:
    text = stdout.decode()
    for piece in program_output:
        text = text.replace(piece, "")
    return text.splitlines()


def test_a_new_stream_through_the_api(cli: object, cli_argv: List[str], env: Dict[str, str], tmp_path: Path,
                                      api_server: ApiServer) -> None:
    with ProducerServer() as producer:
        api_server.producer_url = producer.url.replace(producer.token, "{token}")
        r = subprocess.run(cli_argv + ["stream", "-r", "--headless", "-t", "live", "-c",
                                       "echo $ASCIINEMA_RELAY_ID > relay; echo hi"],
                           stdin=subprocess.DEVNULL, capture_output=True, env=api_env(env, api_server),
                           cwd=str(tmp_path), timeout=TIMEOUT, start_new_session=True)
        assert (r.returncode, r.stderr) == (0, b"")
        conn = producer.connections[0]
        assert conn.closed.wait(TIMEOUT)
    (request,) = api_server.requests
    assert (request.method, request.path) == ("POST", "/api/v1/streams")
    assert request.auth is not None and request.auth[0] == "alice" and request.auth[1]
    assert request.body == {"live": True, "title": "live", "term_type": None, "term_version": None,
                            "shell": "/bin/sh", "env": {"SHELL": "/bin/sh"}}
    assert list(json.loads(json.dumps(request.body))) == ["live", "title", "term_type", "term_version", "shell", "env"]
    stream = next(iter(api_server.streams.values()))
    assert status_lines(r.stdout, "hi\r\n") == [
        "::: asciinema session started", f"::: Live streaming at {stream['url']}", "::: asciinema session ended"]
    assert conn.path == f"/ws/S/{stream['token']}" and conn.error is None
    assert "hi" in conn.output() and conn.close == (1000, "ended")
    assert (tmp_path / "relay").read_text() == relay_id(stream["ws_producer_url"]) + "\n"


def test_an_existing_stream_by_prefix_with_a_file_and_a_local_stream(
        cli: object, cli_argv: List[str], env: Dict[str, str], tmp_path: Path, api_server: ApiServer,
        procs: list) -> None:
    with ProducerServer() as producer:
        api_server.producer_url = producer.url.replace(producer.token, "{token}")
        stream = api_server.add_stream(token="k3xb9q")
        proc = start(cli_argv, api_env(env, api_server), tmp_path, procs, "session", "-o", "x.cast", "-l", "-r",
                     "k3x", "--headless", "-c", wait("go") + "echo hi")
        out = bytearray()
        assert proc.stdout is not None
        url = read_url(proc.stdout.fileno(), out)
        (tmp_path / "go").touch()
        rest, stderr = proc.communicate(timeout=TIMEOUT)
        assert (proc.returncode, stderr) == (0, b"")
        conn = producer.connections[0]
        assert conn.closed.wait(TIMEOUT)
    get, patch = api_server.requests
    assert (get.method, get.path, get.query) == ("GET", "/api/v1/user/streams", {"prefix": ["k3x"], "limit": ["10"]})
    assert (patch.method, patch.path) == ("PATCH", f"/api/v1/streams/{stream['id']}")
    assert patch.body == {"live": True, "term_type": None, "term_version": None, "shell": "/bin/sh",
                          "env": {"SHELL": "/bin/sh"}}  # no title: the stream keeps its own
    assert status_lines(bytes(out) + rest, "hi\r\n") == [
        "::: asciinema session started", "::: Recording to x.cast", f"::: Live streaming at {url}",
        f"::: Live streaming at {stream['url']}", "::: asciinema session ended", "::: Recorded to x.cast"]
    assert "hi" in conn.output() and conn.close == (1000, "ended")
    assert recorded_output(tmp_path / "x.cast") == "hi\r\n"


def test_api_errors_are_one_line_before_the_session(cli: object, cli_argv: List[str], env: Dict[str, str],
                                                     tmp_path: Path, api_server: ApiServer) -> None:
    first = api_server.add_stream(token="aa1")
    second = api_server.add_stream(token="aa2")

    def run(*args: str, extra: Optional[Dict[str, str]] = None) -> "subprocess.CompletedProcess[bytes]":
        return subprocess.run(cli_argv + list(args) + ["--headless", "-c", "echo ran > ran"],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              env=dict(api_env(env, api_server), **(extra or {})), cwd=str(tmp_path),
                              timeout=TIMEOUT, start_new_session=True)

    r = run("stream", "-r", "zz")
    assert (r.returncode, r.stdout, r.stderr) == (1, b"", b'Error: no stream matches "zz"\n')
    r = run("stream", "--remote", "aa")
    assert (r.returncode, r.stdout) == (1, b"")
    assert r.stderr.decode() == f'Error: multiple streams match "aa" prefix: {first["url"]}, {second["url"]}\n'
    # the nested-stream guard, with the public URL
    r = run("stream", "-r", "aa1", extra={"ASCIINEMA_RELAY_ID": relay_id(first["ws_producer_url"])})
    assert (r.returncode, r.stdout) == (1, b"")
    assert r.stderr.decode() == f"Error: This shell is already being streamed at {first['url']}\n"
    # no server at that address
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    r = run("session", "-o", "x.cast", "-r", extra={"ASCIINEMA_SERVER_URL": f"http://127.0.0.1:{port}"})
    assert (r.returncode, r.stdout) == (1, b"")
    assert r.stderr.decode().startswith("Error: cannot obtain stream producer endpoint - is the server down?")
    assert len(r.stderr.splitlines()) == 1
    assert (tmp_path / "x.cast").stat().st_size == 0  # created before the API was asked, as asciinema 3 does
    # a ws:// target needs no server URL; anything else does, and there is no terminal to ask on
    no_url = {k: v for k, v in api_env(env, api_server).items() if k != "ASCIINEMA_SERVER_URL"}
    r = subprocess.run(cli_argv + ["stream", "-r", "--headless", "-c", "echo ran > ran"], stdin=subprocess.DEVNULL,
                       capture_output=True, env=no_url, cwd=str(tmp_path), timeout=TIMEOUT, start_new_session=True)
    assert r.returncode == 1 and r.stdout == b"" and len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith(b"Error: ")
    assert not (tmp_path / "ran").exists()
