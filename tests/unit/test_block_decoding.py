"""The block decoder of v2/v3 event lines: a whole block decoded at once must accept exactly
the lines that decoding them one by one accepts, and blame the same line."""

from __future__ import annotations

import io
import json
from typing import List, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asciinema.asciicast import open_recording
from asciinema.errors import FormatError

V2_HEADER = b'{"version": 2, "width": 80, "height": 24}\n'
V3_HEADER = b'{"version": 3, "term": {"cols": 80, "rows": 24}}\n'


def decode(data: bytes) -> Tuple[Optional[list], Optional[str]]:
    """(events, None) or (None, the error message)."""
    try:
        return list(open_recording(io.BytesIO(data), "t.cast").events), None
    except FormatError as e:
        return None, str(e)


@pytest.mark.parametrize("header", [V2_HEADER, V3_HEADER])
@pytest.mark.parametrize(
    "lines, bad_line",
    [
        # a string running from one line into the next, made up for by a line of two arrays
        ([b'[1, "a]', b'[b", "c"], [2, "o", "d"]'], 2),
        # a line of four values next to a line of two
        ([b'[1, "o", "a", 2]', b'["o", "b"]'], 2),
        ([b'[1, "o", "a", null, 2, "o", "b"]', b'[3, "o", "c"]'], 2),
        # an array opened on one line and closed on the next
        ([b'[1, "o", ["a"]', b'["b"]]'], 2),
        ([b'[1, "o", "a"]', b'[2, "o", "b"], [3, "o", "c"]'], 3),
        ([b'[1, "o", "a"]', b'[2, "o", null]'], 3),
        ([b'[1, "o", "a"]', b'[true, "o", "b"]'], 3),
        ([b'[1, "o", "a"]', b'[2, "", "b"]'], 3),
    ],
)
def test_lines_are_not_joined_into_events(header: bytes, lines: List[bytes], bad_line: int) -> None:
    events, error = decode(header + b"\n".join(lines) + b"\n")
    assert events is None
    assert error is not None and error.startswith(f"t.cast:{bad_line}: ")


def _line(t: object, code: object, data: object) -> bytes:
    return json.dumps([t, code, data]).encode()


junk = st.sampled_from([b"", b" ", b"[", b"]", b",", b'"', b"null", b"\\", b"\t", b", 1", b'"x"', b"[]", b"{}"])


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(["o", "i", "m"]), st.text(max_size=5), junk, junk, st.booleans()),
        min_size=1,
        max_size=8,
    )
)
def test_block_decoding_agrees_with_line_decoding(specs) -> None:  # type: ignore[no-untyped-def]
    """Lines mangled with stray brackets, quotes and commas: same verdict as line by line."""
    lines, t = [], 0
    for step, code, data, pre, post, mangle in specs:
        t += step
        line = _line(t / 1e6, code, data)
        lines.append(pre + line[1:-1] + post if mangle else line)
    events, error = decode(V2_HEADER + b"\n".join(lines) + b"\n")
    expected: Optional[str] = None
    for k, line in enumerate(lines, 2):
        try:
            row = json.loads(line)
            ok = isinstance(row, list) and len(row) == 3 and type(row[0]) in (int, float)
            ok = ok and isinstance(row[1], str) and row[1] != "" and isinstance(row[2], str)
        except ValueError:
            ok = False
        if not ok:
            expected = f"t.cast:{k}: "
            break
    if expected is None:
        assert error is None
    else:
        assert error is not None and error.startswith(expected), (lines, error)


@settings(max_examples=500)
@given(st.lists(st.one_of(st.floats(0, 1e12, allow_nan=False, exclude_max=True), st.integers(0, 10**12 - 1)),
                min_size=1, max_size=20))
def test_times_round_to_microseconds_as_the_plain_expression(times: list) -> None:
    from asciinema.asciicast import round_us

    expected = [round(t * 1000000) for t in times]
    got = round_us(times)
    assert got == expected and all(type(us) is int for us in got)


class _Pieces:
    """A stream whose reads return what a pipe might: pieces of the sizes given, then EOF."""

    def __init__(self, data: bytes, sizes: List[int]) -> None:
        self.data, self.sizes = data, sizes

    def read1(self, n: int) -> bytes:
        size = min(n, self.sizes.pop(0) if self.sizes else n)
        piece, self.data = self.data[:size], self.data[size:]
        return piece

    read = read1


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=12), st.booleans(),
       st.lists(st.integers(1, 50), max_size=30))
def test_blocks_are_the_stream_cut_after_newlines(lines: List[bytes], ends_with_newline: bool,
                                                  sizes: List[int]) -> None:
    from asciinema.asciicast import _blocks

    data = b"\n".join(lines) + (b"\n" if ends_with_newline and lines else b"")
    blocks = list(_blocks(_Pieces(data, sizes)))  # type: ignore[arg-type]
    assert all(type(b) is bytes and b.endswith(b"\n") and b != b"" for b in blocks)
    assert b"".join(blocks) == (data if not data or data.endswith(b"\n") else data + b"\n")


def test_a_line_longer_than_many_reads_is_one_block() -> None:
    from asciinema.asciicast import _blocks

    line = b'[1, "o", "' + b"x" * (1 << 20) + b'"]\n'
    assert list(_blocks(io.BytesIO(line + line[:20]))) == [line, line[:20] + b"\n"]
    assert list(open_recording(io.BytesIO(V2_HEADER + line * 2), "t.cast").events) == [(1000000, "o", "x" * (1 << 20))] * 2
