"""Start-up stays light: --version, cat and convert import no emulator, network or terminal
modules (so they start fast and work where termios does not exist)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Dict, List, Set

import pytest

from paths import CASTS  # noqa: E402
FORBIDDEN = {"pyte", "wcwidth", "websockets", "socket", "ssl", "http.client", "urllib.request",
             "termios", "tty", "pty", "asyncio"}


def imported(cli_argv: List[str], env: Dict[str, str], tmp_path: Path, *args: str) -> Set[str]:
    argv = [cli_argv[0], "-X", "importtime"] + cli_argv[1:] + list(args)
    r = subprocess.run(argv, capture_output=True, env=env, cwd=str(tmp_path), timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-2000:]
    names = set()
    for line in r.stderr.decode().splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "asciinema.cli" in names
    return names


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["cat", str(CASTS / "full-v2.cast"), str(CASTS / "full-v3.cast")],
        ["convert", str(CASTS / "full-v2.cast"), "-"],
        ["convert", "-f", "raw", str(CASTS / "full-v1.json"), "-"],
        ["convert", str(CASTS / "full-v2.cast"), "page.html"],
        ["convert", "--redact-preset", "aws", "--redact", "file", "--strip-osc", str(CASTS / "full-v2.cast"), "-"],
    ],
)
def test_light_commands_import_nothing_heavy(cli, cli_argv: List[str], cli_env: Dict[str, str],
                                             tmp_path: Path, args: List[str]) -> None:
    names = imported(cli_argv, cli_env, tmp_path, *args)
    assert names & FORBIDDEN == set()


def test_rec_imports_no_stream(cli, cli_argv: List[str], cli_env: Dict[str, str], tmp_path: Path) -> None:
    # rec is a preset of the same command as stream and session; their network side is not its
    names = imported(cli_argv, cli_env, tmp_path, "rec", "--headless", "-q", "-c", "true", "out.cast")
    assert names & {"websockets", "asyncio", "pyte", "wcwidth", "socket", "ssl"} == set()
    assert not any(name.startswith("asciinema.stream") for name in names)


#: stdlib modules whose import costs milliseconds that a start does not need
SLOW_TO_IMPORT = {"dataclasses", "inspect", "logging", "shutil", "subprocess", "queue"}


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["rec", "--headless", "-q", "-c", "true", "out.cast"],
    ],
)
def test_start_up_imports_nothing_slow(cli, cli_argv: List[str], cli_env: Dict[str, str],
                                       tmp_path: Path, args: List[str]) -> None:
    names = imported(cli_argv, cli_env, tmp_path, *args)
    assert names & SLOW_TO_IMPORT == set()
    if args == ["--version"]:
        # what the interpreter imports to run us is not ours to trim (on 3.9, importlib.util
        # imports typing)
        r = subprocess.run([cli_argv[0], "-X", "importtime", "-c", "import runpy, importlib.util, argparse"],
                           capture_output=True, env=cli_env, timeout=60)
        base = {line.rsplit("|", 1)[1].strip() for line in r.stderr.decode().splitlines() if "|" in line}
        assert "typing" in base or "typing" not in names


def test_a_parser_declaring_one_command_parses_it_like_the_full_parser() -> None:
    from asciinema.cli import COMMANDS, build_parser

    samples = {
        "record": ["rec", "-q", "--overwrite", "-c", "ls", "-i", "2", "--window-size", "80x24", "x.cast"],
        "stream": ["stream", "-l", "-c", "ls", "-t", "T", "--headless"],
        "session": ["session", "-o", "x.cast", "--stream-local", "0.0.0.0:8080", "-a", "FOO=bar"],
        "play": ["play", "-s", "2", "-l", "x.cast"],
        "upload": ["upload", "--server-url", "https://example.com", "x.cast"],
        "auth": ["auth", "--server-url", "https://example.com"],
        "cat": ["cat", "a.cast", "b.cast"],
        "convert": ["convert", "-f", "raw", "--overwrite", "a.cast", "b.raw"],
    }
    assert samples.keys() == {c[0] for c in COMMANDS}
    for name, argv in samples.items():
        assert build_parser({argv[0]}).parse_args(argv) == build_parser().parse_args(argv)
    listing = build_parser(()).format_help()
    assert all(c[0] in listing for c in COMMANDS)
