"""Interoperability with asciinema 2.4.0 (from PyPI, test-only): it reads what we write,
we read what it records, and round trips through our formats keep the text."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

from paths import CASTS  # noqa: E402


def ref(ref_asciinema: str, env: Dict[str, str], *args: str) -> "subprocess.CompletedProcess[bytes]":
    env = {k: v for k, v in env.items() if k != "PYTHONPATH"}  # it must import its own package
    return subprocess.run(
        [ref_asciinema, *args], capture_output=True, stdin=subprocess.DEVNULL, env=env, timeout=60
    )


def raw_output(cli, path: Path) -> bytes:  # type: ignore[no-untyped-def]
    """The terminal output of a recording according to us, without the raw size header."""
    r = cli("convert", "-f", "raw", str(path), "-")
    assert r.returncode == 0, r.stderr
    header_end = r.stdout.index(b"t") + 1
    return r.stdout[header_end:]


@pytest.mark.parametrize("source", ["full-v3.cast", "full-v2.cast", "full-v1.json", "minimal-v3.cast"])
def test_reference_cat_reads_our_v2(cli, cli_env: Dict[str, str], ref_asciinema: str, tmp_path: Path,
                                     source: str) -> None:
    out = tmp_path / "ours-v2.cast"
    r = cli("convert", "-f", "asciicast-v2", str(CASTS / source), str(out))
    assert r.returncode == 0, r.stderr
    r = ref(ref_asciinema, cli_env, "cat", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == raw_output(cli, CASTS / source)


@pytest.fixture
def recorded_by_reference(ref_asciinema: str, cli_env: Dict[str, str], tmp_path: Path) -> Path:
    path = tmp_path / "ref.cast"
    command = "printf 'hello \\033[1;31mred\\033[0m\\n'; sleep 0.1; printf 'za\\305\\274\\303\\263\\305\\202\\304\\207 done\\n'"
    r = ref(ref_asciinema, cli_env, "rec", "-q", "--cols", "90", "--rows", "30", "-c", command, str(path))
    assert r.returncode == 0, r.stderr
    return path


def test_we_read_what_reference_records(cli, ref_asciinema: str, cli_env: Dict[str, str],
                                        recorded_by_reference: Path) -> None:
    expected = ref(ref_asciinema, cli_env, "cat", str(recorded_by_reference)).stdout
    assert b"red" in expected and "zażółć".encode() in expected
    assert raw_output(cli, recorded_by_reference) == expected
    r = cli("convert", "-f", "txt", str(recorded_by_reference), "-")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello red\nzażółć done\n".encode()


def test_round_trips_keep_the_text(cli, ref_asciinema: str, cli_env: Dict[str, str], tmp_path: Path,
                                   recorded_by_reference: Path) -> None:
    expected = ref(ref_asciinema, cli_env, "cat", str(recorded_by_reference)).stdout
    chain: List[str] = ["asciicast-v3", "asciicast-v2", "asciicast-v3", "asciicast-v2"]
    current = recorded_by_reference
    for i, fmt in enumerate(chain):
        nxt = tmp_path / f"step{i}.cast"
        r = cli("convert", "-f", fmt, str(current), str(nxt))
        assert r.returncode == 0, r.stderr
        current = nxt
    r = ref(ref_asciinema, cli_env, "cat", str(current))
    assert r.returncode == 0, r.stderr
    assert r.stdout == expected


def test_reference_reads_our_cat_of_its_recordings(cli, ref_asciinema: str, cli_env: Dict[str, str],
                                                   recorded_by_reference: Path) -> None:
    one = ref(ref_asciinema, cli_env, "cat", str(recorded_by_reference)).stdout
    r = cli("cat", str(recorded_by_reference), str(recorded_by_reference))
    assert r.returncode == 0, r.stderr
    joined = Path(str(recorded_by_reference) + ".joined")
    joined.write_bytes(r.stdout)
    r = ref(ref_asciinema, cli_env, "cat", str(joined))
    assert r.returncode == 0, r.stderr
    assert r.stdout == one + one
