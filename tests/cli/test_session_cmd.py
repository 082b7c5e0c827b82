"""`session` and `stream`: presets of the one session command that `rec` is too.

`session -o` must write what `rec` writes (formats, append), print the same lines and exit
the same way; flags that a preset doesn't have are refused; a missing mode is a usage error
with asciinema 3's list of modes. Runs are headless, in a new session (no controlling
terminal). The live stream's own tests are in test_session_stream.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest

from asciinema.asciicast import open_recording

Run = Callable[..., "subprocess.CompletedProcess[bytes]"]

SCRIPT = "printf 'one\\n'; printf '\\033[1mbold\\033[0m \\305'; printf '\\274\\n'; exit 3"


@pytest.fixture
def run(cli: object, cli_argv: List[str], rec_env: Dict[str, str], tmp_path: Path) -> Run:
    """``asciinema ARGS`` in a new session (no controlling terminal) in tmp_path."""

    def go(*args: str, env: Optional[Dict[str, str]] = None, timeout: float = 60) -> "subprocess.CompletedProcess[bytes]":
        return subprocess.run(cli_argv + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                              env=dict(rec_env, **(env or {})), cwd=str(tmp_path), timeout=timeout,
                              start_new_session=True)

    return go


def load(path: Path):  # type: ignore[no-untyped-def]
    with open(path, "rb") as f:
        rec = open_recording(f, str(path))
        return rec.header, list(rec.events)


def timeless(path: Path) -> Tuple[object, str, List[Tuple[str, str]]]:
    """A recording without its times: header (no timestamp), all output, the other events."""
    header, events = load(path)
    return (header._replace(timestamp=None), "".join(e[2] for e in events if e[1] == "o"),
            [(e[1], e[2]) for e in events if e[1] != "o"])


def without_program_output(stdout: bytes, name: str) -> str:
    return stdout.decode().replace(name, "FILE")


@pytest.mark.parametrize("fmt", ["asciicast-v3", "asciicast-v2", "raw", "txt"])
def test_session_writes_what_rec_writes(run: Run, tmp_path: Path, fmt: str) -> None:
    common = ["--headless", "-c", SCRIPT, "-f", fmt, "-t", "T", "-i", "2", "--window-size", "90x30",
              "--return"]
    r = run("rec", *common, "rec.out")
    s = run("session", *common, "-o", "session.out")
    assert (r.returncode, s.returncode) == (3, 3), (r.stderr, s.stderr)
    assert r.stderr == s.stderr == b""
    assert without_program_output(r.stdout, "rec.out") == without_program_output(s.stdout, "session.out")
    if fmt.startswith("asciicast"):
        assert timeless(tmp_path / "rec.out") == timeless(tmp_path / "session.out")
        first = json.loads((tmp_path / "session.out").read_text().splitlines()[0])
        assert first["version"] == int(fmt[-1]) and first["title"] == "T" and first["idle_time_limit"] == 2
    else:
        assert (tmp_path / "rec.out").read_bytes() == (tmp_path / "session.out").read_bytes()
        assert (tmp_path / "session.out").stat().st_size > 0


def test_session_appends_as_rec_does(run: Run, tmp_path: Path) -> None:
    for name, first, then in (("a.cast", "rec", "session"), ("b.cast", "session", "rec")):
        one = [name] if first == "rec" else ["-o", name]
        two = [name] if then == "rec" else ["-o", name]
        assert run(first, "--headless", "-c", "echo first", *one).returncode == 0
        assert run(then, "--headless", "-c", "echo again", *two).stderr.endswith(b"use --overwrite or --append\n")
        r = run(then, "--headless", "-c", "echo again", "-a", *two)
        assert r.returncode == 0, r.stderr
        header, events = load(tmp_path / name)
        assert "".join(e[2] for e in events if e[1] == "o") == "first\r\nagain\r\n"
        assert [e[1] for e in events if e[1] != "o"] == ["x", "r", "x"]
    assert timeless(tmp_path / "a.cast")[1:] == timeless(tmp_path / "b.cast")[1:]


def test_session_refuses_to_clobber_as_rec_does(run: Run, tmp_path: Path) -> None:
    (tmp_path / "x.cast").write_text("something\n")
    r = run("session", "--headless", "-c", "true", "-o", "x.cast")
    assert r.returncode == 1
    assert r.stderr == b"Error: file exists, use --overwrite or --append\n"
    assert run("session", "--headless", "-c", "true", "-o", "x.cast", "--overwrite").returncode == 0


def test_program_environment_per_preset(run: Run, tmp_path: Path) -> None:
    show = 'echo "rec=${ASCIINEMA_REC-unset} session=${ASCIINEMA_SESSION:+set} foo=${FOO-unset} bar=$BAR"'
    assert run("rec", "--headless", "-c", show, "r.cast").returncode == 0
    assert run("session", "--headless", "-c", show, "-o", "s.cast", "FOO=1=2", "BAR=", "IGNORED").returncode == 0
    assert timeless(tmp_path / "r.cast")[1] == "rec=1 session=set foo=unset bar=\r\n"
    assert timeless(tmp_path / "s.cast")[1] == "rec=unset session=set foo=1=2 bar=\r\n"


@pytest.mark.parametrize("argv, message", [
    (["stream", "-c", "true"],
     "the following required arguments were not provided: <--local [IP:PORT]|--remote [STREAM-ID|WS-URL]>"),
    (["session", "-c", "true"],
     "the following required arguments were not provided: "
     "<--output-file FILE|--stream-local [IP:PORT]|--stream-remote [STREAM-ID|WS-URL]>"),
    (["session", "-l", "-a"], "--append needs --output-file FILE"),
    (["session", "-l", "-f", "raw"], "--output-format needs --output-file FILE"),
    (["stream", "-l", "localhost:8080"],
     "argument -l/--local: invalid socket address 'localhost:8080': want IP:PORT, e.g. 127.0.0.1:8080"),
    (["session", "--stream-local", "1.2.3.4"],
     "argument -l/--stream-local: invalid socket address '1.2.3.4': want IP:PORT, e.g. 127.0.0.1:8080"),
    (["session", "-o", "x.cast", "-a", "--overwrite"], "argument --overwrite: not allowed with argument -a/--append"),
])
def test_usage_errors(run: Run, tmp_path: Path, argv: List[str], message: str) -> None:
    r = run(*argv)
    assert r.returncode == 2
    assert r.stderr.decode().splitlines()[-1] == f"asciinema {argv[0]}: error: {message}"
    assert list(tmp_path.glob("*.cast")) == []


@pytest.mark.parametrize("argv", [
    ["stream", "-l", "-i", "2"], ["stream", "-l", "-a"], ["stream", "-l", "--overwrite"], ["stream", "-l", "-f", "raw"],
    ["stream", "-l", "-o", "x.cast"], ["stream", "-l", "--stdin"], ["session", "-o", "x.cast", "--stdin"],
    ["stream", "FOO=1", "-l"], ["rec", "-l", "x.cast"], ["rec", "x.cast", "FOO=1"],
])
def test_flags_a_preset_does_not_have(run: Run, tmp_path: Path, argv: List[str]) -> None:
    r = run(*argv)
    assert r.returncode == 2
    assert "error: unrecognized arguments" in r.stderr.decode().splitlines()[-1]
    assert list(tmp_path.glob("*.cast")) == []


@pytest.mark.parametrize("argv, message", [
    (["stream", "-r", "http://example.org/ws"], "argument -r/--remote: must be a WebSocket URL (ws:// or wss://)"),
    (["session", "-o", "x.cast", "--stream-remote", " https://example.org "],
     "argument -r/--stream-remote: must be a WebSocket URL (ws:// or wss://)"),
    (["stream", "-r", "localhost:8080"], "argument -r/--remote: must be a WebSocket URL (ws:// or wss://)"),
    (["stream", "--remote", "ws:///path"], "argument -r/--remote: empty host"),
    (["stream", "--remote", "wss://[::1/x"], "argument -r/--remote: invalid URL: Invalid IPv6 URL"),
])
def test_remote_target_that_is_not_a_websocket_url(run: Run, tmp_path: Path, argv: List[str], message: str) -> None:
    r = run(*argv, "-c", "echo ran > ran")
    assert r.returncode == 2
    assert r.stderr.decode().splitlines()[-1] == f"asciinema {argv[0]}: error: {message}"
    assert r.stdout == b""
    assert not (tmp_path / "x.cast").exists() and not (tmp_path / "ran").exists()


def test_session_status_lines_and_exit_status(run: Run, tmp_path: Path) -> None:
    r = run("session", "-o", "x.cast", "-c", "exit 5")
    assert r.returncode == 0
    assert r.stdout.decode().splitlines() == [
        "::: TTY not available, recording in headless mode",
        "::: asciinema session started",
        "::: Recording to x.cast",
        "::: asciinema session ended",
        "::: Recorded to x.cast",
    ]
    r = run("session", "-o", "y.cast", "-c", "exit 5", "--return", "-q")
    assert (r.returncode, r.stdout, r.stderr) == (5, b"", b"")
    assert load(tmp_path / "y.cast")[1][-1][1:] == ("x", "5")


def test_help_of_each_preset(run: Run) -> None:
    for name, has, lacks in (
        ("rec", ["FILE", "--append", "--idle-time-limit", "--output-format"], ["--local", "--output-file"]),
        ("stream", ["--local [IP:PORT]", "--remote", "--server-url", "/s/TOKEN/"],
         ["--append", "--idle-time-limit", "--output-format"]),
        ("session", ["--output-file", "--stream-local [IP:PORT]", "--stream-remote", "--append", "--idle-time-limit"],
         ["--local [", "--stdin"]),
    ):
        r = run(name, "--help")
        assert r.returncode == 0
        text = r.stdout.decode()
        assert all(flag in text for flag in has), (name, text)
        assert not any(flag in text for flag in lacks), (name, text)


def test_prefixes_of_the_new_commands(run: Run) -> None:
    for word, name in (("st", "stream"), ("se", "session"), ("str", "stream"), ("sess", "session")):
        r = run(word, "--help")
        assert r.returncode == 0 and r.stdout.startswith(f"usage: asciinema {name} ".encode()), word
    r = run("s", "--help")
    assert r.returncode == 2 and b"ambiguous" in r.stderr


def test_session_takes_the_idle_time_limit_from_the_config(run: Run, tmp_path: Path) -> None:
    (tmp_path / "config" / "config.toml").write_text(
        "[notifications]\nenabled = false\n[session]\nidle_time_limit = 1.5\n")
    assert run("session", "--headless", "-c", "true", "-o", "s.cast").returncode == 0
    assert load(tmp_path / "s.cast")[0].idle_time_limit == 1.5


def test_session_creates_parent_directories(run: Run, tmp_path: Path) -> None:
    r = run("session", "--headless", "-c", "true", "-o", "sub/dir/x.cast")
    assert r.returncode == 0
    assert re.search(rb"::: Recorded to sub/dir/x.cast\n$", r.stdout)
