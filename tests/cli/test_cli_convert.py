"""`convert` and `cat` through the command line, against the source tree or the archive.

Golden files in tests/golden/ hold the expected output of every conversion pair; set
UPDATE_GOLDEN=1 to rewrite them after a deliberate change (and review the diff).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from paths import CASTS  # noqa: E402
from paths import GOLDEN  # noqa: E402
INPUTS = sorted(p.name for p in CASTS.iterdir() if p.suffix in (".cast", ".json"))
FORMATS = {"asciicast-v3": "v3.cast", "asciicast-v2": "v2.cast", "raw": "raw", "txt": "txt"}


def check_golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"missing golden file {path} (run with UPDATE_GOLDEN=1 to create it)"
    assert data == path.read_bytes(), f"output differs from {path}"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("source", INPUTS)
def test_convert_golden(cli, tmp_path: Path, source: str, fmt: str) -> None:
    out = tmp_path / "out"
    r = cli("convert", "-f", fmt, str(CASTS / source), str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"" and r.stderr == b""
    check_golden(f"{source}.{FORMATS[fmt]}", out.read_bytes())


def test_convert_to_stdout_and_from_stdin(cli) -> None:
    src = (CASTS / "full-v2.cast").read_bytes()
    r = cli("convert", "-", "-", input=src)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (GOLDEN / "full-v2.cast.v3.cast").read_bytes()


def test_convert_format_from_extension(cli, tmp_path: Path) -> None:
    for name in ("out.txt", "OUT.TXT"):
        assert cli("convert", str(CASTS / "full-v3.cast"), name).returncode == 0
        assert (tmp_path / name).read_bytes() == (GOLDEN / "full-v3.cast.txt").read_bytes()
    assert cli("convert", str(CASTS / "full-v2.cast"), "out.cast").returncode == 0
    assert (tmp_path / "out.cast").read_bytes() == (GOLDEN / "full-v2.cast.v3.cast").read_bytes()


def test_convert_refuses_to_clobber(cli, tmp_path: Path) -> None:
    out = tmp_path / "out.cast"
    out.write_text("precious")
    r = cli("convert", str(CASTS / "minimal-v2.cast"), str(out))
    assert r.returncode == 1
    assert r.stderr == f"Error: {out}: file exists, use --overwrite option to overwrite the file\n".encode()
    assert out.read_text() == "precious"
    r = cli("convert", "--overwrite", str(CASTS / "minimal-v2.cast"), str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == (GOLDEN / "minimal-v2.cast.v3.cast").read_bytes()
    # an empty file counts as absent
    empty = tmp_path / "empty.cast"
    empty.write_bytes(b"")
    assert cli("convert", str(CASTS / "minimal-v2.cast"), str(empty)).returncode == 0


def test_convert_in_place_with_overwrite(cli, tmp_path: Path) -> None:
    path = tmp_path / "x.cast"
    path.write_bytes((CASTS / "full-v2.cast").read_bytes())
    assert cli("convert", "--overwrite", str(path), str(path)).returncode == 0
    assert path.read_bytes() == (GOLDEN / "full-v2.cast.v3.cast").read_bytes()


BROKEN: Dict[str, Tuple[bytes, str]] = {
    "truncated": (b'{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "a"]\n[0.2, "o", "b', "bad.cast:3: invalid JSON"),
    "not-json": (b"hello world\n", "bad.cast:1: invalid JSON"),
    "wrong-version": (b'{"version": 7, "width": 80, "height": 24}\n', "bad.cast:1: unsupported asciicast version: 7"),
    "negative": (b'{"version": 3, "term": {"cols": 80, "rows": 24}}\n[-1, "o", "a"]\n', "bad.cast:2: asciicast v3 event time must not be negative"),
    "bad-utf8": (b'{"version": 2, "width": 80, "height": 24}\n[1, "o", "\xc3\x28"]\n', "bad.cast:2: invalid UTF-8"),
    "empty": (b"", "bad.cast: empty file"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_convert_broken_input_one_error_line_no_output(cli, tmp_path: Path, case: str) -> None:
    data, message = BROKEN[case]
    (tmp_path / "bad.cast").write_bytes(data)
    r = cli("convert", "bad.cast", "out.cast")
    assert r.returncode == 1
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {message}"), r.stderr
    assert not (tmp_path / "out.cast").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".asciinema-")] == []


def test_overwrite_through_a_symlink_replaces_its_target(cli, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "x.cast"
    target.write_text("old")
    target.chmod(0o640)
    (tmp_path / "link.cast").symlink_to("real/x.cast")
    r = cli("convert", "--overwrite", str(CASTS / "minimal-v2.cast"), "link.cast")
    assert r.returncode == 0, r.stderr
    assert os.readlink(tmp_path / "link.cast") == "real/x.cast"  # still a link
    assert target.read_bytes() == (GOLDEN / "minimal-v2.cast.v3.cast").read_bytes()
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["x.cast"]
    # a link to a file not there yet creates it
    (tmp_path / "new.cast").symlink_to("real/new.cast")
    assert cli("convert", str(CASTS / "minimal-v2.cast"), "new.cast").returncode == 0
    assert (tmp_path / "new.cast").is_symlink() and (tmp_path / "real" / "new.cast").is_file()


def _without_root_powers() -> List[str]:
    """A command prefix that takes root's right to write any file away, as a user's rights are."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv to drop the right to write read-only files")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


def test_overwrite_refuses_a_file_the_user_could_not_write(cli, cli_argv: List[str], cli_env: Dict[str, str],
                                                         tmp_path: Path) -> None:
    # rec refuses it (it opens the file for writing); the rename would replace it anyway
    out = tmp_path / "ro.cast"
    out.write_text("precious")
    out.chmod(0o444)
    args = ["convert", "--overwrite", str(CASTS / "minimal-v2.cast"), str(out)]
    r = subprocess.run(_without_root_powers() + cli_argv + args, env=cli_env, cwd=tmp_path, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    assert (r.returncode, r.stderr) == (1, f"Error: can't write {out}: Permission denied\n".encode())
    assert out.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ro.cast"]
    if os.geteuid() == 0:  # with root's rights it is written, as rec would write it
        assert cli(*args).returncode == 0
        assert out.read_bytes() == (GOLDEN / "minimal-v2.cast.v3.cast").read_bytes()


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT", "nohup"])
def test_signals_mid_conversion_leave_no_temporary_file(cli, cli_argv: List[str], cli_env: Dict[str, str],
                                                       tmp_path: Path, signame: str) -> None:
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    signum = signal.SIGHUP if signame == "nohup" else getattr(signal, signame)

    def nohup() -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    proc = subprocess.Popen(cli_argv + ["convert", str(fifo), str(out_dir / "out.cast")], env=cli_env, cwd=tmp_path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=nohup if signame == "nohup" else None)
    try:
        with open(fifo, "wb") as feed:
            feed.write(b'{"version": 2, "width": 80, "height": 24}\n')
            line = b'[1.5, "o", "' + b"x" * 1000 + b'\\r\\n"]\n'
            feed.write(line * 4000)  # 4 MB; the pipe holds far less, so most of it has been read
            feed.flush()
            deadline = time.monotonic() + 120
            while not any(p.stat().st_size > 1 << 20 for p in out_dir.iterdir()):  # surely mid-conversion
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
                time.sleep(0.02)
            proc.send_signal(signum)
            if signame == "nohup":  # an ignored SIGHUP stays ignored: the conversion goes on
                time.sleep(0.2)
                feed.write(line)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    names = [p.name for p in out_dir.iterdir()]
    if signame == "nohup":
        assert proc.returncode == 0 and names == ["out.cast"], err
        return
    assert names == []
    expected = "interrupted" if signame == "SIGINT" else f"terminated by {signame}"
    assert (proc.returncode, err) == (130 if signame == "SIGINT" else 128 + signum, f"Error: {expected}\n".encode())


def test_times_going_backwards_play_and_convert_as_in_asciinema_24(cli, ref_asciinema: str, tmp_path: Path) -> None:
    v2 = b'{"version": 2, "width": 20, "height": 5}\n[0.1, "o", "a"]\n[0.5, "o", "b"]\n[0.3, "o", "c"]\n[0.2, "o", "d\\r\\n"]\n'
    v1 = b'{"version": 1, "width": 20, "height": 5, "stdout": [[0.1, "a"], [-0.5, "b"], [0.2, "c"], [-0.1, "d\\r\\n"]]}'
    for name, data in (("v2.cast", v2), ("v1.json", v1)):
        (tmp_path / name).write_bytes(data)
        ref = subprocess.run([ref_asciinema, "cat", name], cwd=tmp_path, capture_output=True, timeout=60)
        r = cli("convert", "-f", "raw", name, "-")
        assert r.returncode == 0 and r.stdout.endswith(ref.stdout), r.stderr
        warnings = r.stderr.decode().splitlines()
        assert len(warnings) == 1 and warnings[0].startswith(f"!!! {name}"), r.stderr  # one per file, not per event
        r = cli("convert", name, "out.cast", "--overwrite")
        assert r.returncode == 0
        times = [json.loads(line)[0] for line in (tmp_path / "out.cast").read_text().splitlines()[1:]]
        assert min(times) >= 0
        r = cli("play", "-s", "100", name)
        assert r.returncode == 0 and ref.stdout in r.stdout


def test_headers_keep_text_they_cannot_spell_as_replacement_characters(cli, tmp_path: Path) -> None:
    (tmp_path / "in.cast").write_bytes(
        b'{"version": 2, "width": 20, "height": 5, "title": "a\\ud800b", "command": "c\xffd", "env": {"SHELL": "x\\udfffy"}}\n'
        b'[0.1, "o", "hi"]\n'
    )
    for fmt in ("asciicast-v2", "asciicast-v3"):
        r = cli("convert", "-f", fmt, "in.cast", "-")
        assert r.returncode == 0, r.stderr
        header = json.loads(r.stdout.splitlines()[0])
        assert (header["title"], header["command"], header["env"]) == ("a\ufffdb", "c\ufffdd", {"SHELL": "x\ufffdy"})


def test_missing_file_and_directory(cli, tmp_path: Path) -> None:
    r = cli("convert", "nope.cast", "out.cast")
    assert (r.returncode, r.stderr) == (1, b"Error: can't open nope.cast: No such file or directory\n")
    (tmp_path / "dir").mkdir()
    r = cli("convert", "dir", "out.cast")
    assert (r.returncode, r.stderr) == (1, b"Error: can't open dir: Is a directory\n")
    r = cli("convert", str(CASTS / "minimal-v3.cast"), "no/such/dir/out.cast")
    assert r.returncode == 1 and r.stderr.startswith(b"Error: can't write no/such/dir/out.cast")


def test_write_error_is_clean(cli) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    r = cli("convert", str(CASTS / "full-v3.cast"), "/dev/full")
    assert r.returncode == 1
    assert r.stderr == b"Error: can't write /dev/full: No space left on device\n"


@pytest.fixture
def cast_server(http_server: Tuple[str, Dict[str, Tuple[int, str, bytes]]]) -> str:
    base, routes = http_server
    cast = (CASTS / "full-v2.cast").read_bytes()
    routes.update({
        "/a/1.cast": (200, "application/x-asciicast", cast),
        "/a/1": (200, "text/html; charset=utf-8",
                 b'<html><head><title>x</title><LINK rel="alternate stylesheet" href="/no">'
                 b"<link rel='alternate' type='application/x-asciicast' href='/a/1.cast'></head><body></body></html>"),
        "/nolink": (200, "text/html", b"<html><head></head><body>nothing</body></html>"),
        "/notype": (200, "", cast),
    })
    return base


def test_convert_from_url_and_html_page(cli, cast_server: str) -> None:
    expected = (GOLDEN / "full-v2.cast.v3.cast").read_bytes()
    for path in ("/a/1.cast", "/a/1"):
        r = cli("convert", cast_server + path, "-")
        assert r.returncode == 0, r.stderr
        assert r.stdout == expected


def test_url_errors(cli, cast_server: str) -> None:
    r = cli("convert", cast_server + "/missing", "-")
    assert r.returncode == 1 and r.stderr.startswith(b"Error: download failed: ") and b"HTTP 404" in r.stderr
    r = cli("convert", cast_server + "/nolink", "-")
    assert r.returncode == 1 and b'<link rel="alternate" type="application/x-asciicast"' in r.stderr
    r = cli("convert", "http://127.0.0.1:1/x.cast", "-")
    assert r.returncode == 1 and r.stderr.startswith(b"Error: download failed: http://127.0.0.1:1/x.cast")
    assert len(r.stderr.splitlines()) == 1


def test_cat_keeps_versions_and_offsets(cli) -> None:
    r = cli("cat", str(CASTS / "full-v2.cast"), str(CASTS / "minimal-v3.cast"), str(CASTS / "minimal-v1.json"))
    assert r.returncode == 0, r.stderr
    check_golden("cat-v2-v3-v1.cast", r.stdout)
    lines = r.stdout.decode().splitlines()
    assert json.loads(lines[0])["version"] == 2
    events = [json.loads(line) for line in lines[1:]]
    # full-v2 ends at 13.5 s as 80x40; minimal-v3 is 100x50, so a resize comes first
    assert events[7] == [13.5, "r", "100x50"]
    assert events[8] == [14.0, "o", "hello"]
    assert [e[1] for e in events].count("x") == 1 and [e[1] for e in events].count("m") == 1
    assert events[-1] == [16.5, "o", " world\r\n"]  # 13.5 + 1.5 (minimal-v3) + 1.5 (minimal-v1)


def test_cat_v3_first_and_v1_first(cli) -> None:
    r = cli("cat", str(CASTS / "full-v3.cast"), str(CASTS / "full-v2.cast"))
    assert r.returncode == 0, r.stderr
    check_golden("cat-v3-v2.cast", r.stdout)
    assert json.loads(r.stdout.splitlines()[0])["version"] == 3
    r = cli("cat", str(CASTS / "minimal-v1.json"), str(CASTS / "minimal-v2.cast"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["version"] == 3


def test_cat_errors(cli, tmp_path: Path) -> None:
    r = cli("cat", str(CASTS / "minimal-v2.cast"))
    assert r.returncode == 2
    (tmp_path / "bad.cast").write_bytes(BROKEN["truncated"][0])
    r = cli("cat", str(CASTS / "minimal-v2.cast"), "bad.cast")
    assert r.returncode == 1
    assert r.stderr == b"Error: bad.cast:3: invalid JSON: Unterminated string starting at: line 3 column 12\n"


def test_command_prefixes_and_usage(cli) -> None:
    assert cli("ca", str(CASTS / "minimal-v2.cast"), str(CASTS / "minimal-v2.cast")).returncode == 0
    assert cli("conv", str(CASTS / "minimal-v2.cast"), "-").returncode == 0
    r = cli("c", "x")
    assert r.returncode == 2 and b"ambiguous" in r.stderr
    r = cli("nosuch")
    assert r.returncode == 2
    r = cli("convert", "-f", "gif", "a", "b")
    assert r.returncode == 2
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.startswith(b"asciinema ")
    for args in (["--help"], ["help"], ["-h"]):
        r = cli(*args)
        assert r.returncode == 0 and b"Terminal session recorder" in r.stdout and b"convert" in r.stdout
    r = cli("help", "convert")
    assert r.returncode == 0 and b"--overwrite" in r.stdout


def test_quiet_anywhere(cli) -> None:
    for args in (["-q", "convert"], ["convert", "-q"]):
        r = cli(*args, str(CASTS / "minimal-v2.cast"), "-")
        assert r.returncode == 0 and r.stderr == b""


def test_txt_batch_and_single_event_paths_agree() -> None:
    """The batched txt encoder must give what feeding events one by one gives (resizes included)."""
    from asciinema.asciicast import open_recording
    from asciinema.encoders.txt import TxtEncoder

    for name in INPUTS:
        with open(CASTS / name, "rb") as f:
            rec = open_recording(f, name)
            events = list(rec.events)
        one, many = TxtEncoder(), TxtEncoder()
        one.header(rec.header)
        many.header(rec.header)
        single = "".join(one.event(e) for e in events) + one.finish()
        batched = "".join(many.encode(events)) + many.finish()
        assert batched == single, name
