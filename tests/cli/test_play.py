"""``asciinema play``: the command line, on pipes and on a real pty.

Every test here runs the CLI through the ``cli`` fixture (directly, or via ``spawn``/``timed``
which depend on it), so the same tests run against the source tree and against the built
archive (``--pyz``). They must pass while other processes keep every core busy, where any
event may come some tenths of a second late: they check order and completeness, and time
only with margins of 0.4 s or more, with the values chosen so that a wrong schedule is off
by twice that. Keys are typed one at a time, each after the player read the one before.
How late events come on a quiet machine is measured by ``bench/bench_play.py``.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")

if sys.platform != "win32":
    from ptyutil import PtyProc, communicate_or_dump, lateness, write_v2

from paths import CASTS  # noqa: E402

START = b"::: Replaying session from "
ENDED = b"::: Playback ended"
INTERRUPTED = b"::: Playback interrupted"


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def spawn(cli, cli_argv: List[str], cli_env: Dict[str, str], tmp_path: Path):  # type: ignore[no-untyped-def]
    """Start ``asciinema ARGS`` on a fresh pty that is its controlling terminal."""
    procs: List[PtyProc] = []

    def start(*args: str, env: Optional[Dict[str, str]] = None, **kw) -> PtyProc:  # type: ignore[no-untyped-def]
        full_env = dict(cli_env)
        full_env.update(env or {})
        kw.setdefault("stderr", subprocess.PIPE)
        p = PtyProc(cli_argv + list(args), env=full_env, cwd=str(tmp_path), **kw)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.close()


Timed = Tuple[int, List[Tuple[float, bytes]], bytes]


@pytest.fixture
def timed(cli, cli_argv: List[str], cli_env: Dict[str, str], tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run ``asciinema ARGS`` with stdout on a pipe; returns (status, stamped chunks, stderr)."""

    def run(*args: str, env: Optional[Dict[str, str]] = None, input: Optional[bytes] = None,
            timeout: float = 60) -> Timed:
        full_env = dict(cli_env)
        full_env.update(env or {})
        proc = subprocess.Popen(
            cli_argv + list(args),
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=str(tmp_path),
            start_new_session=True,  # no controlling terminal: no keys
        )
        if input is not None:
            assert proc.stdin is not None
            proc.stdin.write(input)
            proc.stdin.close()
        assert proc.stdout is not None and proc.stderr is not None
        chunks = []
        deadline = time.monotonic() + timeout
        fd = proc.stdout.fileno()
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out reading play output")
                if not select.select([fd], [], [], left)[0]:
                    continue
                data = os.read(fd, 1 << 16)
                if not data:
                    break
                chunks.append((time.perf_counter(), data))
            code = proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        return code, chunks, err

    return run


def arrival(chunks: Sequence[Tuple[float, bytes]], needle: bytes) -> float:
    data = b""
    for stamp, chunk in chunks:
        data += chunk
        if needle in data:
            return stamp
    raise AssertionError(f"{needle!r} not in output {data!r}")


def joined(chunks: Sequence[Tuple[float, bytes]]) -> bytes:
    return b"".join(c for _, c in chunks)


def write_config(tmp_path: Path, text: str) -> None:
    d = tmp_path / "config"
    d.mkdir(exist_ok=True)
    (d / "config.toml").write_text(text)


def one_error_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert "Traceback" not in text
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("Error: "), text
    return lines[0]


# -- formats and sources -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["full-v1.json", "full-v2.cast", "full-v3.cast", "minimal-v2.cast"])
def test_plays_every_version(cli, name):
    path = str(CASTS / name)
    r = cli("play", "--speed", "1000", path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(START + path.encode() + b"\n")
    assert r.stdout.endswith(ENDED + b"\n")
    body = r.stdout[len(START) + len(path) + 1 : -len(ENDED) - 1]
    if name.startswith("full"):
        assert "file.txt\x1b[0m  żółć\r\n".encode() in body
        assert b"ls\r" not in body.replace(b"ls\r\n", b"")  # input events are not shown
    else:
        assert body == b"hello world\r\n"
    assert r.stderr == b""


def test_output_is_written_verbatim(cli, tmp_path):
    cast = write_v2(str(tmp_path / "a.cast"), [
        (0.0, "o", "a\r\n"), (0.001, "i", "typed"), (0.002, "o", "\x1b[1mb\x1b[0m"),
        (0.003, "m", "marker"), (0.004, "r", "90x30"), (0.005, "o", "żółć 🦄"), (0.006, "x", "0"),
        (0.007, "q", "unknown code"),
    ])
    r = cli("play", "-q", cast)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "a\r\n\x1b[1mb\x1b[0mżółć 🦄".encode()


def test_quiet_prints_only_the_recording(cli):
    r = cli("play", "-q", "-s", "100", str(CASTS / "minimal-v2.cast"))
    assert r.returncode == 0
    assert r.stdout == b"hello world\r\n"


def test_stdin(cli):
    r = cli("play", "-s", "100", "-", input=(CASTS / "minimal-v2.cast").read_bytes())
    assert r.returncode == 0, r.stderr
    assert r.stdout == START + b"-\nhello world\r\n" + ENDED + b"\n"


def test_stdin_is_streamed_lazily(timed, cli_argv, cli_env, tmp_path):
    """The first event plays while the rest of the input has not been written yet."""
    proc = subprocess.Popen(cli_argv + ["play", "-q", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cli_env, cwd=str(tmp_path), start_new_session=True)
    try:
        assert proc.stdin and proc.stdout
        proc.stdin.write(b'{"version": 2, "width": 80, "height": 24}\n[0.0, "o", "first"]\n')
        proc.stdin.flush()
        fd = proc.stdout.fileno()
        assert select.select([fd], [], [], 20)[0], "nothing played before the input ended"
        assert os.read(fd, 100) == b"first"
        proc.stdin.write(b'[0.1, "o", " second"]\n')
        proc.stdin.close()
        rest = proc.stdout.read()
        assert proc.wait(20) == 0
        assert rest == b" second"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for f in (proc.stdout, proc.stderr):
            if f:
                f.close()


@pytest.fixture
def server(http_server):  # type: ignore[no-untyped-def]
    base, routes = http_server
    cast = (CASTS / "minimal-v2.cast").read_bytes()
    routes.update({
        "/a/1.cast": (200, "application/x-asciicast", cast),
        "/a/1": (200, "text/html; charset=utf-8", (
            '<!DOCTYPE html><html><head><title>demo</title>'
            f'<link rel="alternate" type="application/x-asciicast" href="{base}/a/1.cast">'
            "</head><body>player</body></html>").encode()),
        "/nolink": (200, "text/html", b"<html><head></head><body></body></html>"),
    })
    return base


def test_url(cli, server):
    url = server + "/a/1.cast"
    r = cli("play", "-s", "100", url, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == START + url.encode() + b"\nhello world\r\n" + ENDED + b"\n"


def test_url_of_html_page_follows_the_alternate_link(cli, server):
    url = server + "/a/1"
    r = cli("play", "-s", "100", url, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == START + url.encode() + b"\nhello world\r\n" + ENDED + b"\n"


def test_url_errors(cli, server):
    r = cli("play", server + "/nolink", timeout=60)
    assert r.returncode == 1
    assert "not found in the HTML page" in one_error_line(r.stderr)
    r = cli("play", server + "/missing.cast", timeout=60)
    assert r.returncode == 1
    assert "404" in one_error_line(r.stderr)
    assert r.stdout == b""


def test_unreachable_url(cli):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = cli("play", f"http://127.0.0.1:{port}/demo.cast", timeout=60)
    assert r.returncode == 1
    line = one_error_line(r.stderr)
    assert line.startswith(f"Error: download failed: http://127.0.0.1:{port}/demo.cast")
    assert r.stdout == b""


def test_missing_file(cli):
    r = cli("play", "nope.cast")
    assert r.returncode == 1
    assert one_error_line(r.stderr) == "Error: can't open nope.cast: No such file or directory"
    assert r.stdout == b""


def test_not_a_recording(cli, tmp_path):
    (tmp_path / "x.cast").write_text("hello\n")
    r = cli("play", "x.cast")
    assert r.returncode == 1
    assert one_error_line(r.stderr).startswith("Error: x.cast")
    assert r.stdout == b""


@pytest.mark.parametrize("args", [["-s", "0"], ["-s", "-2"], ["-s", "nan"], ["-s", "inf"], ["-s", "x"],
                                  ["-i", "-1"], ["-i", "nan"]])
def test_bad_numbers_are_usage_errors(cli, args):
    r = cli("play", *args, str(CASTS / "minimal-v2.cast"))
    assert r.returncode == 2
    assert b"usage:" in r.stderr and b"Traceback" not in r.stderr


def test_bad_config_speed(cli, tmp_path):
    write_config(tmp_path, "[playback]\nspeed = 0\n")
    r = cli("play", str(CASTS / "minimal-v2.cast"))
    assert r.returncode == 1
    assert "playback.speed" in one_error_line(r.stderr)


def test_help_lists_the_keys(cli):
    r = cli("play", "--help")
    assert r.returncode == 0
    out = r.stdout.decode()
    for text in ("--speed", "--idle-time-limit", "--loop", "--pause-on-markers", "--resize",
                 "ctrl+c", "space", "next marker", "Examples:"):
        assert text in out


def test_broken_line_mid_file(cli, tmp_path):
    path = tmp_path / "broken.cast"
    path.write_text(
        '{"version": 2, "width": 80, "height": 24}\n'
        '[0.01, "o", "one "]\n'
        '[0.02, "o", "two "]\n'
        '[0.03, "o", "three "]\n'
        '[0.04, "o", "fou\n'
        '[0.05, "o", "five"]\n'
    )
    r = cli("play", "broken.cast")
    assert r.returncode == 1
    assert r.stdout == START + b"broken.cast\none two three "
    assert one_error_line(r.stderr).startswith("Error: broken.cast:5: ")


def test_broken_v3_line_mid_file_names_the_line(cli, tmp_path):
    path = tmp_path / "broken3.cast"
    path.write_text(
        '{"version": 3, "term": {"cols": 80, "rows": 24}}\n'
        '[0.01, "o", "one "]\n'
        '# comment\n'
        '[0.01, "r", "80x"]\n'
    )
    r = cli("play", "-", input=path.read_bytes())
    assert r.returncode == 1
    assert r.stdout == START + b"-\none "
    assert one_error_line(r.stderr).startswith("Error: <stdin>:4: ")


# -- timing on a pipe (no terminal) --------------------------------------------------------


#: How far an event may be off its time, here, on a machine busy with other work.
MARGIN = 0.4


def near(gap: float, expected: float) -> bool:
    return expected - MARGIN < gap < expected + MARGIN


def test_pipe_output_is_written_in_time(timed, tmp_path):
    """Each event is written when due, not held back until a buffer fills or the end."""
    cast = write_v2(str(tmp_path / "t.cast"), [(0.2, "o", "A"), (1.0, "o", "B"), (1.8, "o", "C")])
    code, chunks, err = timed("play", "-q", cast)
    assert code == 0, err
    assert joined(chunks) == b"ABC"
    a, b, c = (arrival(chunks, x) for x in (b"A", b"B", b"C"))
    assert near(b - a, 0.8) and near(c - b, 0.8), (b - a, c - b)


def test_speed_idle_limit_and_their_precedence(timed, tmp_path):
    """-i over playback.idle_time_limit over the header; -s over playback.speed.

    A pause of 4.8 s, limited to 2.4 s by the header. Each case expects a gap at least
    0.8 s (twice the margin) away from what the wrong precedence or order would give.
    """
    cast = write_v2(str(tmp_path / "t.cast"), [(0.1, "o", "A"), (4.9, "o", "B")], idle_time_limit=2.4)

    def gap(*args: str, config: str = "") -> float:
        write_config(tmp_path, config)
        code, chunks, err = timed("play", "-q", *args, cast)
        assert code == 0, err
        assert joined(chunks) == b"AB"
        return arrival(chunks, b"B") - arrival(chunks, b"A")

    cases = [
        ((), "", 2.4),  # the header's limit (none: 4.8)
        ((), "idle_time_limit = 1.6", 1.6),  # the config's over the header's (2.4)
        (("-i", "0.8"), "idle_time_limit = 1.6", 0.8),  # -i over the config (1.6)
        ((), "speed = 3.0", 0.8),  # 2.4 / 3 (2.4 unsped)
        (("-s", "1.5"), "speed = 3.0", 1.6),  # -s over the config (0.8)
        (("-s", "2", "-i", "1.6"), "", 0.8),  # limit first, then speed (speed first: 1.6)
    ]
    for args, config, expected in cases:
        measured = gap(*args, config=f"[playback]\n{config}\n")
        assert near(measured, expected), (args, config, measured, expected)


def test_without_termios(cli_argv, cli_env, tmp_path, cli):
    """Where termios does not exist (Windows) play still plays, without keys."""
    cast = write_v2(str(tmp_path / "t.cast"), [(0.01, "o", "hello"), (0.02, "m", ""), (0.03, "o", " there")])
    if cli_argv[1] == "-m":
        target = "import runpy; runpy.run_module('asciinema', run_name='__main__')"
    else:
        target = f"import runpy; runpy.run_path({cli_argv[1]!r}, run_name='__main__')"
    code = ("import sys; sys.modules['termios'] = None; sys.modules['tty'] = None; sys.modules['fcntl'] = None; "
            f"sys.argv = ['asciinema', 'play', '-m', {cast!r}]; " + target)
    for stdin in (subprocess.DEVNULL, None):
        with PtyProc([sys.executable, "-c", code], env=cli_env, cwd=str(tmp_path),
                                 stderr=subprocess.PIPE) if stdin is None else \
                _Nothing() as p:
            if p is None:
                r = subprocess.run([sys.executable, "-c", code], env=cli_env, cwd=str(tmp_path),
                                   capture_output=True, stdin=stdin, timeout=60)
                assert r.returncode == 0, r.stderr
                assert r.stdout == START + cast.encode() + b"\nhello there" + ENDED + b"\n"
            else:
                assert p.wait(60) == 0, p.stderr
                assert b"hello there" in p.output
                assert p.restored()


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        pass


# -- on a real terminal --------------------------------------------------------------------


def test_speed_and_idle_limit_on_a_pty(spawn, tmp_path):
    cast = write_v2(str(tmp_path / "t.cast"), [(0.5, "o", "A"), (2.1, "o", "B"), (12.1, "o", "C")],
                    idle_time_limit=3.2)
    p = spawn("play", "-s", "2", "-i", "1.6", cast)
    assert p.wait(60) == 0, p.stderr
    start, a, b, c = (p.time_of(x) for x in (START, b"A", b"B", b"C"))
    assert start and a and b and c and start < a
    # 1.6 / 2 and then the pause of 10 s limited to 1.6, / 2: 0.8 each (1.6 without the
    # speed or with the header's limit; 5 with no limit)
    assert near(b - a, 0.8) and near(c - b, 0.8), (b - a, c - b)
    assert p.output.endswith(ENDED + b"\r\n")
    assert p.restored()


def test_pause_step_and_next_marker_keys(spawn, tmp_path):
    cast = write_v2(str(tmp_path / "k.cast"), [
        (0.1, "o", "one "), (1.1, "o", "two "), (1.2, "m", "m1"), (1.3, "o", "three "),
        (9.0, "o", "four "), (9.1, "m", "m2"), (9.3, "o", "five "), (10.1, "o", "six"),
    ])
    p = spawn("play", cast)
    p.expect(b"one ")
    p.wait_raw()
    p.send_key(b" ")  # pause, well before "two" is due
    time.sleep(1.5)  # "two" would have come by now
    assert b"two" not in p.output
    p.send(b".")
    p.expect(b"two ")
    time.sleep(0.4)
    assert b"three" not in p.output  # one step, one event
    p.send_key(b".")  # the marker: consumed, nothing shown
    time.sleep(0.2)
    assert b"three" not in p.output
    p.send(b".")
    p.expect(b"three ")
    p.send(b"]")  # everything up to m2 at once, then paused again
    p.expect(b"four ")
    time.sleep(0.6)
    assert b"five" not in p.output
    resumed = time.perf_counter()
    p.send(b" ")
    five = p.expect(b"five ")
    six = p.expect(b"six")
    assert five - resumed > 0.1  # due 0.2 s after the resume
    assert near(six - five, 0.8), six - five
    assert p.wait(30) == 0, p.stderr
    assert p.output.endswith(ENDED + b"\r\n")
    assert p.restored()


def test_pause_on_markers_and_configured_keys(spawn, tmp_path):
    write_config(tmp_path, '[playback]\npause_key = "p"\n')
    cast = write_v2(str(tmp_path / "m.cast"), [(0.1, "o", "before "), (0.2, "m", "stop"), (0.3, "o", "after")])
    p = spawn("play", "--pause-on-markers", cast)
    p.expect(b"before ")
    p.wait_raw()
    time.sleep(0.8)
    assert b"after" not in p.output
    p.send_key(b" ")  # not the pause key any more
    time.sleep(0.4)
    assert b"after" not in p.output
    p.send(b"p")
    p.expect(b"after")
    assert p.wait(30) == 0, p.stderr
    assert p.restored()


def test_loop_until_ctrl_c(spawn, tmp_path):
    cast = write_v2(str(tmp_path / "l.cast"), [(0.02, "o", "tick "), (0.05, "o", "tock\r\n")])
    p = spawn("play", "--loop", cast)
    deadline = time.monotonic() + 20
    while p.output.count(b"tock") < 3:
        assert time.monotonic() < deadline, p.output
        time.sleep(0.01)
    p.wait_raw()
    p.send(b"\x03")
    assert p.wait(30) == 0, p.stderr
    assert p.output.endswith(b"\r\n" + INTERRUPTED + b"\r\n")
    assert p.output.count(START) == 1
    assert ENDED not in p.output
    assert p.restored()


def test_loop_from_stdin_replays_the_copy(spawn, tmp_path):
    cast = write_v2(str(tmp_path / "l.cast"), [(0.02, "o", "tick "), (0.05, "o", "tock\r\n")])
    with open(cast, "rb") as f:
        p = spawn("play", "-l", "-", stdin=f.fileno())
        _stop_after_three_passes(p)


def _stop_after_three_passes(p) -> None:  # type: ignore[no-untyped-def]
    """Wait for the third "tick tock" of a looping player, then ctrl+c it."""
    deadline = time.monotonic() + 20
    while p.output.count(b"tick tock") < 3:
        assert time.monotonic() < deadline, p.output
        time.sleep(0.01)
    p.wait_raw()
    p.send(b"\x03")
    assert p.wait(30) == 0, p.stderr
    assert p.output.endswith(INTERRUPTED + b"\r\n")
    assert p.restored()


def test_loop_from_a_fifo_replays_the_copy(spawn, tmp_path):
    # a second open of the FIFO would wait for a writer for ever
    cast = write_v2(str(tmp_path / "l.cast"), [(0.02, "o", "tick "), (0.05, "o", "tock\r\n")])
    fifo = tmp_path / "l.fifo"
    os.mkfifo(fifo)
    p = spawn("play", "-l", str(fifo))
    with open(fifo, "wb") as f:  # opens once the player has opened its end
        f.write(Path(cast).read_bytes())
    _stop_after_three_passes(p)


def test_resize(spawn, tmp_path):
    cast = write_v2(str(tmp_path / "r.cast"), [(0.01, "o", "a"), (0.02, "r", "90x20"), (0.03, "o", "b")],
                    width=100, height=30)
    p = spawn("play", "--resize", cast)
    assert p.wait(30) == 0, p.stderr
    out = p.output
    assert b"\x1b[8;30;100ta\x1b[8;20;90tb" in out
    p2 = spawn("play", cast)
    assert p2.wait(30) == 0
    assert b"\x1b[8;" not in p2.output and b"ab" in p2.output


# -- the terminal is restored however playback ends ----------------------------------------


def _long_cast(tmp_path: Path) -> str:
    return write_v2(str(tmp_path / "long.cast"), [(0.05, "o", "started "), (60.0, "o", "never")])


def _playing(p: PtyProc) -> None:
    p.expect(b"started ")
    p.wait_raw()
    assert not p.restored()


def test_restored_after_natural_end(spawn, tmp_path):
    cast = write_v2(str(tmp_path / "s.cast"), [(0.3, "o", "x")])
    p = spawn("play", cast)
    p.wait_raw()
    assert p.wait(30) == 0
    assert p.restored()
    assert p.output.endswith(b"x" + ENDED + b"\r\n")


def test_restored_after_ctrl_c(spawn, tmp_path):
    p = spawn("play", _long_cast(tmp_path))
    _playing(p)
    p.send(b"\x03")
    assert p.wait(30) == 0
    assert p.stderr == b""
    assert p.output.endswith(b"started \r\n" + INTERRUPTED + b"\r\n")
    assert p.restored()


def test_ctrl_c_while_paused(spawn, tmp_path):
    p = spawn("play", _long_cast(tmp_path))
    _playing(p)
    p.send_key(b" ")
    p.send(b"\x03")
    assert p.wait(30) == 0
    assert p.output.endswith(INTERRUPTED + b"\r\n")
    assert p.restored()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_restored_after_signal(spawn, tmp_path, signum):
    p = spawn("play", _long_cast(tmp_path))
    _playing(p)
    p.proc.send_signal(signum)
    assert p.wait(30) == 128 + signum
    assert one_error_line(p.stderr) == f"Error: terminated by {signal.Signals(signum).name}"
    assert ENDED not in p.output
    assert p.restored()


def test_sigint_counts_as_ctrl_c(spawn, tmp_path):
    p = spawn("play", _long_cast(tmp_path))
    _playing(p)
    p.proc.send_signal(signal.SIGINT)
    assert p.wait(30) == 0
    assert p.output.endswith(INTERRUPTED + b"\r\n")
    assert p.restored()


def test_restored_after_broken_line(spawn, tmp_path):
    path = tmp_path / "broken.cast"
    path.write_text('{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "fine "]\n[0.6, "o", "bro\n')
    p = spawn("play", "broken.cast")
    _ = p.expect(b"fine ")
    assert p.wait(30) == 1
    assert one_error_line(p.stderr).startswith("Error: broken.cast:3: ")
    assert ENDED not in p.output
    assert p.restored()


def test_restored_after_stdout_closed(spawn, tmp_path):
    cast = write_v2(str(tmp_path / "c.cast"), [(0.1 * i, "o", f"line {i}\r\n") for i in range(1, 200)])
    p = spawn("play", cast, stdout=subprocess.PIPE)
    p.wait_raw()
    assert p.proc.stdout is not None
    assert p.proc.stdout.readline().startswith(START)
    p.proc.stdout.close()
    assert p.wait(30) == -signal.SIGPIPE  # as cat: killed by SIGPIPE, no message
    assert p.stderr == b""
    assert p.restored()


# -- a dense recording ----------------------------------------------------------------------


def test_dense_cast_plays_every_event_in_order_and_keeps_its_span(spawn, tmp_path):
    """10,000 events in 5 s at speed 1: all of them, in order, over the recording's span.

    The span is the check for drift: events timed one after the other (each wait starting
    after the last write) add up a delay per event, half a second or more over 10,000 of
    them, where a schedule from one origin is off only by how late the first and the last
    event come.
    How late events come (mean, p99, max) is for bench/bench_play.py to measure, on this
    same kind of recording ("jittered"): here the machine may be busy with other work.
    """
    import random

    rnd = random.Random(5)
    t, events = 0.0, []
    for i in range(10_000):
        t += rnd.uniform(0, 0.001)
        events.append((t, "o", f"<{i}>"))
    cast = write_v2(str(tmp_path / "dense.cast"), events)
    spawned = time.perf_counter()
    p = spawn("play", "-q", cast)
    assert p.wait(120) == 0, p.stderr
    due = {f"<{i}>".encode(): round(e[0], 6) for i, e in enumerate(events)}
    seen = p.arrivals(re.compile(rb"<\d+>"))
    assert [tok for tok, _ in seen] == list(due)
    _, drift, span = lateness([(due[tok], stamp) for tok, stamp in seen])
    print(f"span {span:.3f}s drift {drift * 1000:.2f}ms")
    assert seen[-1][1] - spawned > span  # never ahead of the schedule
    assert abs(drift) < MARGIN, drift
    assert p.restored()


# -- start-up and memory ---------------------------------------------------------------------


def _wrapped(cli_argv: List[str], argv: Sequence[str], prelude: str = "", epilogue: str = "") -> List[str]:
    """A python -c command that runs asciinema ``argv`` (source tree or archive) in-process."""
    if cli_argv[1] == "-m":
        target = "runpy.run_module('asciinema', run_name='__main__')"
    else:
        target = f"runpy.run_path({cli_argv[1]!r}, run_name='__main__')"
    code = (f"import runpy, sys\n{prelude}\nsys.argv = {['asciinema'] + list(argv)!r}\n"
            f"try:\n    {target}\nexcept SystemExit as e:\n    code = e.code\n{epilogue}\nsys.exit(code)\n")
    return [cli_argv[0], "-c", code]


def test_play_does_not_import_pyte_or_websockets(cli, cli_argv, cli_env, tmp_path):
    argv = _wrapped(cli_argv, ["play", "-q", str(CASTS / "minimal-v2.cast")], epilogue=(
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pyte', 'websockets', 'asyncio'))\n"
        "sys.stderr.write('heavy=%r\\n' % heavy)"))
    r = subprocess.run(argv, env=cli_env, cwd=str(tmp_path), capture_output=True, stdin=subprocess.DEVNULL,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hello world\r\n"
    assert b"heavy=[]" in r.stderr


def _max_rss_kib(argv: List[str], env: Dict[str, str], cwd: Path, feed: Callable[[int], None]) -> int:
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env, cwd=str(cwd), start_new_session=True)
    assert proc.stdin is not None
    try:
        feed(proc.stdin.fileno())
        proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status
        assert status == 0
        return usage.ru_maxrss
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


def test_memory_stays_flat_for_a_large_stream(cli, cli_argv, cli_env, tmp_path):
    """40 MB of events through stdin: the player's peak memory barely moves (no loading)."""
    header = b'{"version": 2, "width": 80, "height": 24}\n'
    line = json.dumps("x" * 2000)

    def feed(count: int) -> Callable[[int], None]:
        def run(fd: int) -> None:
            os.write(fd, header)
            for start in range(0, count, 100):
                batch = "".join(f'[{i / 1000:.3f}, "o", {line}]\n' for i in range(start, start + 100)).encode()
                view = memoryview(batch)
                while view:
                    view = view[os.write(fd, view):]
        return run

    argv = cli_argv + ["play", "-q", "-s", "1000000", "-"]
    small = _max_rss_kib(argv, cli_env, tmp_path, feed(100))
    large = _max_rss_kib(argv, cli_env, tmp_path, feed(20_000))  # ~40 MB
    print(f"peak RSS {small} KiB -> {large} KiB")
    assert large - small < 12_000, (small, large)


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 0), (signal.SIGTERM, 128 + signal.SIGTERM)])
def test_signals_without_a_terminal(cli, cli_argv, cli_env, tmp_path, signum, code):
    cast = write_v2(str(tmp_path / "long.cast"), [(0.01, "o", "started "), (60.0, "o", "never")])
    env = dict(cli_env, PYTHONFAULTHANDLER="1")
    proc = subprocess.Popen(cli_argv + ["play", cast], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=str(tmp_path), start_new_session=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(START)
        assert os.read(proc.stdout.fileno(), 100) == b"started "
        proc.send_signal(signum)
        out, err = communicate_or_dump(proc, 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == code
    if signum == signal.SIGINT:
        assert out == b"\r\n" + INTERRUPTED + b"\n"
        assert err == b""
    else:
        assert out == b""
        assert one_error_line(err) == "Error: terminated by SIGTERM"


@pytest.mark.parametrize("name", ["full-v1.json", "minimal-v2.cast", "generated"])
def test_same_bytes_as_asciinema_2_4(cli, ref_asciinema, cli_env, tmp_path, name):
    if name == "generated":
        path = write_v2(str(tmp_path / "g.cast"), [
            (0.01, "o", "a\r\n"), (0.02, "i", "typed"), (0.03, "m", "mark"), (0.04, "r", "90x30"),
            (0.05, "o", "\x1b[1mb żółć\x1b[0m"), (3.0, "o", "\r\nlast"),
        ], idle_time_limit=0.1)
    else:
        path = str(CASTS / name)
    ours = cli("play", "-q", "-s", "50", path)
    ref = subprocess.run([ref_asciinema, "play", "-s", "50", path], env=cli_env, capture_output=True,
                         stdin=subprocess.DEVNULL, timeout=60, start_new_session=True)
    assert ours.returncode == 0 and ref.returncode == 0, (ours.stderr, ref.stderr)
    assert ours.stdout == ref.stdout
