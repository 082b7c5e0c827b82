"""What the command line says when things go wrong: one `Error:` line, readable, never a
traceback; and its help text."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path
from typing import Iterator

import pytest

from paths import CASTS  # noqa: E402
MINIMAL = str(CASTS / "minimal-v2.cast")


def one_error_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ") and "internal error" not in lines[0], stderr
    return lines[0]


class _Redirects(http.server.BaseHTTPRequestHandler):
    """/loop redirects to itself; /page is an HTML page whose link can't be parsed."""

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            body = b""
        else:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            body = (b'<html><head><link rel="alternate" type="application/x-asciicast" '
                    b'href="http://[::1/x"></head></html>')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirect_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirects)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_redirect_loop_is_one_line(cli, redirect_server: str) -> None:
    url = redirect_server + "/loop"
    for args in (["convert", url, "-"], ["play", url], ["cat", url, MINIMAL]):
        r = cli(*args, timeout=60)
        assert r.returncode == 1
        assert one_error_line(r.stderr) == f"Error: download failed: {url}: redirect loop (HTTP 302 Found)"


def test_unparsable_link_in_a_page(cli, redirect_server: str) -> None:
    r = cli("convert", redirect_server + "/page", "-", timeout=60)
    assert r.returncode == 1
    assert one_error_line(r.stderr) == "Error: invalid URL: http://[::1/x: Invalid IPv6 URL"


def test_names_that_are_not_utf8_are_shown_escaped(cli, tmp_path: Path) -> None:
    name = os.fsdecode(b"bad\xff.cast")
    (tmp_path / name).write_bytes(b'{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "hi\n')
    # a strict stdout (PYTHONIOENCODING) once made the status line an internal error
    env = {"PYTHONIOENCODING": "utf-8"}
    r = cli("convert", name, "-", env=env)
    assert r.returncode == 1
    assert one_error_line(r.stderr) == (
        "Error: bad\\xff.cast:2: invalid JSON: Unterminated string starting at: line 2 column 12"
    )
    r = cli("play", name, env=env)
    assert r.returncode == 1
    assert r.stdout.startswith(b"::: Replaying session from bad\\xff.cast\n")
    assert one_error_line(r.stderr).startswith("Error: bad\\xff.cast:2: ")
    r = cli("play", os.fsdecode(b"nope\xfe\x1b[2J.cast"), env=env)
    assert one_error_line(r.stderr) == "Error: can't open nope\\xfe\\x1b[2J.cast: No such file or directory"


def test_unwritable_log_file_is_one_error_after_the_recording(cli, tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("[notifications]\nenabled = false\n")
    r = cli("rec", "-q", "--headless", "-c", "echo hi", "--log-file", "/dev/full", "x.cast", env={"SHELL": "/bin/sh"})
    assert one_error_line(r.stderr) == "Error: can't write log file /dev/full: No space left on device"
    assert r.returncode == 1
    assert b"hi" in (tmp_path / "x.cast").read_bytes()  # the recording is whole
    assert (tmp_path / "x.cast").read_bytes().splitlines()[-1].startswith(b"[")


def test_every_command_closes_its_files(cli, tmp_path: Path, http_server) -> None:  # type: ignore[no-untyped-def]
    base, routes = http_server
    cast = (CASTS / "full-v2.cast").read_bytes()
    routes["/a.cast"] = (200, "application/x-asciicast", cast)
    routes["/a"] = (200, "text/html", b'<html><head><link rel="alternate" type="application/x-asciicast" '
                    b'href="/a.cast"></head></html>')
    (tmp_path / "bad.cast").write_bytes(b'{"version": 2, "width": 80, "height": 24}\n[1, "o", "a"]\n[1, "o"\n')
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("[notifications]\nenabled = false\n")
    env = {"PYTHONDEVMODE": "1", "PYTHONWARNINGS": "error::ResourceWarning", "SHELL": "/bin/sh"}
    full, v1 = str(CASTS / "full-v3.cast"), str(CASTS / "full-v1.json")
    runs = [
        ["cat", full, MINIMAL, v1], ["cat", MINIMAL, "nope.cast"], ["cat", MINIMAL, "bad.cast"],
        ["cat", "bad.cast", MINIMAL], ["cat", base + "/a", base + "/a.cast"],
        ["convert", full, "-"], ["convert", "--overwrite", v1, "out.cast"], ["convert", "bad.cast", "-"],
        ["convert", "-f", "txt", full, "out.txt"], ["convert", base + "/a", "-"],
        ["play", "-s", "100", full], ["play", "-s", "100", "bad.cast"], ["play", "-s", "100", base + "/a"],
        ["rec", "--headless", "-c", "echo hi", "--log-file", "rec.log", "rec.cast"],
    ]
    for args in runs:
        r = cli(*args, env=env, timeout=60)
        assert b"ResourceWarning" not in r.stderr, (args, r.stderr)
        assert r.returncode in (0, 1), (args, r.stderr)
    r = cli("play", "-s", "100", "-", input=cast, env=env)
    assert (r.returncode, r.stderr) == (0, b"")


def _big_cast(path: Path, n: int) -> str:
    lines = ['{"version": 2, "width": 80, "height": 24}'] + [f'[{i / 1000}, "o", "line {i}\\r\\n"]' for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize("n", [20_000, 150_000])  # converted here, and in a second process (over 2 MB)
def test_closed_stdout_ends_quietly_like_cat(  # type: ignore[no-untyped-def]
    cli_argv, cli_env, tmp_path: Path, n: int
) -> None:
    import signal
    import subprocess

    big = _big_cast(tmp_path / "big.cast", n)
    for args in (["convert", big, "-"], ["convert", "-f", "raw", big, "-"], ["cat", big, big],
                 ["play", "-s", "1000000", big]):
        p = subprocess.Popen(cli_argv + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=cli_env, cwd=str(tmp_path))
        try:
            assert p.stdout is not None and p.stderr is not None
            assert p.stdout.readline()
            p.stdout.close()  # as `| head -1` does
            err = p.stderr.read()
            code = p.wait(60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()  # type: ignore[union-attr]
        assert err == b"", (args, err)
        assert code == -signal.SIGPIPE, (args, code)


def test_one_wording_for_stdout_errors(cli_argv, cli_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    import subprocess

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("[notifications]\nenabled = false\n")
    env = dict(cli_env, SHELL="/bin/sh")
    for args in (["convert", MINIMAL, "-"], ["cat", MINIMAL, MINIMAL], ["play", MINIMAL], ["play", "-q", MINIMAL]):
        with open("/dev/full", "wb") as full:
            r = subprocess.run(cli_argv + args, stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE,
                               env=env, cwd=str(tmp_path), timeout=60)
        assert one_error_line(r.stderr) == "Error: can't write to stdout: No space left on device", args
        assert r.returncode == 1
    # rec: a stdout that can't be written is a lost terminal; the program and the file go on
    for args in (["rec", "--headless", "-c", "echo hi", "x.cast"],
                 ["rec", "-q", "--overwrite", "--headless", "-c", "echo hi", "x.cast"]):
        with open("/dev/full", "wb") as full:
            r = subprocess.run(cli_argv + args, stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE,
                               env=env, cwd=str(tmp_path), timeout=60)
        assert (r.returncode, r.stderr) == (0, b""), args
        assert '"hi\\r\\n"' in (tmp_path / "x.cast").read_text(), args


def test_header_timestamp_may_have_a_fraction(cli, tmp_path: Path) -> None:
    import json

    headers = {
        "v2.cast": '{"version": 2, "width": 80, "height": 24, "timestamp": 1700000000.75}',
        "v3.cast": '{"version": 3, "term": {"cols": 80, "rows": 24}, "timestamp": 1700000000.0}',
    }
    for name, header in headers.items():
        (tmp_path / name).write_text(header + '\n[0.5, "o", "a"]\n')
        r = cli("convert", name, "-")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout.splitlines()[0])["timestamp"] == 1700000000
    (tmp_path / "bad.cast").write_text('{"version": 2, "width": 80, "height": 24, "timestamp": "now"}\n')
    r = cli("convert", "bad.cast", "-")
    assert one_error_line(r.stderr) == "Error: bad.cast:1: header timestamp must be a number"


def test_empty_window_size_says_what_is_wrong(cli) -> None:
    r = cli("rec", "--window-size", "", "x.cast")
    assert r.returncode == 2
    assert r.stderr.decode().splitlines()[-1] == (
        "asciinema record: error: argument --window-size: invalid window size '': "
        "expected COLSxROWS, COLSx or xROWS (as in 80x24)"
    )


def test_top_level_help_lists_commands_as_asciinema_3_does(cli) -> None:
    for args in (["--help"], ["-h"], ["help"]):
        r = cli(*args)
        assert r.returncode == 0
        text = r.stdout.decode()
        assert text.startswith(
            "Terminal session recorder, streamer, and player\n\nUsage: asciinema [OPTIONS] <COMMAND>\n"
        )
        assert (
            "\nCommands:\n"
            "  record   Record a terminal session [aliases: rec]\n"
            "  stream   Stream a terminal session\n"
            "  session  Record and stream a terminal session\n"
            "  play     Play back a terminal session\n"
            "  upload   Upload a recording to an asciinema server\n"
            "  auth     Authenticate this CLI with an asciinema server account\n"
            "  cat      Concatenate multiple recordings\n"
            "  convert  Convert a recording to another format\n"
            "  help     Print this message or the help of the given command\n"
            "\nOptions:\n"
        ) in text
        assert "  -V, --version  print version\n" in text
    r = cli("help", "play")
    assert r.returncode == 0 and b"--pause-on-markers" in r.stdout and b"Commands:" not in r.stdout


def test_top_level_help_follows_the_command_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from asciinema import cli

    extra = ("extra", (), "A command added later", "extra", lambda p: None, "")
    monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + [extra])
    text = cli.build_parser(()).format_help()
    assert "  convert  Convert a recording to another format\n  extra    A command added later\n" in text


def test_one_check_for_non_negative_numbers() -> None:
    from asciinema.config import NotANumber, non_negative_number

    for text, value in [("0", 0.0), ("-0", 0.0), ("2.5", 2.5), (" 3 ", 3.0), ("1e3", 1000.0)]:
        assert non_negative_number(text) == value
    assert non_negative_number(7) == 7.0 and type(non_negative_number(7)) is float
    for bad in ["-1", "nan", "inf", "-inf", "1e999", -0.5, float("nan"), 10**400]:
        with pytest.raises(ValueError) as info:
            non_negative_number(bad)
        assert not isinstance(info.value, NotANumber)
    with pytest.raises(NotANumber):
        non_negative_number("soon")
    assert non_negative_number("0.1", positive=True) == 0.1
    for bad in ["0", "-0", 0]:
        with pytest.raises(ValueError):
            non_negative_number(bad, positive=True)


@pytest.mark.parametrize("args,message", [
    (["play", "-s", "0"], "argument -s/--speed: must be a positive number: '0'"),
    (["play", "-s", "soon"], "argument -s/--speed: must be a positive number: 'soon'"),
    (["play", "-i", "-1"], "argument -i/--idle-time-limit: must be a non-negative number: '-1'"),
    (["rec", "-i", "inf"], "argument -i/--idle-time-limit: must be a non-negative number: 'inf'"),
    (["rec", "-i", "soon"], "argument -i/--idle-time-limit: invalid number: 'soon'"),
])
def test_number_messages_are_kept(cli, args, message) -> None:  # type: ignore[no-untyped-def]
    r = cli(*args, "x.cast")
    assert r.returncode == 2
    assert r.stderr.decode().splitlines()[-1].endswith(message)


@pytest.mark.parametrize("toml,message", [
    ("[playback]\nspeed = -1\n", "playback.speed: expected a non-negative number"),
    ("[playback]\nspeed = 0\n", "playback.speed in the config must be a positive number, got 0.0"),
    ("[playback]\nidle_time_limit = nan\n", "playback.idle_time_limit: expected a non-negative number"),
    ("[playback]\nspeed = 'fast'\n", "playback.speed: expected a number"),
])
def test_config_number_messages_are_kept(cli, tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(toml)
    r = cli("play", MINIMAL)
    assert r.returncode == 1
    assert one_error_line(r.stderr).endswith(message)
