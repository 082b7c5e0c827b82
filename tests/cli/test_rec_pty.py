"""`rec` on a real pty that is its controlling terminal: typing, resizing, hotkeys, exit
statuses, and the terminal's modes restored on every way out.

Each test starts the CLI on a fresh pty (tests/ptyutil.py), types into it and reads with
deadlines. Times are only compared with generous margins.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from asciinema.asciicast import open_recording

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ptyutil import PtyProc, child_pids  # noqa: E402

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and Linux ptys")


@pytest.fixture
def runs() -> Iterator[List[PtyProc]]:
    started: List[PtyProc] = []
    yield started
    for r in started:
        r.close()


@pytest.fixture
def start(cli: object, cli_argv: List[str], rec_env: Dict[str, str], tmp_path: Path, runs: List[PtyProc]):  # type: ignore[no-untyped-def]
    def run(*args: str, cols: int = 80, rows: int = 24, config: str = "") -> PtyProc:
        if config:
            if "[notifications]" not in config:
                config = "[notifications]\nenabled = false\n" + config
            (tmp_path / "config" / "config.toml").write_text(config)
        r = PtyProc(cli_argv + ["rec", *args], rec_env, str(tmp_path), cols=cols, rows=rows)
        runs.append(r)
        return r

    return run


def load(path: Path):  # type: ignore[no-untyped-def]
    with open(path, "rb") as f:
        rec = open_recording(f, str(path))
        return rec.header, list(rec.events)


def output_of(events) -> str:  # type: ignore[no-untyped-def]
    return "".join(e[2] for e in events if e[1] == "o")


def started(r: PtyProc) -> int:
    """Wait for the session to run (its terminal raw); returns the offset after the status lines."""
    r.expect(b"::: Recording to ")
    at = r.output.index(b"::: Recording to ")
    r.expect(b"\r\n", start=at)
    r.wait_raw()
    return r.output.index(b"\r\n", at) + 2


def wait_for_event(path: Path, code: str, data: str, timeout: float = 30.0) -> None:
    """Wait until the recording being written has the event; the recorder writes its file
    at least every second."""
    deadline = time.monotonic() + timeout
    needle = json.dumps(code) + ", " + json.dumps(data)
    while not (path.exists() and needle in path.read_text()):
        assert time.monotonic() < deadline, f"no {needle} in {path}"
        time.sleep(0.02)


def test_typing_into_cat(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = start("-I", "-c", "cat", "x.cast", cols=91, rows=33)
    before = r.attrs()
    at = started(r)
    assert b"Press <ctrl+d>" not in r.output
    r.send_key(b"hello")
    r.send_key(b"\r")
    r.expect(b"hello\r\nhello\r\n", start=at)
    r.send_key(b"\x04")
    assert r.wait() == 0
    assert r.attrs() == before
    assert b"::: asciinema session ended\r\n::: Recorded to x.cast\r\n" in r.output
    header, events = load(tmp_path / "x.cast")
    assert (header.cols, header.rows) == (91, 33)
    assert header.term_type == "xterm-256color"
    assert output_of(events) == "hello\r\nhello\r\n"
    assert [e[2] for e in events if e[1] == "i"] == ["hello", "\r", "\x04"]
    assert events[-1][1:] == ("x", "0")


def test_shell_session_with_prompt_line(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = start("x.cast")
    before = r.attrs()
    at = started(r)
    assert b"::: Press <ctrl+d> or type 'exit' to end\r\n" in r.output
    r.send(b"echo $((6*7))\r")
    r.expect(b"42", start=at)
    r.send(b"exit\r")
    assert r.wait() == 0
    assert r.attrs() == before
    assert "42" in output_of(load(tmp_path / "x.cast")[1])


def test_resize(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = start("-c", "cat", "x.cast")
    started(r)
    r.resize(100, 40)
    wait_for_event(tmp_path / "x.cast", "r", "100x40")
    r.resize(100, 40)  # no change, no event
    time.sleep(0.3)  # so that the two signals are seldom taken as one
    r.resize(120, 50)
    wait_for_event(tmp_path / "x.cast", "r", "120x50")
    r.send_key(b"stty size\r")  # cat echoes it; a shell would run it
    r.send_key(b"\x04")
    assert r.wait() == 0
    _, events = load(tmp_path / "x.cast")
    assert [e[2] for e in events if e[1] == "r"] == ["100x40", "120x50"]


def test_resize_reaches_the_program(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = start("-c", "read line; stty size", "x.cast")
    started(r)
    r.resize(101, 41)
    wait_for_event(tmp_path / "x.cast", "r", "101x41")  # the program's terminal has it by then
    r.send_key(b"\r")
    assert r.wait() == 0
    assert "41 101\r\n" in output_of(load(tmp_path / "x.cast")[1])


def test_window_size_override_masks_resizes(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = start("--window-size", "90x", "-c", "cat", "x.cast")
    started(r)
    r.resize(100, 40)
    wait_for_event(tmp_path / "x.cast", "r", "90x40")
    r.send_key(b"\x04")
    assert r.wait() == 0
    header, events = load(tmp_path / "x.cast")
    assert (header.cols, header.rows) == (90, 24)
    assert [e[2] for e in events if e[1] == "r"] == ["90x40"]


def test_pause_stops_capture_and_time(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spawned = time.monotonic()
    r = start("-I", "-c", "cat", "x.cast")
    at = started(r)
    r.send_key(b"before\r")
    r.expect(b"before\r\nbefore\r\n", start=at)
    r.send_key(b"\x1c")  # ctrl+\ pauses
    paused = time.monotonic()  # the recorder has read the key
    r.send_key(b"hidden\r")
    r.expect(b"hidden\r\nhidden\r\n", start=at)  # still shown on the terminal
    time.sleep(1.5)  # time stops while paused
    resumed = time.monotonic()  # the recorder reads the key after this
    r.send_key(b"\x1c")
    r.send_key(b"after\r")
    r.expect(b"after\r\nafter\r\n", start=at)
    r.send_key(b"\x04")
    assert r.wait() == 0
    ended = time.monotonic()
    _, events = load(tmp_path / "x.cast")
    text = output_of(events)
    assert "before" in text and "after" in text and "hidden" not in text
    inputs = "".join(e[2] for e in events if e[1] == "i")
    assert "hidden" not in inputs and "\x1c" not in inputs and "before" in inputs
    # the time recorded leaves out at least the time paused here (1.5 s or more)
    assert events[-1][0] / 1e6 < (ended - spawned) - (resumed - paused), events


def test_pause_key_inside_a_burst_is_input(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = start("-c", "stty -isig; echo ready; od -c", "x.cast")
    at = started(r)
    r.expect(b"ready\r\n", start=at)  # keys typed before stty ran would be signals
    r.send_key(b"a\x1cb\r")
    r.send_key(b"\x04")
    assert r.wait() == 0
    assert "a 034   b" in output_of(load(tmp_path / "x.cast")[1])
    assert at > 0


def test_marker_key(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = start("-c", "cat", "x.cast", config='[session]\nadd_marker_key = "^b"\n')
    at = started(r)
    r.send_key(b"one\r")
    r.send_key(b"\x02")
    r.send_key(b"two\r")
    r.expect(b"two\r\ntwo\r\n", start=at)
    r.send_key(b"\x04")
    assert r.wait() == 0
    _, events = load(tmp_path / "x.cast")
    codes = [e[1] for e in events]
    assert codes.count("m") == 1
    marker = codes.index("m")
    assert "one" in output_of(events[:marker]) and "two" in output_of(events[marker:])
    assert events[marker][2] == ""
    assert "\x02" not in output_of(events)


def test_prefix_key_mode(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = '[session]\nprefix_key = "C-a"\npause_key = "p"\nadd_marker_key = "m"\n'
    r = start("-c", "cat", "x.cast", config=config)
    at = started(r)
    r.send_key(b"m")  # plain m is text
    r.send_key(b"\x01")
    r.send_key(b"m")  # marker
    r.send_key(b"\x01")
    r.send_key(b"\x01")  # a literal ctrl+a
    r.send_key(b"\r")
    r.expect(b"\r\n", start=at)
    r.send_key(b"\x04")
    assert r.wait() == 0
    _, events = load(tmp_path / "x.cast")
    assert [e[1] for e in events].count("m") == 1
    assert output_of(events).startswith("m^A\r\n") or output_of(events).startswith("m\x01\r\n")


def test_pause_key_disabled(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = start("-c", "stty -isig; echo ready; od -c", "x.cast", config='[session]\npause_key = ""\n')
    r.expect(b"ready\r\n", start=started(r))  # keys typed before stty ran would be signals
    r.send_key(b"\x1c")
    r.send_key(b"\r")
    r.send_key(b"\x04")
    assert r.wait() == 0
    assert "0000000 034  \\n" in output_of(load(tmp_path / "x.cast")[1])


@pytest.mark.parametrize("ret", [False, True])
def test_exit_3(start, tmp_path: Path, ret: bool) -> None:  # type: ignore[no-untyped-def]
    r = start(*(["--return"] if ret else []), "x.cast")
    before = r.attrs()
    at = started(r)
    r.send(b"exit 3\r")
    assert r.wait() == (3 if ret else 0)
    assert r.attrs() == before
    _, events = load(tmp_path / "x.cast")
    assert events[-1][1:] == ("x", "3")
    assert at


def recorder_child(r: PtyProc) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        kids = child_pids(r.pid)
        if kids:
            return kids[0]
        time.sleep(0.05)
    raise AssertionError("no child process")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT])
def test_signal_to_recorder_restores_terminal(start, tmp_path: Path, sig: int) -> None:  # type: ignore[no-untyped-def]
    r = start("--return", "x.cast")  # an interactive shell ignores SIGTERM; it is hung up
    before = r.attrs()
    at = started(r)
    assert r.attrs() != before  # raw mode while recording
    # a shell still starting up on a busy machine may outlast the grace before SIGKILL
    r.expect(b"$ ", start=at)
    os.kill(r.pid, sig)
    status = r.wait()
    assert status == 128 + signal.SIGHUP
    assert r.attrs() == before
    _, events = load(tmp_path / "x.cast")
    assert events[-1][1:] == ("x", str(128 + signal.SIGHUP))


def test_sigalrm_and_sigwinch_do_not_end_the_session(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = start("-c", "cat", "x.cast")
    at = started(r)
    os.kill(r.pid, signal.SIGALRM)
    os.kill(r.pid, signal.SIGWINCH)
    r.send_key(b"still here\r")
    r.expect(b"still here\r\nstill here\r\n", start=at)
    r.send_key(b"\x04")
    assert r.wait() == 0


def test_killed_child_restores_terminal(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = start("--return", "-c", "sleep 60", "x.cast")
    before = r.attrs()
    started(r)
    os.kill(recorder_child(r), signal.SIGKILL)
    assert r.wait() == 137
    assert r.attrs() == before
    _, events = load(tmp_path / "x.cast")
    assert events[-1][1:] == ("x", "137")


def test_program_ignoring_sigterm_is_killed(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = start("--return", "-c", "trap '' TERM HUP; echo ready; while :; do sleep 0.1; done", "x.cast")
    before = r.attrs()
    r.expect(b"ready")
    os.kill(r.pid, signal.SIGTERM)
    assert r.wait(120) == 137  # the program would never end by itself
    assert r.attrs() == before


def test_write_error_restores_terminal(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the warning shows on the terminal (in raw mode: CR LF), the program goes on until its end
    r = start("-c", "echo hi; read x; echo done > marker", "/dev/full")
    before = r.attrs()
    lost = b"can't write /dev/full: No space left on device; nothing is recorded"
    r.expect(b"\r\n!!! " + lost + b" (the session goes on)\r\n")
    r.send(b"\r")
    assert r.wait() == 1
    assert r.attrs() == before
    assert r.output.count(b"Error: ") == 1
    assert b"Error: " + lost + b"\r\n" in r.output
    assert (tmp_path / "marker").read_text() == "done\n"


def test_internal_error_restores_terminal(rec_env: Dict[str, str], tmp_path: Path, runs: List[PtyProc]) -> None:
    # an output that raises inside the loop: the engine's own error path
    script = tmp_path / "boom.py"
    script.write_text(
        "import os, sys\n"
        "from asciinema.asciicast import Header\n"
        "from asciinema.session import Session, SessionSpec\n"
        "from asciinema.session_terminal import SessionTerminal\nfrom asciinema.ttyctl import open_tty\n"
        "class Boom:\n"
        "    fatal = True\n"
        "    name = 'boom'\n"
        "    def start(self, header, wake): pass\n"
        "    def send(self, event): raise RuntimeError('boom')\n"
        "    def congested(self): return False\n"
        "    def failure(self): return None\n"
        "    def close(self, timeout): return None\n"
        "term = SessionTerminal.host(open_tty(), 'xterm', read_keys=True)\n"
        "spec = SessionSpec(command='echo out; sleep 30', env=dict(os.environ), header=Header(80, 24))\n"
        "try:\n"
        "    Session(spec, term, [Boom()]).run()\n"
        "except RuntimeError as e:\n"
        "    print('caught', e)\n"
    )
    env = dict(rec_env, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    r = PtyProc([sys.executable, str(script)], env, str(tmp_path))
    runs.append(r)
    before = r.attrs()
    assert r.wait() == 0, r.output
    assert b"caught boom" in r.output
    assert r.attrs() == before


def test_piped_stdin_with_a_terminal(cli: object, cli_argv: List[str], rec_env: Dict[str, str],
                                     tmp_path: Path, runs: List[PtyProc]) -> None:
    # stdin is a pipe, /dev/tty exists: input from the pipe, output to the terminal
    rfd, wfd = os.pipe()
    os.write(wfd, b"echo piped-$((1+1))\nexit\n")
    os.close(wfd)
    r = PtyProc(cli_argv + ["rec", "x.cast"], rec_env, str(tmp_path), stdin=rfd)
    os.close(rfd)
    runs.append(r)
    before = r.attrs()
    assert r.wait() == 0
    assert r.attrs() == before
    assert b"piped-2" in r.output
    assert "piped-2" in output_of(load(tmp_path / "x.cast")[1])


def test_ten_megabyte_paste(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import base64

    r = start("-c", "cat > pasted.txt", "x.cast")
    started(r)
    payload = base64.encodebytes(os.urandom(7 << 20)).replace(b"\n", b"\r")
    r.send(payload)  # the test side drains the echo while writing
    r.send_key(b"\x04")
    assert r.wait(120) == 0
    assert (tmp_path / "pasted.txt").read_bytes() == payload.replace(b"\r", b"\n")


def test_asciinema_24_plays_our_pty_v2(start, tmp_path: Path, ref_asciinema: str,  # type: ignore[no-untyped-def]
                                       rec_env: Dict[str, str]) -> None:
    r = start("-f", "asciicast-v2", "-c", "printf '\\033[1mbold\\033[0m\\n'; seq 3", "x.cast")
    assert r.wait() == 0
    cat = subprocess.run([ref_asciinema, "cat", str(tmp_path / "x.cast")], capture_output=True, env=rec_env,
                         timeout=60)
    assert cat.returncode == 0
    assert cat.stdout == b"\x1b[1mbold\x1b[0m\r\n1\r\n2\r\n3\r\n"


def test_notifications(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    notes = tmp_path / "notes.txt"
    config = f'[notifications]\ncommand = "echo \\"$TEXT\\" >> {notes}"\n[session]\nadd_marker_key = "^b"\n'
    r = start("-c", "cat", "x.cast", config=config)
    started(r)
    # each notification is waited for: at the end the recorder gives the notifier only a
    # moment before it leaves, and a busy machine may need longer to run the commands
    for count, key in enumerate((b"\x1c", b"\x1c", b"\x02"), 1):
        r.send_key(key)
        deadline = time.monotonic() + 60
        while not notes.exists() or len(notes.read_text().splitlines()) < count:
            assert time.monotonic() < deadline, f"notification {count} never came"
            time.sleep(0.02)
    r.send_key(b"\x04")
    assert r.wait() == 0
    assert notes.read_text() == "Paused recording\nResumed recording\nMarker added\n"


# --- terminal probing ---------------------------------------------------------------

FULL_REPLY = (
    b"\x1bP>|foot(1.22.0)\x1b\\"
    + b"\x1b]11;rgb:0000/0000/0000\x1b\\"  # out of order, ST-terminated
    + b"\x1b]10;rgb:ffff/ffff/ffff\x07"
    + b"\x1b]4;0;rgb:00/00/00;1;rgb:aaaa/0000/0000\x07"  # packed
    + b"".join(b"\x1b]4;%d;rgb:%02x/%02x/%02x\x07" % (i, i, i * 2, i * 3) for i in range(2, 16))
    + b"\x1b[?62;22c"
)


def test_probe_records_version_and_theme(cli: object, cli_argv: List[str], rec_env: Dict[str, str],
                                         tmp_path: Path, runs: List[PtyProc]) -> None:
    r = PtyProc(cli_argv + ["rec", "-c", "true", "x.cast"], rec_env, str(tmp_path), probe_reply=FULL_REPLY)
    runs.append(r)
    before = r.attrs()
    assert r.wait() == 0
    assert r.attrs() == before
    header = (tmp_path / "x.cast").read_text().splitlines()[0]
    assert '"version":"foot(1.22.0)"' in header
    theme, _ = load(tmp_path / "x.cast")
    assert theme.term_version == "foot(1.22.0)"
    assert theme.theme is not None
    assert theme.theme.fg == "#ffffff" and theme.theme.bg == "#000000"
    assert theme.theme.palette[:3] == ("#000000", "#aa0000", "#020406")
    assert theme.theme.palette[15] == "#0f1e2d"


def test_probe_unanswered_gives_up(cli: object, cli_argv: List[str], rec_env: Dict[str, str],
                                   tmp_path: Path, runs: List[PtyProc]) -> None:
    r = PtyProc(cli_argv + ["rec", "-c", "echo hi", "x.cast"], rec_env, str(tmp_path), probe_reply=None)
    runs.append(r)
    assert r.wait(120) == 0  # unanswered, the probe would wait for ever
    assert r.probes == 1
    header, events = load(tmp_path / "x.cast")
    assert header.theme is None and header.term_version is None
    assert output_of(events) == "hi\r\n"


@pytest.mark.parametrize("term", ["dumb", "linux"])
def test_no_probe_on_dumb_terminals(cli: object, cli_argv: List[str], rec_env: Dict[str, str],
                                    tmp_path: Path, runs: List[PtyProc], term: str) -> None:
    r = PtyProc(cli_argv + ["rec", "-c", "true", "x.cast"], dict(rec_env, TERM=term), str(tmp_path))
    runs.append(r)
    assert r.wait() == 0
    assert r.probes == 0
    assert load(tmp_path / "x.cast")[0].term_type == term


def test_probe_reply_parser() -> None:
    from asciinema.terminal_probe import ProbeReplies, parse_color

    assert parse_color("rgb:aa1/bb2/cc3") == "#aabbcc"
    assert parse_color("rgb:ffff/8080/0000") == "#ff8000"
    assert parse_color("rgb:a/b/c") is None
    assert parse_color("#ffffff") is None
    # chunked at every byte, with garbage and keys typed ahead
    p = ProbeReplies()
    data = b"typed ahead \x1b[A" + FULL_REPLY.replace(b"\x1b]10;", b"\x1b[B\x1b]10;")
    for i in range(len(data)):
        p.feed(data[i:i + 1])
    assert p.done and p.version == "foot(1.22.0)"
    theme = p.theme()
    assert theme is not None and len(theme.palette) == 16
    # incomplete palette: no theme; version only
    q = ProbeReplies()
    q.feed(b"\x1bP>|xterm(390)\x1b\\\x1b]10;rgb:ff/ff/ff\x07\x1b]11;rgb:0/0/0\x07\x1b[?1;2c")
    assert q.done and q.version == "xterm(390)" and q.theme() is None
    assert not ProbeReplies().done
