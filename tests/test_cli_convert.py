"""`convert` and `cat` through the command line, against the source tree or the archive.

Golden files in tests/golden/ hold the expected output of every conversion pair; set
UPDATE_GOLDEN=1 to rewrite them after a deliberate change (and review the diff).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Tuple

import pytest

CASTS = Path(__file__).parent / "casts"
GOLDEN = Path(__file__).parent / "golden"
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
    "backwards": (b'{"version": 2, "width": 80, "height": 24}\n[2, "o", "a"]\n[1, "o", "b"]\n', "bad.cast:3: event time goes backwards"),
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
