"""Terminal.snapshot: the output that redraws a terminal for a viewer joining late.

Checked the honest way: feed a session to a terminal A, feed A's snapshot to a fresh terminal B
of the same size; both must be in the same state (every cell, soft wraps, cursor, pen, modes,
margins, tab stops, saved cursors, the alternate screen and the primary screen under it), and
stay so while more output is fed to both.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import pytest

pytest.importorskip("pyte")

from pyte import modes as mo  # noqa: E402
from pyte.screens import Char, wcwidth  # noqa: E402

from asciinema.asciicast import open_recording, parse_size  # noqa: E402
from asciinema.vt import FAINT, Terminal  # noqa: E402

from paths import CASTS  # noqa: E402
BLANK = Char(" ")


def _cells(buffer: Optional[Dict[int, Any]], cols: int, rows: int, raw: bool = False) -> List[List[Char]]:
    """The cells of a buffer. Those no output makes again count as a space with their
    attributes: the right half of a wide character (with nothing, or combining marks in it)
    that is not after its wide character, but where drawing a wide character over a narrow
    one before it remakes it (only a reflow or pyte's insert/delete make the others)."""
    out = []
    for y in range(rows):
        line = buffer.get(y) if buffer is not None else None
        row: List[Char] = []
        for x in range(cols):
            cell = line.get(x, line.default) if line is not None else BLANK
            data = cell.data
            if not data or wcwidth(data[0]) <= 0:
                left = row[-1] if row else None
                after_wide = (
                    left is not None and left.data and wcwidth(left.data[0]) == 2 and left[1:] == cell[1:]
                    # other zero-width characters only reach it from the start of the next row
                    and (not data or unicodedata.combining(data[0]) or (x == cols - 1 and y < rows - 1))
                )  # fmt: skip
                remade = (
                    left is not None and x + 1 < cols and left.data and wcwidth(left.data[0]) == 1
                    and (not data or unicodedata.combining(data[0]))
                )  # fmt: skip
                if not after_wide and not remade and not raw:
                    cell = cell._replace(data=" ")
            row.append(cell)
        out.append(row)
    return out


def _wraps(buffer: Optional[Dict[int, Any]], rows: int) -> List[bool]:
    # The last row's mark is left out: no terminal can wrap there without scrolling.
    return [bool(buffer is not None and y in buffer and buffer[y].wrapped) for y in range(rows - 1)]


def _cursor(c: Any, cols: int = 0, rows: int = 0) -> Tuple[Any, ...]:
    if rows:
        return (min(c.x, cols - 1), min(c.y, rows - 1), c.hidden, c.attrs)
    return (c.x, c.y, c.hidden, c.attrs)


def state(t: Terminal) -> Dict[str, Any]:
    s = t.screen
    cols, rows = t.cols, t.rows
    saved = t.alt_saved_cursor
    return {
        "size": (cols, rows),
        "alt": t.alt_active,
        "primary": _cells(t.primary_buffer, cols, rows),
        "primary wraps": _wraps(t.primary_buffer, rows),
        "alternate": _cells(t.alt_buffer, cols, rows) if t.alt_active else None,
        "alternate wraps": _wraps(t.alt_buffer, rows) if t.alt_active else None,
        "cursor": _cursor(s.cursor),
        # DECRC, and leaving the alternate screen by 1049, take the cursor back into the screen
        # (a cursor waiting to wrap to the last column too): where a resize left one outside
        # (1047 left the alternate screen, so no reflow moved the one 1049 saved) does not matter
        "alt saved": None if saved is None else (_cursor(saved.cursor, cols, rows), saved.origin, saved.wrap),
        "savepoints": [(_cursor(p.cursor, cols, rows), p.origin, p.wrap) for p in s.savepoints],
        "margins": tuple(s.margins or (0, rows - 1)),
        # DECTCEM follows the cursor's own flag, which DECRC may set apart from it
        "modes": sorted(s.mode - {mo.DECTCEM}),
        # pyte also takes a stop at the cursor waiting to wrap, past the last column: no tab reaches it
        "tabstops": sorted(x for x in s.tabstops if x < cols),
    }


def assert_same(a: Terminal, b: Terminal) -> None:
    sa, sb = state(a), state(b)
    for key in sa:
        assert sa[key] == sb[key], key


def roundtrip(a: Terminal, more: Iterable[str] = ()) -> Terminal:
    """B from A's snapshot; checks that they are alike, also after each of ``more``."""
    snap = a.snapshot()
    b = Terminal(a.cols, a.rows)
    b.feed(snap)
    assert_same(a, b)
    for text in more:
        a.feed(text)
        b.feed(text)
        assert_same(a, b)
    return b


def term(cols: int, rows: int, *chunks: str) -> Terminal:
    t = Terminal(cols, rows)
    for chunk in chunks:
        t.feed(chunk)
    return t


AFTER = ["more text\r\n", "\x1b[Hhome", "\x1b[5;5Hx\x1b[K", "y" * 50, "\x1b[2J", "\x1b[1;1r\x1b[1A\r\n\r\n"]


# -- basics ------------------------------------------------------------------------------------


def test_empty_terminal() -> None:
    t = Terminal(80, 24)
    assert t.snapshot() == "\x1b[1;1H"
    roundtrip(t, AFTER)


def test_text_colours_and_attributes() -> None:
    t = term(
        40, 8,
        "plain \x1b[1mbold\x1b[22m \x1b[3mit\x1b[4mul\x1b[5mbl\x1b[7mrev\x1b[9mst\x1b[0m\r\n",
        "\x1b[2mfaint\x1b[1mbold\x1b[2;38;5;2mfaint green\x1b[22mnormal\x1b[0m\r\n",
        "\x1b[31mred\x1b[42mon green\x1b[91;104mbright\x1b[0m\r\n",
        "\x1b[38;5;208m256\x1b[48;5;17mbg\x1b[38;2;1;2;3mtrue\x1b[48;2;250;251;252mcolour\r\n",
        "\x1b[38;5;1midx1\x1b[38;5;9midx9\x1b[48;5;15midx15\x1b[0m\r\n",
        "\x1b[44m\x1b[K\x1b[0m\r\n",  # a row erased with a background colour
        "\x1b[1;33mpen left set",
    )  # fmt: skip
    roundtrip(t, AFTER)


def test_indexed_colours_below_16_are_the_named_ones() -> None:
    # Terminals draw 38;5;1 as 31 (the theme's red), not as pyte's RGB value for it.
    t = term(10, 2, "\x1b[38;5;1ma\x1b[48;5;12mb\x1b[38;5;196mc")
    row = t.screen.buffer[0]
    assert (row[0].fg, row[1].bg, row[2].fg) == ("red", "brightblue", "ff0000")
    assert "38;5;196" in t.snapshot()


def test_faint_is_kept() -> None:
    # pyte drops SGR 2; the web player draws it, so a late joiner must get it too
    t = term(10, 2, "\x1b[2ma\x1b[1mb\x1b[1;2mc\x1b[2;38;5;2md\x1b[22me")
    assert [t.screen.buffer[0][x].bold for x in range(5)] == [FAINT, True, FAINT, FAINT, False]
    assert "\x1b[0;2ma" in t.snapshot()
    roundtrip(t, ["\x1b[2mnext"])


def test_cursor_position_pen_and_visibility() -> None:
    t = term(20, 5, "abc\r\ndef\x1b[3;7H\x1b[1;35m\x1b[?25l")
    b = roundtrip(t)
    assert (b.cursor.x, b.cursor.y, b.cursor.hidden) == (6, 2, True)
    roundtrip(t, ["drawn with the pen", "\x1b[?25h"])


def test_pending_wrap_at_end_of_row() -> None:
    t = term(10, 3, "0123456789")
    assert t.cursor.x == 10
    roundtrip(t, ["x", "\x1b[1A\x1b[1Cz"])


def test_soft_wrapped_lines_wrap_again() -> None:
    t = term(10, 5, "a" * 25 + "\r\n" + "b" * 10 + "\r\nend")
    b = roundtrip(t)
    assert [bool(b.screen.buffer[y].wrapped) for y in range(4)] == [True, True, False, False]
    # a later resize reflows both alike
    roundtrip(t, [])
    for size in ((7, 5), (15, 4), (10, 5)):
        a2 = term(10, 5, "a" * 25 + "\r\n" + "b" * 10 + "\r\nend")
        b2 = roundtrip(a2)
        a2.resize(*size)
        b2.resize(*size)
        assert_same(a2, b2)


def test_wide_characters() -> None:
    t = term(12, 4, "中文字 ok\r\n😀 emoji 👨\u200d👩\r\n", "e\u0301 combining\r\n", "ab中文字中文字中文字")
    roundtrip(t, AFTER)


def test_combining_mark_in_one_column_after_a_wrap() -> None:
    # the marked character is drawn where the cursor waits at the end of the row above, which
    # wraps into its row (found by the random sessions below)
    t = term(1, 3, "ee\u0301")
    t.resize(1, 2)
    b = roundtrip(t)
    assert [b.screen.buffer[y][0].data for y in range(2)] == ["e", "e\u0301"]  # was drawn over the "e"
    roundtrip(t, ["x", "\u0302"])


def test_alternate_screen_with_primary_beneath() -> None:
    t = term(
        30, 8,
        "$ ls\r\n\x1b[34mdir\x1b[0m file\r\n$ vim\x1b[?25l",
        "\x1b[?1049h\x1b[H\x1b[2J\x1b[1;7r",  # vim: alt screen, scroll region over the text
        "\x1b[1;1H\x1b[33m  1 \x1b[0mline one\r\n\x1b[33m  2 \x1b[0mline two",
        "\x1b[8;1H\x1b[7m-- INSERT --\x1b[0m\x1b[2;9H\x1b[?25h",
    )  # fmt: skip
    b = roundtrip(t, ["typed", "\x1b[7;1H\n\n", "\x1b[?1049l", "$ after\r\n"])
    assert b.alt_active is False


def test_scroll_margins_and_origin_mode() -> None:
    t = term(20, 10, "\x1b[3;8r\x1b[?6h\x1b[2;4Hin region")
    roundtrip(t, ["\r\n" * 8 + "scrolled", "\x1b[Htop of region"])


def test_saved_cursor() -> None:
    t = term(20, 5, "\x1b[2;3H\x1b[1;32m\x1b7\x1b[0m\x1b[5;1Hbottom")
    roundtrip(t, ["\x1b8restored with its pen"])


def test_modes_insert_autowrap_newline() -> None:
    t = term(10, 4, "0123456789\x1b[?7l\x1b[4h\x1b[20h\x1b[1;3H")
    roundtrip(t, ["ins", "x" * 20, "\n", "\x1b[?7h" + "y" * 20])


def test_tab_stops() -> None:
    t = term(30, 3, "\x1b[3g\x1b[5G\x1bH\x1b[13G\x1bH\x1b[1G")
    roundtrip(t, ["\tA\tB\tC"])


def test_resize_in_the_middle() -> None:
    t = term(20, 6, "x" * 50 + "\r\nshort\r\n", "\x1b[33mmore\x1b[0m")
    t.resize(13, 5)
    t.feed("after resize " * 3)
    roundtrip(t, AFTER)


# -- sessions (also shown in the real player by test_vt_snapshot_browser.py) -----------------

# name -> (cols, rows, output chunks); a tuple chunk is a resize
SESSIONS: Dict[str, Tuple[int, int, List[object]]] = {
    "colours": (40, 9, [
        "\x1b[2mfaint\x1b[1mbold\x1b[2;38;5;2mfaint green\x1b[22mnormal\x1b[0m\r\n",
        "plain \x1b[1mbold\x1b[22m \x1b[3mital\x1b[23m \x1b[4munder\x1b[24m \x1b[9mstrike\x1b[0m\r\n",
        "\x1b[7minverse\x1b[27m \x1b[5mblink\x1b[0m \x1b[31mred\x1b[32mgreen\x1b[93mbright\x1b[0m\r\n",
        "\x1b[41m bg red \x1b[104m bright bg \x1b[0m\r\n",
        "\x1b[38;5;208m256 orange\x1b[48;5;22m on green\x1b[38;5;3m idx3\x1b[38;5;11m idx11\x1b[0m\r\n",
        "\x1b[38;2;10;200;30mtrue\x1b[48;2;60;0;90mcolour\x1b[38;5;196m196\x1b[0m\r\n",
        "\x1b[44m\x1b[K\x1b[0m\r\n",
        "\x1b[1;3;4;31;43mall at once\x1b[0m",
    ]),  # fmt: skip
    "wide": (16, 5, ["中文字 ok 日本語\r\n", "😀 emoji 한국어 x\r\n", "ab中文字中文字中文字中文字"]),
    "wrapped": (12, 6, ["a" * 30 + "\r\n", "\x1b[32m" + "b" * 12 + "\x1b[0m\r\n", "$ "]),
    "vim": (40, 10, [
        "$ ls\r\n\x1b[1;34mdir\x1b[0m  file.txt\r\n$ vim file.txt",
        "\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\x1b[H\x1b[2J\x1b[?25l",
        "\x1b[1;9r\x1b[H",
        "".join(f"\x1b[{y};1H\x1b[33m{y:3} \x1b[0mline {y} of the file" for y in range(1, 8)),
        "\x1b[8;1H\x1b[94m~\x1b[0m\x1b[9;1H\x1b[94m~\x1b[0m",
        "\x1b[10;1H\x1b[1m-- INSERT --\x1b[0m\x1b[10;30H3,5  All",
        "\x1b[3;5H\x1b[?25h",
    ]),  # fmt: skip
    "htop": (50, 8, [
        "\x1b[?1049h\x1b[H\x1b[2J",
        "\x1b[1;1H  \x1b[36m1\x1b[39m[\x1b[32m|||||\x1b[31m||\x1b[90m          \x1b[39m 23.4%]",
        "\x1b[2;1H\x1b[30;42m  PID USER      CPU% Command" + " " * 24 + "\x1b[0m",
        "\x1b[3;1H\x1b[30;46m    1 root       0.0 init" + " " * 27 + "\x1b[0m",
        "\x1b[4;1H   42 user      12.5 \x1b[1mpython3\x1b[0m",
        "\x1b[8;1H\x1b[30;46mF1\x1b[0mHelp  \x1b[30;46mF10\x1b[0mQuit",
        "\x1b[3;5r\x1b[5;1H\n\x1b[r\x1b[?25l",
    ]),  # fmt: skip
    "less": (30, 6, [
        "$ less notes\r\n",
        "\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\r",
        "first line\r\nsecond line\r\n\x1b[1mbold heading\x1b[0m\r\nfourth\r\nfifth\r\n\x1b[7mnotes (END)\x1b[27m\x1b[K",
    ]),  # fmt: skip
    "resized": (20, 6, ["x" * 50 + "\r\nshort\r\n", (13, 5), "after resize " * 3]),
}

# Output after the viewer joined: it checks the pen, the modes, the margins and the cursors
# the snapshot set up.
AFTER: Dict[str, List[object]] = {
    "colours": [" drawn with the pen\r\n\x1b[0mplain again"],
    "wide": ["中文", "\r\n$ "],
    "wrapped": ["c" * 20],
    "vim": ["typed", "\x1b[9;1H\n\n\x1b[Hscrolled", "\x1b[?1049l", "\r\n$ after vim"],
    "htop": ["\x1b[5;1H\n\n\n\n", "\x1b[?1049l$ "],
    "less": ["\x1b[6;1H\x1b[K\nmore", "\x1b[?1049l\r$ "],
    "resized": ["\r\nnext line"],
}


@pytest.mark.parametrize("name", list(SESSIONS))
def test_sessions(name: str) -> None:
    cols, rows, chunks = SESSIONS[name]
    t = Terminal(cols, rows)
    for chunk in chunks:
        if isinstance(chunk, tuple):
            t.resize(*chunk)
        else:
            t.feed(chunk)  # type: ignore[arg-type]
    roundtrip(t, AFTER[name])  # type: ignore[arg-type]


# -- the project's recordings ----------------------------------------------------------------


def _outputs(path: Path) -> Iterable[Tuple[str, str]]:
    with path.open("rb") as f:
        rec = open_recording(f, path.name)
        yield "size", f"{rec.header.cols}x{rec.header.rows}"
        for _, code, data in rec.events:
            if code in ("o", "r"):
                yield code, data


@pytest.mark.parametrize("path", sorted(CASTS.iterdir()), ids=lambda p: p.name)
def test_every_cast_at_every_event(path: Path) -> None:
    t: Optional[Terminal] = None
    for code, data in _outputs(path):
        if code == "size":
            t = Terminal(*parse_size(data))
            continue
        assert t is not None
        if code == "r":
            t.resize(*parse_size(data))
        else:
            t.feed(data)
        roundtrip(t)
    assert t is not None
    roundtrip(t, AFTER)


# -- random sessions ---------------------------------------------------------------------------

from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_num = st.integers(min_value=0, max_value=14).map(lambda n: "" if n == 0 else str(n))
_byte = st.integers(min_value=0, max_value=255)
_sgr_code = st.sampled_from([0, 1, 2, 3, 4, 5, 7, 9, 22, 23, 24, 25, 27, 29, 39, 49, *range(30, 38), *range(40, 48),
                             *range(90, 98), *range(100, 108)])  # fmt: skip


@st.composite
def _sgr(draw: st.DrawFn) -> str:
    parts = [str(p) for p in draw(st.lists(_sgr_code, max_size=3))]
    kind = draw(st.sampled_from(["", "38;5;{}", "48;5;{}", "38;2;{};{};{}", "48;2;{};{};{}"]))
    if kind:
        parts.append(kind.format(draw(_byte), draw(_byte), draw(_byte)))
    return "\x1b[" + ";".join(parts) + "m"


@st.composite
def _csi(draw: st.DrawFn) -> str:
    final = draw(st.sampled_from("ABCDEFGHJKLMPSTX@dfrgb"))
    if final in "Hf":
        return f"\x1b[{draw(_num)};{draw(_num)}{final}"
    if final == "r":
        return draw(st.sampled_from(["\x1b[r", f"\x1b[{draw(_num)};{draw(_num)}r"]))
    if final in "JK":
        return f"\x1b[{draw(st.sampled_from(['', '0', '1', '2']))}{final}"
    if final == "g":
        return draw(st.sampled_from(["\x1b[g", "\x1b[3g", "\x1bH"]))
    return f"\x1b[{draw(_num)}{final}"


_text = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=30),
    st.text(st.sampled_from("éü中文字日本한€😀e\u0301\u200d\ufe0f"), min_size=1, max_size=6),
)
_control = st.sampled_from(
    ["\r", "\n", "\r\n", "\x08", "\t", "\x1bM", "\x1bD", "\x1bE", "\x1b7", "\x1b8",
     "\x1b[4h", "\x1b[4l", "\x1b[?7l", "\x1b[?7h", "\x1b[20h", "\x1b[20l", "\x1b[?6h", "\x1b[?6l",
     "\x1b[?25l", "\x1b[?25h", "\x1b[?1h", "\x1b[?2004h", "\x1b[?1000h", "\x1b[?1000l",
     "\x1b[?1049h", "\x1b[?1049l", "\x1b[?1049h", "\x1b[?1047h", "\x1b[?1047l", "\x1b[?47l",
     "\x1b[2J", "\x1b[H\x1b[J", "\x1bc"]
)  # fmt: skip
_resize = st.tuples(st.integers(1, 14), st.integers(1, 7))
_piece = st.one_of(_text, _text, _text, _sgr(), _csi(), _csi(), _control, _control, _resize)


def _feed(t: Terminal, pieces: List[Any]) -> None:
    for piece in pieces:
        if isinstance(piece, tuple):
            t.resize(*piece)
        else:
            t.feed(piece)


def _unreproducible_cells(t: Terminal) -> bool:
    buffers = [t.primary_buffer] + ([t.alt_buffer] if t.alt_active else [])
    return any(_cells(b, t.cols, t.rows) != _cells(b, t.cols, t.rows, raw=True) for b in buffers)


def _last_row_wrapped(t: Terminal) -> bool:
    buffers = [t.primary_buffer] + ([t.alt_buffer] if t.alt_active else [])
    return any(b is not None and t.rows - 1 in b and b[t.rows - 1].wrapped for b in buffers)


def _marked_wide_before_pending_cursor(t: Terminal) -> bool:
    """The cursor waits to wrap after a wide character with combining marks: only a reflow
    makes that (drawing the marks after the character puts them on its right half), so no
    output redraws it, and the snapshot leaves the marks out. On the screen shown, or on the
    primary one under the alternate screen, where the cursor saved by 1049 is put the same way."""
    places = [(t.screen.buffer, t.cursor)]
    if t.alt_active and t.alt_saved_cursor is not None:
        places.append((t.primary_buffer, t.alt_saved_cursor.cursor))
    for buffer, cursor in places:
        line = buffer.get(cursor.y)
        cell = line.get(t.cols - 2) if line is not None and cursor.x == t.cols else None
        if cell is None or not cell.data or wcwidth(cell.data[0]) != 2:
            continue
        stub = line.get(t.cols - 1)  # type: ignore[union-attr]
        if len(cell.data) > 1 or (stub is not None and stub.data[:1] and not unicodedata.combining(stub.data[0])):
            return True
    return False


@settings(max_examples=int(__import__("os").environ.get("SNAP_EXAMPLES", "500")), deadline=None)
@given(
    cols=st.integers(min_value=1, max_value=14),
    rows=st.integers(min_value=1, max_value=7),
    before=st.lists(_piece, max_size=40),
    # Not after the snapshot: the alternate screen shown again as it was left (terminals clear it;
    # the snapshot leaves it out), and ED, which pyte applies to the cells written so far only
    # (terminals to all), so that blank cells the snapshot draws or leaves out show through.
    after=st.lists(_piece.filter(lambda p: isinstance(p, tuple) or not ("47" in p or "J" in p)), max_size=15),
)
def test_random_sessions_round_trip(cols: int, rows: int, before: List[Any], after: List[Any]) -> None:
    a = Terminal(cols, rows)
    _feed(a, before)
    # what the snapshot leaves out (see its docstring) is checked by the tests above
    assume(not _marked_wide_before_pending_cursor(a) and not _unreproducible_cells(a) and not _last_row_wrapped(a))
    b = roundtrip(a)
    for piece in after:
        _feed(a, [piece])
        _feed(b, [piece])
        assert_same(a, b)
