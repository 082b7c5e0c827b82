"""`rec` without a terminal: headless and piped-stdin runs, formats, file modes, append,
errors, and the same output bytes as asciinema 2.4.0 and script(1).

Every run gets a new session (no controlling terminal), so a developer's terminal is never
touched; pty-driven tests are in test_rec_pty.py, the in-process parts in
tests/unit/test_rec_inprocess.py.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest

from asciinema.asciicast import open_recording
from asciinema.hashing import fnv1a_128_hex

Run = Callable[..., "subprocess.CompletedProcess[bytes]"]


@pytest.fixture
def rec(cli: object, cli_argv: List[str], rec_env: Dict[str, str], tmp_path: Path) -> Run:
    """Run ``asciinema rec ARGS`` in a new session (no controlling terminal) in tmp_path."""

    def run(
        *args: str,
        input: Optional[bytes] = None,
        env: Optional[Dict[str, str]] = None,
        timeout: float = 60,
        stdout: int = subprocess.PIPE,
        preexec: Optional[Callable[[], None]] = None,
    ) -> "subprocess.CompletedProcess[bytes]":
        full_env = dict(rec_env)
        if env:
            full_env.update(env)
        return subprocess.run(
            cli_argv + ["rec", *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=str(tmp_path),
            timeout=timeout,
            start_new_session=True,
            preexec_fn=preexec,
        )

    return run


def load(path: Path):  # type: ignore[no-untyped-def]
    with open(path, "rb") as f:
        rec = open_recording(f, str(path))
        return rec.version, rec.header, list(rec.events)


def output_of(events) -> str:  # type: ignore[no-untyped-def]
    return "".join(e[2] for e in events if e[1] == "o")


def lines(path: Path) -> List[str]:
    return path.read_text().splitlines()


def wait_for_lines(path: Path, count: int, timeout: float = 60) -> None:
    """Wait until ``path`` has ``count`` lines (a background command writes it)."""
    deadline = time.monotonic() + timeout
    while not path.exists() or len(lines(path)) < count:
        assert time.monotonic() < deadline, f"{path} never got {count} lines"
        time.sleep(0.02)


# --- basics ---------------------------------------------------------------------------


def test_headless_v3(rec: Run, tmp_path: Path) -> None:
    r = rec("--headless", "-c", "echo hello world", "demo.cast")
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    out = r.stdout.decode()
    assert out.startswith("::: asciinema session started\n::: Recording to demo.cast\n")
    assert out.endswith("::: asciinema session ended\n::: Recorded to demo.cast\n")
    assert "Press <ctrl+d>" not in out
    assert "TTY not available" not in out
    header = json.loads(lines(tmp_path / "demo.cast")[0])
    assert list(header) == ["version", "term", "timestamp", "command", "env"]
    assert header["version"] == 3
    assert header["term"] == {"cols": 80, "rows": 24}
    assert header["command"] == "echo hello world"
    assert header["env"] == {"SHELL": "/bin/sh"}
    assert abs(header["timestamp"] - time.time()) < 600
    version, h, events = load(tmp_path / "demo.cast")
    assert output_of(events) == "hello world\r\n"
    assert events[-1][1] == "x" and events[-1][2] == "0"
    for line in lines(tmp_path / "demo.cast")[1:]:
        assert re.match(r'\[\d+\.\d{3}, "[oirmx]", ', line), line


def test_no_tty_records_headless(rec: Run, tmp_path: Path) -> None:
    r = rec("-c", "echo hi", "x.cast")
    assert r.returncode == 0
    out = r.stdout.decode()
    assert out.startswith("::: TTY not available, recording in headless mode\n::: asciinema session started\n")
    # without a terminal the program's output is shown on stdout
    assert "hi\r\n" in out
    _, header, events = load(tmp_path / "x.cast")
    assert (header.cols, header.rows) == (80, 24)
    assert output_of(events) == "hi\r\n"


def test_quiet(rec: Run) -> None:
    r = rec("-q", "--headless", "-c", "true", "x.cast")
    assert r.returncode == 0 and r.stdout == b"" and r.stderr == b""
    r = rec("--headless", "-c", "true", "-q", "y.cast")
    assert r.returncode == 0 and r.stdout == b""


def test_prefix_and_alias(rec: Run, cli_argv: List[str], rec_env: Dict[str, str], tmp_path: Path) -> None:
    for word in ("record", "r", "reco"):
        p = subprocess.run(cli_argv + [word, "-q", "--headless", "-c", "true", f"{word}.cast"],
                           stdin=subprocess.DEVNULL, capture_output=True, env=rec_env, cwd=str(tmp_path),
                           timeout=60, start_new_session=True)
        assert p.returncode == 0, p.stderr
        assert (tmp_path / f"{word}.cast").exists()


def test_exit_status_and_return(rec: Run, tmp_path: Path) -> None:
    r = rec("--headless", "-c", "exit 3", "a.cast")
    assert r.returncode == 0
    assert load(tmp_path / "a.cast")[2][-1] == ("x", "3") or load(tmp_path / "a.cast")[2][-1][1:] == ("x", "3")
    r = rec("--headless", "--return", "-c", "exit 3", "b.cast")
    assert r.returncode == 3
    r = rec("--headless", "--return", "-c", "kill -9 $$", "c.cast")
    assert r.returncode == 137
    assert load(tmp_path / "c.cast")[2][-1][1:] == ("x", "137")
    r = rec("--headless", "--return", "-c", "true", "d.cast")
    assert r.returncode == 0


def test_child_environment(rec: Run, tmp_path: Path) -> None:
    r = rec("--headless", "-c", 'echo "rec=$ASCIINEMA_REC session=$ASCIINEMA_SESSION parent=$PPID"', "e.cast")
    assert r.returncode == 0
    text = output_of(load(tmp_path / "e.cast")[2])
    m = re.search(r"rec=(\S*) session=(\S*) parent=(\d+)", text)
    assert m, text
    assert m.group(1) == "1"
    assert m.group(2) == fnv1a_128_hex(m.group(3))


def test_header_options(rec: Run, tmp_path: Path) -> None:
    r = rec("--headless", "-c", "true", "-t", "Démo", "-i", "2.5", "--window-size", "100x40",
            "--capture-env", "SHELL,FOO,NOPE_NOT_SET,TERM", "h.cast", env={"FOO": "bar"})
    assert r.returncode == 0, r.stderr
    header = json.loads((tmp_path / "h.cast").read_text(encoding="utf-8").splitlines()[0])
    assert header["term"] == {"cols": 100, "rows": 40}
    assert header["title"] == "Démo"
    assert header["idle_time_limit"] == 2.5
    assert header["env"] == {"SHELL": "/bin/sh", "FOO": "bar", "TERM": "xterm-256color"}
    assert list(header) == ["version", "term", "timestamp", "idle_time_limit", "command", "title", "env"]


def test_header_text_that_is_not_utf8_becomes_replacement_characters(rec: Run, tmp_path: Path) -> None:
    # arguments and environment values hold the bytes as typed; Python keeps them as surrogates
    r = rec("--headless", "-c", "echo \udcfe", "-t", "t\udcff", "--capture-env", "FOO", "h.cast", env={"FOO": "v\udcfd"})
    assert r.returncode == 0, r.stderr
    header = json.loads((tmp_path / "h.cast").read_bytes().splitlines()[0])
    assert (header["command"], header["title"], header["env"]) == ("echo \ufffd", "t\ufffd", {"FOO": "v\ufffd"})
    assert output_of(load(tmp_path / "h.cast")[2]) == "\ufffd\r\n"  # the command ran with its own bytes


def test_empty_capture_env_captures_nothing(rec: Run, tmp_path: Path) -> None:
    assert rec("--headless", "-c", "true", "--capture-env", "", "h.cast").returncode == 0
    assert "env" not in json.loads(lines(tmp_path / "h.cast")[0])
    (tmp_path / "config" / "config.toml").write_text('[notifications]\nenabled = false\n[session]\ncapture_env = ""\n')
    assert rec("--headless", "-c", "true", "g.cast").returncode == 0
    assert "env" not in json.loads(lines(tmp_path / "g.cast")[0])


def test_window_size_partial(rec: Run, tmp_path: Path) -> None:
    assert rec("--headless", "-c", "stty size", "--window-size", "x30", "a.cast").returncode == 0
    _, header, events = load(tmp_path / "a.cast")
    assert (header.cols, header.rows) == (80, 30)
    assert output_of(events) == "30 80\r\n"
    assert rec("--headless", "-c", "true", "--window-size", "120x", "b.cast").returncode == 0
    assert load(tmp_path / "b.cast")[1].cols == 120


@pytest.mark.parametrize("value,message", [("80", "80"), ("ax24", "invalid digit"), ("x", "empty string"),
                                           ("70000x2", "too large")])
def test_window_size_errors(rec: Run, value: str, message: str) -> None:
    r = rec("--window-size", value, "x.cast")
    assert r.returncode == 2
    assert message in r.stderr.decode()


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "soon"])
def test_idle_time_limit_errors(rec: Run, value: str) -> None:
    r = rec("-i", value, "x.cast")
    assert r.returncode == 2 and b"--idle-time-limit" in r.stderr


def test_append_and_overwrite_conflict(rec: Run) -> None:
    r = rec("--append", "--overwrite", "x.cast")
    assert r.returncode == 2
    assert "not allowed with" in r.stderr.decode()


def test_shell_prompt_line_and_config_command(rec: Run, tmp_path: Path) -> None:
    r = rec("--headless", "x.cast", input=b"exit\n")
    assert r.returncode == 0
    assert "::: Press <ctrl+d> or type 'exit' to end\n" in r.stdout.decode()
    assert "command" not in json.loads(lines(tmp_path / "x.cast")[0])
    (tmp_path / "config" / "config.toml").write_text(
        '[notifications]\nenabled = false\n[session]\ncommand = "echo from-config"\nidle_time_limit = 1.5\n'
        'capture_env = "SHELL,TERM"\n'
    )
    r = rec("--headless", "y.cast")
    assert r.returncode == 0
    assert "Press <ctrl+d>" not in r.stdout.decode()
    _, header, events = load(tmp_path / "y.cast")
    assert header.command == "echo from-config"
    assert header.idle_time_limit == 1.5
    assert header.env == {"SHELL": "/bin/sh", "TERM": "xterm-256color"}
    assert output_of(events) == "from-config\r\n"
    # the command line wins over the config
    r = rec("--headless", "-c", "echo cli", "-i", "3", "z.cast")
    _, header, events = load(tmp_path / "z.cast")
    assert header.command == "echo cli" and header.idle_time_limit == 3.0


def test_broken_config_is_a_clear_error(rec: Run, tmp_path: Path) -> None:
    path = tmp_path / "config" / "config.toml"
    path.write_text("[session]\npause_key = \"ctrl-x\"\n")
    r = rec("--headless", "-c", "true", "x.cast")
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.startswith("Error: ") and str(path) in err and "session.pause_key" in err
    assert not (tmp_path / "x.cast").exists()
    path.write_text("[session\n")
    r = rec("--headless", "-c", "true", "x.cast")
    assert r.returncode == 1 and str(path) in r.stderr.decode()


# --- formats --------------------------------------------------------------------------


def test_v2(rec: Run, tmp_path: Path) -> None:
    r = rec("--headless", "-f", "asciicast-v2", "-c", "echo v2; exit 5", "x.cast")
    assert r.returncode == 0
    first = lines(tmp_path / "x.cast")[0]
    header = json.loads(first)
    assert list(header)[:3] == ["version", "width", "height"] and header["version"] == 2
    version, h, events = load(tmp_path / "x.cast")
    assert version == 2 and output_of(events) == "v2\r\n"
    assert events[-1][1:] == ("x", "5")
    for line in lines(tmp_path / "x.cast")[1:]:
        assert re.match(r'\[\d+\.\d+, "[oirmx]", ', line), line


def test_raw(rec: Run, tmp_path: Path) -> None:
    assert rec("--headless", "-f", "raw", "--window-size", "90x20", "-c", "echo raw", "x.raw").returncode == 0
    assert (tmp_path / "x.raw").read_bytes() == b"\x1b[8;20;90traw\r\n"


def test_txt_from_extension(rec: Run, tmp_path: Path) -> None:
    assert rec("--headless", "-c", "printf 'one\\ntwo \\033[1mbold\\033[0m\\n'", "x.txt").returncode == 0
    assert (tmp_path / "x.txt").read_text() == "one\ntwo bold\n"
    # the extension is compared case-sensitively, as asciinema 3 does for rec
    assert rec("--headless", "-c", "true", "y.TXT").returncode == 0
    assert lines(tmp_path / "y.TXT")[0].startswith('{"version":3')


def test_utf8_split_across_reads(rec: Run, tmp_path: Path) -> None:
    script = "printf '\\305'; sleep 0.2; printf '\\274\\303\\263\\n'; printf '\\377\\n'"
    assert rec("--headless", "-c", script, "x.cast").returncode == 0
    assert output_of(load(tmp_path / "x.cast")[2]) == "żó\r\n\ufffd\r\n"


# --- file modes -----------------------------------------------------------------------


def test_refuses_to_clobber(rec: Run, tmp_path: Path) -> None:
    path = tmp_path / "x.cast"
    path.write_text("precious\n")
    r = rec("--headless", "-c", "echo new", "x.cast")
    assert r.returncode == 1
    assert r.stderr == b"Error: file exists, use --overwrite or --append\n"
    assert b"session started" not in r.stdout
    assert path.read_text() == "precious\n"


def test_empty_file_is_new(rec: Run, tmp_path: Path) -> None:
    (tmp_path / "x.cast").write_text("")
    assert rec("--headless", "-c", "echo new", "x.cast").returncode == 0
    assert output_of(load(tmp_path / "x.cast")[2]) == "new\r\n"
    (tmp_path / "y.cast").write_text("")
    assert rec("--headless", "--append", "-c", "echo new", "y.cast").returncode == 0
    assert lines(tmp_path / "y.cast")[0].startswith('{"version":3')


def test_overwrite(rec: Run, tmp_path: Path) -> None:
    path = tmp_path / "x.cast"
    path.write_text("old stuff that is longer than the new recording " * 100)
    assert rec("--headless", "--overwrite", "-c", "echo new", "x.cast").returncode == 0
    assert output_of(load(path)[2]) == "new\r\n"


def test_creates_parent_directories(rec: Run, tmp_path: Path) -> None:
    assert rec("--headless", "-c", "echo deep", "a/b/c/x.cast").returncode == 0
    assert output_of(load(tmp_path / "a/b/c/x.cast")[2]) == "deep\r\n"


def test_append_v3(rec: Run, tmp_path: Path) -> None:
    path = tmp_path / "x.cast"
    assert rec("--headless", "-c", "echo first", "x.cast").returncode == 0
    before = lines(path)
    assert rec("--headless", "--append", "--window-size", "100x30", "-c", "echo second; exit 4", "x.cast").returncode == 0
    after = lines(path)
    assert after[: len(before)] == before
    added = after[len(before):]
    assert added[0] == '[0.000, "r", "100x30"]'
    assert not any(line.startswith("{") for line in added)
    version, header, events = load(path)
    assert version == 3 and (header.cols, header.rows) == (80, 24)
    assert output_of(events) == "first\r\nsecond\r\n"
    assert [e[2] for e in events if e[1] == "x"] == ["0", "4"]
    times = [e[0] for e in events]
    assert times == sorted(times)


def test_append_v2_continues_the_timeline(rec: Run, tmp_path: Path) -> None:
    path = tmp_path / "x.cast"
    assert rec("--headless", "-f", "asciicast-v2", "-c", "sleep 0.3; echo first", "x.cast").returncode == 0
    last_time = json.loads(lines(path)[-1])[0]
    n = len(lines(path))
    # the format comes from the existing file
    assert rec("--headless", "-a", "-c", "echo second", "x.cast").returncode == 0
    added = lines(path)[n:]
    first = json.loads(added[0])
    assert first == [last_time, "r", "80x24"]
    assert all(json.loads(line)[0] >= last_time for line in added)
    version, _, events = load(path)
    assert version == 2
    assert output_of(events) == "first\r\nsecond\r\n"


def test_append_raw(rec: Run, tmp_path: Path) -> None:
    assert rec("--headless", "-c", "echo one", "x.raw", "-f", "raw").returncode == 0
    assert rec("--headless", "-c", "echo two", "x.raw", "-f", "raw", "--append").returncode == 0
    assert (tmp_path / "x.raw").read_bytes() == b"\x1b[8;24;80tone\r\n\x1b[8;24;80ttwo\r\n"


def test_append_txt(rec: Run, tmp_path: Path) -> None:
    assert rec("--headless", "-c", "echo one", "x.txt").returncode == 0
    assert rec("--headless", "-c", "echo two", "x.txt", "--append").returncode == 0
    assert (tmp_path / "x.txt").read_text() == "one\ntwo\n"


def test_append_to_missing_file_creates_it(rec: Run, tmp_path: Path) -> None:
    assert rec("--headless", "--append", "-c", "echo new", "x.cast").returncode == 0
    assert lines(tmp_path / "x.cast")[0].startswith('{"version":3')


def test_append_after_unterminated_last_line(rec: Run, tmp_path: Path) -> None:
    path = tmp_path / "x.cast"
    path.write_text('{"version":3,"term":{"cols":80,"rows":24}}\n[0.5, "o", "a"]')
    assert rec("--headless", "--append", "-c", "echo b", "x.cast").returncode == 0
    assert output_of(load(path)[2]) == "ab\r\n"


def test_append_refusals(rec: Run, tmp_path: Path) -> None:
    (tmp_path / "v1.cast").write_text('{"version": 1, "width": 80, "height": 24, "stdout": [[0.1, "x"]]}')
    r = rec("--headless", "--append", "-c", "true", "v1.cast")
    assert r.returncode == 1
    assert r.stderr == b"Error: appending to asciicast v1 files is not supported\n"
    (tmp_path / "junk.cast").write_text("this is not a recording\n")
    r = rec("--headless", "--append", "-c", "true", "junk.cast")
    assert r.returncode == 1
    assert r.stderr.startswith(b"Error: can't append: ")
    assert (tmp_path / "junk.cast").read_text() == "this is not a recording\n"


@pytest.mark.parametrize("version", [2, 3])
def test_append_after_a_cut_last_line_drops_it(rec: Run, tmp_path: Path, version: int) -> None:
    # as kill -9 or a full disk leave a file: the last line stops half-way, with no newline
    header = '{"version":2,"width":80,"height":24}' if version == 2 else '{"version":3,"term":{"cols":80,"rows":24}}'
    path = tmp_path / "x.cast"
    path.write_text(header + '\n[0.5, "o", "a"]\n[1.5, "o", "b"]\n[2.5, "o", "c')
    r = rec("--headless", "--append", "-c", "echo d", "x.cast")
    assert r.returncode == 0, r.stderr
    warnings = r.stderr.decode().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("!!! x.cast ends with a line cut off"), r.stderr
    assert "(13 bytes)" in warnings[0]
    _, _, events = load(path)
    assert output_of(events) == "abd\r\n"
    assert events[2][0] >= 1500000  # the new part goes on from the last whole event
    assert lines(path)[3] == ('[1.5, "r", "80x24"]' if version == 2 else '[0.000, "r", "80x24"]')


@pytest.mark.parametrize(
    "existing, fmt, message",
    [
        ('{"version":2,"width":80,"height":24}\n[0.5, "o", "a"]\n', "asciicast-v3", "x.cast is an asciicast v2 file, not asciicast-v3"),
        ('{"version":3,"term":{"cols":80,"rows":24}}\n[0.5, "o", "a"]\n', "asciicast-v2", "x.cast is an asciicast v3 file, not asciicast-v2"),
        ('{"version":3,"term":{"cols":80,"rows":24}}\n[0.5, "o", "a"]\n', "raw", "x.cast is an asciicast v3 file, not raw"),
        ('{"version":2,"width":80,"height":24}\n[0.5, "o", "a"]\n', "txt", "x.cast is an asciicast v2 file, not txt"),
        ("some text\n", "asciicast-v3", "x.cast:1: invalid JSON"),
    ],
)
def test_append_refuses_a_format_other_than_the_files(rec: Run, tmp_path: Path, existing: str, fmt: str,
                                                      message: str) -> None:
    path = tmp_path / "x.cast"
    path.write_text(existing)
    r = rec("--headless", "--append", "-f", fmt, "-c", "echo new", "x.cast")
    assert r.returncode == 1
    errors = r.stderr.decode().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"Error: can't append: {message}"), r.stderr
    assert path.read_text() == existing


# --- piped stdin ----------------------------------------------------------------------


def test_piped_stdin_shell_session(rec: Run, tmp_path: Path) -> None:
    r = rec("x.cast", input=b"echo hi\nexit\n", timeout=30)
    assert r.returncode == 0, r.stderr
    text = output_of(load(tmp_path / "x.cast")[2])
    assert "hi\r\n" in text


def test_piped_stdin_without_exit_ends_with_eof(rec: Run, tmp_path: Path) -> None:
    r = rec("--return", "x.cast", input=b"echo hi; exit 7\n", timeout=30)
    assert r.returncode == 7
    r = rec("--return", "y.cast", input=b"echo hi\n", timeout=30)
    assert r.returncode == 0
    assert "hi\r\n" in output_of(load(tmp_path / "y.cast")[2])


def test_piped_stdin_to_cat(rec: Run, tmp_path: Path) -> None:
    # an unfinished last line still ends: two ^D
    r = rec("--headless", "-c", "cat", "x.cast", input=b"abc", timeout=30)
    assert r.returncode == 0
    assert "abc" in output_of(load(tmp_path / "x.cast")[2])
    r = rec("--headless", "-c", "cat", "y.cast", input=b"line\n", timeout=30)
    assert r.returncode == 0
    assert output_of(load(tmp_path / "y.cast")[2]) == "line\r\nline\r\n"


def test_devnull_stdin_never_hangs(rec: Run, tmp_path: Path) -> None:
    r = rec("-c", "cat", "x.cast", timeout=30)
    assert r.returncode == 0
    r = rec("y.cast", timeout=30)  # an interactive shell gets EOF and exits
    assert r.returncode == 0


def _new_python_repl() -> Optional[str]:
    """A Python with the REPL of 3.13 (its own line editor, no readline), if there is one."""
    import shutil

    if sys.version_info >= (3, 13):
        return sys.executable
    import glob

    candidates = [shutil.which(f"python3.{minor}") for minor in range(13, 20)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[3-9]*/bin/python3")))
    for path in candidates:
        if path and subprocess.run([path, "-c", "import _pyrepl"], capture_output=True).returncode == 0:
            return path
    return None


# Programs that read their terminal in different ways: dash and cat in the pty's line mode,
# bash, zsh and Python's REPL through a line editor in character mode (where a ^D sent before
# they switched modes arrives as a NUL byte; Python 3.13's own editor even keeps it in the
# line). Each must get end-of-file however its start-up and commands race with the input, so
# these also run on a busy machine.
_READERS = {  # name: (program, command or None for the default shell, input, expected output)
    "bash": ("bash", None, b"echo $((6*7))\n", "42\r\n"),
    "zsh": ("zsh", None, b"echo $((6*7))\n", "42\r\n"),
    "dash": ("dash", None, b"echo $((6*7))\n", "42\r\n"),
    "bash-slow-command": ("bash", None, b"sleep 1; echo $((6*7))\n", "42\r\n"),
    # starting after the input has ended, as with a slow start-up file
    "bash-late": ("bash", "sleep 1; exec {}", b"echo $((6*7))\n", "42\r\n"),
    "zsh-late": ("zsh", "sleep 1; exec {}", b"echo $((6*7))\n", "42\r\n"),
    "python": ("python3", "{} -q", b"print(6*7)\n", "42\r\n"),
    "python-late": ("python3", "sleep 1; exec {} -q", b"print(6*7)\n", "42\r\n"),
    "python-repl-3.13": ("", "{} -q", b"import time; time.sleep(1); print(6*7)\n", "42\r\n"),
    "cat": ("cat", "{}", b"hi\n", "hi\r\nhi\r\n"),
}


@pytest.mark.parametrize("piped", [True, False], ids=["piped", "devnull"])
@pytest.mark.parametrize("reader", list(_READERS))
def test_every_reader_gets_end_of_file(rec: Run, tmp_path: Path, reader: str, piped: bool) -> None:
    import shutil

    name, command, text, expected = _READERS[reader]
    program = shutil.which(name) if name else _new_python_repl()
    if program is None:
        pytest.skip(f"{name or 'Python 3.13 or later'} is not installed")
    env = {"SHELL": program if command is None else "/bin/sh", "HOME": str(tmp_path), "PYTHONSTARTUP": ""}
    args = ["--return", "x.cast"] if command is None else ["--return", "-c", command.format(program), "x.cast"]
    r = rec(*args, input=text if piped else None, env=env, timeout=60, stdout=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    events = load(tmp_path / "x.cast")[2]
    assert events[-1][1:] == ("x", "0")
    if piped:
        assert expected in output_of(events)


def test_end_of_file_after_an_unfinished_line(rec: Run, tmp_path: Path) -> None:
    # in line mode the first ^D hands over the unfinished line, the next one is end-of-file
    r = rec("--return", "-c", "cat; echo done", "x.cast", input=b"abc", timeout=60, stdout=subprocess.DEVNULL)
    assert r.returncode == 0
    assert output_of(load(tmp_path / "x.cast")[2]).endswith("abcabcdone\r\n")


def test_end_of_file_for_every_read(rec: Run, tmp_path: Path) -> None:
    # input that has ended stays ended, as a file's would: each reader in turn sees its end
    script = "cat; cat; read x || echo read-eof; python3 -c 'import sys; print(len(sys.stdin.read()))'"
    r = rec("--return", "-c", script, "x.cast", input=b"one\n", timeout=60, stdout=subprocess.DEVNULL)
    assert r.returncode == 0
    text = output_of(load(tmp_path / "x.cast")[2])
    assert text.endswith("one\r\none\r\nread-eof\r\n0\r\n")


def test_capture_input_from_pipe(rec: Run, tmp_path: Path) -> None:
    r = rec("--headless", "-I", "-c", "cat", "x.cast", input=b"typed\n", timeout=30)
    assert r.returncode == 0
    events = load(tmp_path / "x.cast")[2]
    assert [e[2] for e in events if e[1] == "i"] == ["typed\n"]
    r = rec("--headless", "--stdin", "-c", "cat", "y.cast", input=b"typed\n", timeout=30)
    assert [e[2] for e in load(tmp_path / "y.cast")[2] if e[1] == "i"] == ["typed\n"]
    # without -I no input events
    r = rec("--headless", "-c", "cat", "z.cast", input=b"typed\n", timeout=30)
    assert not [e for e in load(tmp_path / "z.cast")[2] if e[1] == "i"]


def test_large_paste_does_not_deadlock(rec: Run, tmp_path: Path) -> None:
    import base64

    payload = base64.encodebytes(os.urandom(7 << 20))  # ~10 MB of 77-byte lines
    r = rec("--headless", "-c", "cat > pasted.txt", "x.cast", input=payload, timeout=120, stdout=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "pasted.txt").read_bytes() == payload
    r = rec("--headless", "-c", "cat", "y.cast", input=payload, timeout=120, stdout=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    echoed = output_of(load(tmp_path / "y.cast")[2])
    # cat writes every line back; the pty's own echo may drop some under this load (a
    # kernel echo-buffer limit), so only cat's copy is counted
    assert echoed.count("\r\n") >= payload.count(b"\n")
    assert echoed.endswith(payload.splitlines()[-1].decode() + "\r\n")


# --- write errors and crashes ---------------------------------------------------------


def _start_rec(cli_argv: List[str], rec_env: Dict[str, str], tmp_path: Path, *args: str,
               preexec: Optional[Callable[[], None]] = None) -> "subprocess.Popen[bytes]":
    """``rec ARGS`` in a new session, with a pipe on stdin that stays open until closed."""
    return subprocess.Popen(cli_argv + ["rec", *args], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=rec_env, cwd=str(tmp_path), start_new_session=True,
                            preexec_fn=preexec)


def _finish_after_warning(proc: "subprocess.Popen[bytes]") -> "tuple[bytes, bytes]":
    """Wait for the ``!!!`` line, then end the input: the program's ``read`` gets end-of-file."""
    try:
        assert proc.stderr is not None and proc.stdin is not None
        warning = proc.stderr.readline()  # the test's timeout covers a hang here
        proc.stdin.close()
        rest = proc.stderr.read()
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return warning, rest


def test_dev_full(cli: object, cli_argv: List[str], rec_env: Dict[str, str], tmp_path: Path) -> None:
    # the header can't be written: nothing is recorded, the program still runs to its end
    proc = _start_rec(cli_argv, rec_env, tmp_path, "--headless", "-c", "echo hello; read x; echo done > marker",
                      "/dev/full")
    warning, rest = _finish_after_warning(proc)
    lost = b"can't write /dev/full: No space left on device; nothing is recorded"
    assert warning == b"!!! " + lost + b" (the session goes on)\n"
    assert rest == b"Error: " + lost + b"\n"
    assert proc.returncode == 1
    assert (tmp_path / "marker").read_text() == "done\n"


@pytest.mark.parametrize("status", [0, 3])
def test_write_error_mid_recording(cli: object, cli_argv: List[str], rec_env: Dict[str, str], tmp_path: Path,
                                   status: int) -> None:
    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    script = ("i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); sleep 0.01; done;"
              f" read x; echo done > marker; exit {status}")
    proc = _start_rec(cli_argv, rec_env, tmp_path, "--headless", "--return", "-c", script, "x.cast",
                      preexec=small_files)
    warning, rest = _finish_after_warning(proc)
    # the program ran to its end
    assert (tmp_path / "marker").read_text() == "done\n"
    assert proc.returncode == (status or 1)  # --return: the program's status, unless it is 0
    m = re.fullmatch(rb"!!! can't write x.cast: File too large; the recording stops at (\d+\.\d{3}) s of the"
                     rb" session \(the session goes on\)\n", warning)
    assert m, warning
    assert rest == b"Error: can't write x.cast: File too large; the recording stops at " + m.group(1) + \
        b" s of the session\n"
    # what was written before the error is whole lines, and all of it comes before that time
    _, _, events = load(tmp_path / "x.cast")
    assert "line 0\r\n" in output_of(events)
    assert events[-1][0] <= int(m.group(1).replace(b".", b"")) * 1000
    # without --return: 1 whatever the program's status
    r = subprocess.run(cli_argv + ["rec", "--headless", "-c", "echo line; exit 3", "/dev/full"],
                       stdin=subprocess.DEVNULL, capture_output=True, env=rec_env, cwd=str(tmp_path), timeout=60,
                       start_new_session=True)
    assert r.returncode == 1 and r.stderr.endswith(b"nothing is recorded\n")


def test_closed_stdout(rec: Run, tmp_path: Path) -> None:
    # a stdout no one reads any more is like a closed terminal window: the status lines and
    # the program's output shown there are lost, the program runs on, the file gets all
    rfd, wfd = os.pipe()
    os.close(rfd)
    try:
        for args in ((), ("-q",)):
            r = rec(*args, "--headless", "-c", "echo a; echo b; exit 3", "--return", f"x{len(args)}.cast",
                    stdout=wfd, timeout=60)
            assert r.returncode == 3, r.stderr
            assert r.stderr == b""
            events = load(tmp_path / f"x{len(args)}.cast")[2]
            assert output_of(events) == "a\r\nb\r\n"
            assert events[-1][1:] == ("x", "3")
    finally:
        os.close(wfd)


def test_head_1(cli: object, cli_argv: List[str], rec_env: Dict[str, str], tmp_path: Path) -> None:
    # rec ... | head -1: the reader goes away after the first line
    script = "for i in $(seq 5); do echo $i; sleep 0.5; done"
    proc = subprocess.Popen(cli_argv + ["rec", "-c", script, "x.cast"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=rec_env, cwd=str(tmp_path),
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"::: TTY not available, recording in headless mode\n"
        proc.stdout.close()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert err == b""
    events = load(tmp_path / "x.cast")[2]
    assert output_of(events) == "1\r\n2\r\n3\r\n4\r\n5\r\n"
    assert events[-1][1:] == ("x", "0")


def test_kill_9_leaves_a_loadable_file(cli: object, cli_argv: List[str], rec_env: Dict[str, str],
                                       tmp_path: Path) -> None:
    script = "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.02; done"
    path = tmp_path / "x.cast"
    proc = subprocess.Popen(cli_argv + ["rec", "--headless", "-c", script, str(path)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=rec_env, cwd=str(tmp_path),
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if path.exists() and path.read_text().count("line") >= 20:
                break
            time.sleep(0.1)
        time.sleep(1.2)  # at most a second of events may be unwritten
        seen = output_of(load(path)[2])
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    version, _, events = load(path)
    text = output_of(events)
    assert text.startswith(seen) and text.count("line") >= 20
    assert text.endswith("\r\n")
    assert path.read_bytes().endswith(b"\n")
    # the orphaned program was hung up when the pty went away
    deadline = time.monotonic() + 30
    alive = True
    while alive and time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
            time.sleep(0.05)
        except ProcessLookupError:
            alive = False
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
    assert not alive


def test_sigterm_ends_the_session(cli: object, cli_argv: List[str], rec_env: Dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "x.cast"
    proc = subprocess.Popen(cli_argv + ["rec", "--headless", "--return", "-c", "echo started; sleep 60", str(path)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=rec_env,
                            cwd=str(tmp_path), start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (path.exists() and "started" in path.read_text()):
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert err == b""
    assert proc.returncode == 128 + signal.SIGHUP  # sh -c dies of the hangup first
    assert b"::: Recorded to" in out
    events = load(path)[2]
    assert events[-1][1:] == ("x", str(128 + signal.SIGHUP))


def test_log_file(rec: Run, tmp_path: Path) -> None:
    log = tmp_path / "rec.log"
    log.write_text("earlier\n")
    assert rec("--headless", "-c", "true", "--log-file", str(log), "x.cast").returncode == 0
    text = log.read_text()
    assert text.startswith("earlier\n") and "child exited with status 0" in text
    r = rec("--headless", "-c", "true", "--log-file", str(tmp_path / "no" / "such" / "dir.log"), "y.cast")
    assert r.returncode == 1
    assert r.stderr.decode().startswith(f"Error: cannot open log file {tmp_path}/no/such/dir.log: ")


# --- the same bytes as asciinema 2.4.0 and script(1) ----------------------------------

SAMPLE = r"""printf 'plain\ttab\n\033[1;31mred\033[0m\n\303\274nic\303\266de \360\237\246\204\n'; seq 1 2000; printf 'no newline'"""


def test_same_output_as_asciinema_24_and_script(rec: Run, ref_asciinema: str, rec_env: Dict[str, str],
                                                tmp_path: Path) -> None:
    assert rec("--headless", "-c", SAMPLE, "ours.cast").returncode == 0
    ours = output_of(load(tmp_path / "ours.cast")[2])
    ref = subprocess.run([ref_asciinema, "rec", "-q", "-c", SAMPLE, str(tmp_path / "ref.cast")],
                         stdin=subprocess.DEVNULL, capture_output=True, env=rec_env, timeout=60,
                         start_new_session=True)
    assert ref.returncode == 0, ref.stderr
    theirs = output_of(load(tmp_path / "ref.cast")[2])
    script = subprocess.run(["script", "-q", "-c", SAMPLE, "/dev/null"], stdin=subprocess.DEVNULL,
                            capture_output=True, env=rec_env, timeout=60, start_new_session=True)
    assert ours == theirs
    assert ours.encode() == script.stdout


def test_v2_plays_in_asciinema_24(rec: Run, ref_asciinema: str, rec_env: Dict[str, str], tmp_path: Path) -> None:
    assert rec("--headless", "-f", "asciicast-v2", "-c", SAMPLE, "ours.cast").returncode == 0
    cat = subprocess.run([ref_asciinema, "cat", str(tmp_path / "ours.cast")], capture_output=True,
                         env=rec_env, timeout=60)
    assert cat.returncode == 0, cat.stderr
    assert cat.stdout.decode() == output_of(load(tmp_path / "ours.cast")[2])
    # appended v2 files too
    assert rec("--headless", "-a", "-c", "echo more", "ours.cast").returncode == 0
    cat = subprocess.run([ref_asciinema, "cat", str(tmp_path / "ours.cast")], capture_output=True,
                         env=rec_env, timeout=60)
    assert cat.returncode == 0 and cat.stdout.decode().endswith("more\r\n")


def test_v3_file_reads_back_exactly(rec: Run, tmp_path: Path) -> None:
    assert rec("--headless", "-I", "-c", SAMPLE + "; exit 2", "ours.cast", input=b"").returncode == 0
    version, header, events = load(tmp_path / "ours.cast")
    assert version == 3
    assert [e[1] for e in events][-1] == "x"
    assert set(e[1] for e in events) <= {"o", "x"}
    times = [e[0] for e in events]
    assert times == sorted(times)
    # our own cat/convert reads it too
    assert sys.version_info >= (3, 9)


# --- notifications --------------------------------------------------------------------


def test_background_process_holding_the_pty(rec: Run, tmp_path: Path) -> None:
    # the program exits, a background process it left keeps the pty open and writing
    script = "(trap '' HUP; i=0; while [ $i -lt 150 ]; do echo bg; sleep 0.02; i=$((i+1)); done) & echo fg; exit 5"
    r = rec("--headless", "--return", "-c", script, "x.cast", timeout=120, stdout=subprocess.DEVNULL)
    assert r.returncode == 5
    events = load(tmp_path / "x.cast")[2]
    assert "fg\r\n" in output_of(events)
    assert events[-1][1:] == ("x", "5")
