"""Mutated casts: the readers either decode them or raise FormatError naming the file, never
anything else; the CLI answers a sample of them with one `Error:` line and exit 1."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import List

import pytest

from asciinema.asciicast import open_recording
from asciinema.errors import FormatError

from paths import CASTS  # noqa: E402
SEEDS = sorted(p.read_bytes() for p in CASTS.iterdir())
TOKENS = [b"[", b"]", b"{", b"}", b",", b'"', b"\\", b"\n", b"-1", b"1e999", b"NaN", b"null", b"true",
          b'"x"', b'"r"', b'"80x"', b"\xff", b"\xc3", b"\x00", b"#", b"3", b"2", b" ", b"\\u00", b"\\ud800"]


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            buf[pos:pos] = rng.choice(TOKENS)
        elif op == 2:
            del buf[pos : pos + rng.randint(1, 8)]
        elif op == 3:
            del buf[pos:]
        elif op == 4:
            lines = bytes(buf).split(b"\n")
            i = rng.randrange(len(lines))
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
            buf = bytearray(b"\n".join(lines))
        elif op == 5:
            lines = bytes(buf).split(b"\n")
            rng.shuffle(lines)
            buf = bytearray(b"\n".join(lines))
        else:
            buf[pos:pos] = str(rng.choice([-1, 0, 1e-7, 2**70, 65536])).encode()
    return bytes(buf)


def corpus(n: int, seed: int) -> List[bytes]:
    rng = random.Random(seed)
    return [mutate(rng, rng.choice(SEEDS)) for _ in range(n)]


def test_ten_thousand_mutated_casts_never_escape_as_other_exceptions() -> None:
    decoded = failed = 0
    for data in corpus(10_000, seed=20261125):
        try:
            recording = open_recording(io.BytesIO(data), "fuzz.cast")
            for _ in recording.events:
                pass
            decoded += 1
        except FormatError as e:
            assert str(e).startswith("fuzz.cast"), str(e)
            failed += 1
    assert decoded + failed == 10_000
    assert decoded > 100 and failed > 1000  # the mutations exercise both outcomes


@pytest.mark.parametrize("chunk", range(4))
def test_cli_answers_mutated_casts_cleanly(cli, tmp_path: Path, chunk: int) -> None:
    for i, data in enumerate(corpus(15, seed=chunk)):
        src = tmp_path / f"m{i}.cast"
        src.write_bytes(data)
        for fmt in ("asciicast-v3", "asciicast-v2", "raw"):
            r = cli("convert", "-f", fmt, str(src), "-")
            assert r.returncode in (0, 1), r.stderr
            if r.returncode == 1:
                lines = r.stderr.decode().splitlines()
                assert len(lines) == 1 and lines[0].startswith(f"Error: {src}"), r.stderr
            assert b"Traceback" not in r.stderr


def _nested(depth: int, kind: str) -> str:
    return "[" * depth + "]" * depth if kind == "array" else '{"a":' * depth + "1" + "}" * depth


HEADER2 = '{"version": 2, "width": 80, "height": 24}'
HEADER3 = '{"version": 3, "term": {"cols": 80, "rows": 24}}'


def nested_casts() -> List[bytes]:
    """Arrays and objects nested up to far past the recursion limit, in every place of a cast."""
    casts = []
    for depth in (50, 500, 990, 5000, 100_000):
        for kind in ("array", "object"):
            deep = _nested(depth, kind)
            casts += [
                deep.encode() + b"\n",  # the whole file (a v1 document)
                f'{{"version": {deep}}}\n'.encode(),
                f'{{"version": 2, "width": 80, "height": 24, "env": {{"X": {deep}}}}}\n'.encode(),
                f'{{"version": 3, "term": {{"cols": 80, "rows": 24, "theme": {{"fg": {deep}}}}}}}\n'.encode(),
                f'{{"version": 1, "width": 80, "height": 24, "stdout": [[0.5, {deep}]]}}\n'.encode(),
                f'{HEADER2}\n[0.5, "o", "a"]\n{deep}\n'.encode(),
                f'{HEADER2}\n[0.5, "o", {deep}]\n'.encode(),
                f'{HEADER3}\n[0.5, "r", {deep}]\n'.encode(),
                f'{HEADER3}\n[{deep}, "o", "a"]\n'.encode(),
                f'{HEADER3}\n[0.5, "o", "a"]\n[0.5, "x", {deep}]\n'.encode(),
                # a header line that is not UTF-8 is decoded again from text
                # (in a field with a type: Pythons differ in how deep they decode, 3.13 takes 5000)
                b'{"version": 2, "width": 80, "title": "\xff", "height": ' + deep.encode() + b"}\n",
            ]
    return casts


def test_nested_json_is_a_format_error_naming_the_line() -> None:
    for data in nested_casts():
        try:
            recording = open_recording(io.BytesIO(data), "deep.cast")
            for _ in recording.events:
                pass
        except FormatError as e:
            message = str(e)
            assert message.startswith("deep.cast:"), message
            assert len(message) < 300, message  # nested values are shown cut short
        else:
            assert data.count(b"[") + data.count(b"{") < 1000, data[:100]


def test_cli_answers_nested_json_cleanly(cli, tmp_path: Path) -> None:
    for depth in (990, 100_000):
        for i, data in enumerate([
            _nested(depth, "array").encode() + b"\n",
            f'{HEADER3}\n[0.5, "o", "a"]\n[0.5, "o", {_nested(depth, "object")}]\n'.encode(),
            # a known field, so that the file is wrong whether or not this Python decodes the
            # nesting (3.12 decodes 990 levels, 3.11 runs out of recursion)
            f'{{"version": 2, "width": 80, "height": 24, "title": {_nested(depth, "array")}}}\n'.encode(),
        ]):
            src = tmp_path / f"deep{i}.cast"
            src.write_bytes(data)
            for args in (["convert", str(src), "-"], ["cat", str(src), str(CASTS / "minimal-v2.cast")],
                         ["play", str(src)]):
                r = cli(*args)
                lines = r.stderr.decode().splitlines()
                assert r.returncode == 1, r.stderr
                assert len(lines) == 1 and lines[0].startswith(f"Error: {src}:"), (args, r.stderr[:300])


MALFORMED_URLS = ["http://[::1", "http://127.0.0.1:abc/x", "http://exa mple.com/x", "https://[fe80::1%/x",
                  "http://127.0.0.1:99999/x", "http://\x01/x", "https://", "http://a\nb/x"]


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_cli_answers_malformed_urls_cleanly(cli, url: str) -> None:
    for args in (["convert", url, "-"], ["cat", url, str(CASTS / "minimal-v2.cast")], ["play", url]):
        r = cli(*args, timeout=60)
        lines = r.stderr.decode().splitlines()
        assert r.returncode == 1, r.stderr
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "internal error" not in lines[0], r.stderr
        assert url.encode("unicode_escape").decode() in lines[0], lines[0]  # control characters escaped
