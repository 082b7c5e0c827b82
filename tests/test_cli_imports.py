"""Start-up stays light: --version, cat and convert import no emulator, network or terminal
modules (so they start fast and work where termios does not exist)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Dict, List, Set

import pytest

CASTS = Path(__file__).parent / "casts"
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
    ],
)
def test_light_commands_import_nothing_heavy(cli, cli_argv: List[str], cli_env: Dict[str, str],
                                             tmp_path: Path, args: List[str]) -> None:
    names = imported(cli_argv, cli_env, tmp_path, *args)
    assert names & FORBIDDEN == set()
