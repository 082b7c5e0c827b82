"""A virtual terminal: pyte with the alternate screen, soft wraps, scrollback and a fast path.

This is the only module that imports pyte. :class:`Terminal` wraps a pyte ``Screen`` (a
subclass of it) and ``Stream`` and adds what asciinema needs on top of pyte 0.8.2:

* **Alternate screen** (DECSET/DECRST 1049, 1047, 47), which pyte ignores (selectel/pyte#19).
  The screen keeps a second buffer and swaps ``screen.buffer`` on the mode change; 1049 also
  saves the cursor (as DECSC does) and clears the alternate buffer on entry, and restores the
  cursor on exit; 1047 clears the alternate buffer when leaving it; 47 only swaps. Modes,
  margins and tab stops are shared by both buffers, as in xterm. Because pyte's own CSI parser
  dispatches the mode change, combined (``ESC[?1049;1h``) and split sequences just work.
* **Zero-width characters** (ZWJ U+200D, VS16 U+FE0F, any code point of width 0 that
  ``unicodedata.combining`` does not know, and unprintable ones of width -1): pyte's ``draw``
  stops at them and drops the rest of the text run (selectel/pyte#138). Here a zero-width
  character is appended to the previous cell (to the wide character itself, not its stub), so
  emoji sequences survive in text output; an unprintable one is skipped. Drawing goes on.
* **Soft wraps**: every buffer line is a :class:`Line` whose ``wrapped`` attribute is the
  screen width at which auto-wrap continued it on the next line (0 when it was not). The flag
  moves with the line when the screen scrolls; ED and EL 0/2 on a line clear it.
* **Reflow**: a resize lays the primary screen's soft-wrapped lines out again at the new
  width (:func:`reflow`), as avt, kitty and wezterm do: narrowing keeps all their text (a
  line gets more rows), widening joins again what was wrapped; line breaks the program
  wrote are never joined. The cursor stays on the same character (and so does the one DECSET
  1049 saved, while the alternate screen is shown). Lines that already left the screen stay
  gone (a text export has them): widening does not bring them back, and what is left of a
  line whose start went off the top is laid out on its own. The alternate screen is cut
  instead, as terminals do: the full-screen programs that use it redraw it.
* **Lines leaving the primary screen** are collected (when ``collect`` is true) for a text
  export, oldest first, and handed out by :meth:`Terminal.take_lines`:

  - a line scrolled off the top by index/linefeed/auto-wrap at the bottom margin when the top
    margin is the first line (as xterm saves them to its scrollback; this covers the usual
    full-screen region and a region that keeps a status line at the bottom, as apt does), and
    by CSI S (scroll up, which pyte lacks and is added here together with CSI T);
  - the screen contents before they are erased: ED 2, ED 3 (pyte treats it like ED 2), ED 0
    with the cursor at the home position (``ESC[H ESC[J``), RIS (``ESC c``). Lines up to the
    last one holding text are saved (asciinema issue #739: text before a ``clear`` must not
    be lost from ``convert -f txt``);
  - lines pushed off the top when a resize leaves fewer rows than the lines need (laid out
    at the new width).

  They are kept as text, so that a single huge output with no line break costs memory in
  proportion to its size, not a dict of cells per line.

  The alternate screen is not collected while it is shown: a real terminal keeps no
  scrollback of it. A text export that ends while it is active should add
  :meth:`Terminal.alt_screen_lines` after :meth:`Terminal.screen_lines` (the encoder in
  ``asciinema.encoders.txt`` does), so a recording that only shows htop is not empty and
  the primary screen hidden under it is not lost either.
* **Fast path**: pyte's Stream.feed + Screen.draw cost about 1 µs per character. The input is
  split by one regular expression into plain printable ASCII runs, complete CSI sequences with
  plain numeric parameters, CR/LF, non-ASCII text and everything else. While pyte's parser
  is in its ground state the first four are handled here (ASCII runs are written straight
  into the buffer with cached cells; SGR results are cached per (pen, parameters)); anything
  else, and anything at all while pyte is in the middle of a sequence (one split across
  ``feed`` calls, say), goes to pyte's own parser, so the result is the same as pyte's.

Deliberate differences from pyte 0.8.2, besides the above: DL (``ESC[M``) blanks the lines it
should even where pyte's sparse buffer has no line below (pyte leaves the old text there);
resize reflows the primary screen and keeps the cursor line on it (lines above go off the top
as far as needed to keep the last line with text, never the cursor's; the alternate screen
only loses lines above the cursor as far as needed to keep it; lines below are dropped),
trims tab stops, keeps the cursors saved by DECSC on the screen, and applies to the hidden
buffer too; an escape sequence pyte raises on
(``ESC[5J``, ``ESC[?1A``) is ignored; ``display`` shows a space for the stub of a wide
character whose first half was overwritten (pyte raises IndexError); ``38;5;n`` / ``48;5;n``
with n < 16 are the named colours (``31``...), as terminals take them, where pyte stores its
own RGB value for them; SGR 2 (faint) is kept as ``bold`` = :data:`FAINT` (faint and bold
are one setting, as in avt). Kept as in pyte, unlike xterm: a wide character that does not
fit in the last column is put there rather than wrapped (a reflow puts it there too); the
attributes pyte lacks (conceal, double underline, overline...) are ignored.

**Snapshots** for viewers who join a live stream late: :meth:`Terminal.snapshot` gives the
terminal output that redraws the whole state on a fresh terminal of the same size (this one,
or the web player's).
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections import defaultdict
from itertools import chain, compress, repeat
from operator import getitem, itemgetter, ne
from typing import Any, Callable, DefaultDict, Dict, List, Optional, Tuple

import pyte
from pyte import modes as mo
from pyte.charsets import LAT1_MAP
from pyte.screens import Char, Cursor, Margins, Savepoint, StaticDefaultDict
from pyte.screens import wcwidth as _wcwidth

__all__ = ["Terminal", "Line"]

_DECAWM = mo.DECAWM
_IRM = mo.IRM
_LNM = mo.LNM
_DECSCNM = mo.DECSCNM

_ALT_MODES = (47, 1047, 1049)
# Modes a snapshot sets on its own, or not at all (DECCOLM would resize the screen).
_SPECIAL_MODES = frozenset((mo.DECOM, _DECAWM, mo.DECTCEM, _DECSCNM, mo.DECCOLM, _IRM))

_combining = unicodedata.combining
_data = itemgetter(0)  # Char.data


class Line(StaticDefaultDict):
    """A screen line: pyte's sparse ``{column: Char}`` dict plus a soft-wrap mark.

    ``wrapped`` is 0, or the screen width at the time auto-wrap (or a reflow) continued this
    line on the next one.
    """

    wrapped = 0


# Token kinds of the splitting regex (``match.lastindex``).
_T_ASCII = 1  # a run of printable ASCII
_T_SGR = 3  # ESC [ digits/semicolons m, and the printable ASCII run after it (maybe empty)
_T_NL = 4  # CR LF, CR or LF
_T_CSI = 7  # ESC [ [?] digits/semicolons final
_T_TEXT = 8  # a run of non-ASCII text (no C1 pyte treats specially)
_T_OTHER = 9  # anything else: handed to pyte's parser

_TOKENS = re.compile(
    r"([\x20-\x7e]+)"
    r"|\x1b\[([0-9;]*)m([\x20-\x7e]*)"
    r"|(\r\n?|\n)"
    r"|\x1b\[(\??)([0-9;]*)([\x40-\x7e])"
    r"|([^\x00-\x7f\x9b\x9d]+)"
    r"|(\x1b[#%()].|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)|\x1b\[[\x20-\x3f]*[\x40-\x7e]?"
    r"|\x1b.?|[\x00-\x1f\x7f\x9b\x9d])",
    re.S,
)

_CACHE_LIMIT = 4096

_BLANK = Char(data=" ", fg="default", bg="default", reverse=False)
_REVERSED_BLANK = Char(data=" ", fg="default", bg="default", reverse=True)


def line_text(line: Optional[Dict[int, Char]], width: int, pad: bool = False) -> str:
    """The text of the first ``width`` cells of a line, as pyte's ``display`` shows it.

    Unwritten cells at the end are left out unless ``pad``.
    """
    if not line:
        return " " * width if pad else ""
    n = len(line)
    if n <= width and list(line) == _range_list(n):
        # Written left to right from column 0, without gaps: the usual case.
        text = "".join(map(_data, line.values()))
        if len(text) == n:  # one code point per cell: no wide or combined characters
            return text + " " * (width - n) if pad else text
    return render_row(line, width)


def render_row(line: Dict[int, Char], width: int) -> str:
    """pyte's ``display`` of one row: the stub cell after a wide character is skipped.

    pyte raises IndexError on a stub left alone when its wide character was overwritten
    (``中`` then CR and ``x``); here it shows as a space.
    """
    out = []
    wide = False
    space = " "
    for x in range(width):
        if wide:
            wide = False
            continue
        cell = line.get(x)
        if cell is None:
            out.append(space)
            continue
        char = cell[0]
        if not char:
            out.append(space)
            continue
        out.append(char)
        wide = _wcwidth(char[0]) == 2
    return "".join(out)


_RANGES: List[List[int]] = []


def _range_list(n: int) -> List[int]:
    while len(_RANGES) <= n:
        _RANGES.append(list(range(len(_RANGES))))
    return _RANGES[n]


def reflow(
    rows: List[Optional[Line]],
    old_width: int,
    width: int,
    points: List[Tuple[int, int]],
    new_line: Callable[[], Line],
) -> Tuple[List[Optional[Line]], List[Tuple[int, int]]]:
    """Re-wrap screen rows laid out ``old_width`` wide at ``width``.

    A row and the rows its soft-wrap marks continue it on are one logical line; each is
    laid out again from its first cell, wrapped at ``width``, with the blank cells at its end
    left out (unwritten cells and spaces, erased ones too). Rows never join across a
    line break the program wrote. A wide character that would straddle the edge goes in the
    last column, as ``draw`` puts it (its right half is implied there, and comes back when
    the line is widened). Each point ``(x, y)`` (a cursor) moves with the cell under it; one
    past the end of the text keeps its distance from it, and waits in the pending-wrap
    column ``width`` when that falls on the end of a full row. Returns the new rows (None for
    an empty one) and the moved points.
    """
    out: List[Optional[Line]] = []
    moved = list(points)
    count = len(rows)
    y = 0
    while y < count:
        # The cells of one logical line, and the points on it as offsets into them.
        cells: List[Optional[Char]] = []
        marks: Dict[int, List[int]] = {}
        wrapped = 0
        while y < count:
            line = rows[y]
            start = len(cells)
            wrapped = line.wrapped if line is not None else 0
            end = min(wrapped, old_width) if wrapped else old_width
            stub = 0
            if wrapped:
                n = end
            elif line:
                n = min(max(line) + 1, end)
            else:
                n = 0
            if n:
                assert line is not None
                cells.extend(map(line.get, range(n)))
                last = cells[-1]
                if n == end and last is not None and _is_wide(last):
                    cells.append(last._replace(data=""))
                    stub = 1
            for i, (px, py) in enumerate(points):
                if py == y:
                    offset = start + px + (stub if px >= end else 0)
                    marks.setdefault(offset, []).append(i)
            y += 1
            if not wrapped:
                break
        while cells and _trailing_blank(cells[-1]):
            cells.pop()
        if marks:
            past = max(marks) - len(cells)
            if past > 0:
                cells.extend([None] * past)
        # Lay it out again.
        n = len(cells)
        row = new_line()
        col = 0
        k = 0
        while k < n:
            if col == width:
                row.wrapped = width
                out.append(row)
                row = new_line()
                col = 0
            if k in marks:
                for i in marks[k]:
                    moved[i] = (col, len(out))
            cell = cells[k]
            k += 1
            if cell is not None:
                row[col] = cell
                if col == width - 1 and k < n and _is_wide(cell):
                    right = cells[k]
                    if right is not None and right.data == "":
                        if k in marks:
                            for i in marks[k]:
                                moved[i] = (width, len(out))
                        k += 1
            col += 1
        if n in marks:
            for i in marks[n]:
                moved[i] = (col, len(out))
        if wrapped:  # the screen's last row, whose continuation is gone
            row.wrapped = width
        out.append(row if row or row.wrapped else None)
    return out, moved


def _is_wide(cell: Char) -> bool:
    data = cell[0]
    return bool(data) and _wcwidth(data[0]) == 2


def _trailing_blank(cell: Optional[Char]) -> bool:
    # Erased cells too, whatever their background, as terminals do: an EL with a colour
    # would otherwise take another row for nothing but spaces.
    return cell is None or cell[0] == " "


class _Screen(pyte.Screen):
    """pyte's Screen with the additions described in the module docstring."""

    # pyte declares a dict of StaticDefaultDict; every line here is a Line (made by _new_line).
    buffer: DefaultDict[int, Line]  # type: ignore[assignment]  # narrower than pyte's declared type

    def __init__(self, columns: int, lines: int, collect: bool) -> None:
        self._ready = False
        super().__init__(columns, lines)
        self.buffer.default_factory = self._new_line
        self.collect = collect
        #: True while the alternate screen is shown.
        self.alt = False
        #: The buffer not shown: the primary one while ``alt``, else the alternate one (or None).
        self.other_buffer: Optional[DefaultDict[int, Line]] = None
        #: The cursor saved by DECSET 1049.
        self.alt_saved: Optional[Savepoint] = None
        #: Lines that left the primary screen, as :meth:`Terminal.take_lines` gives them: kept
        #: as text, not as lines of cells (a dict of Chars per line would take about 40 bytes
        #: a cell until someone takes them).
        self.gone: List[Tuple[str, bool]] = []
        #: pen -> {printable ASCII character: its Char with that pen}, filled on demand
        self._cells: Dict[Char, Dict[str, Char]] = {}
        self._sgr: Dict[Tuple[Char, str, bool], Char] = {}
        self._ready = True

    @property
    def default_char(self) -> Char:
        # pyte builds a new Char each time; equal values, cached.
        return _REVERSED_BLANK if _DECSCNM in self.mode else _BLANK

    @property
    def display(self) -> List[str]:
        """pyte's ``display``, without its IndexError on a lone wide-character stub."""
        buffer = self.buffer
        width = self.columns
        empty = " " * width
        return [render_row(line, width) if line else empty for line in map(buffer.get, range(self.lines))]

    # -- buffers -----------------------------------------------------------------------------

    def _new_line(self) -> Line:
        return Line(self.default_char)

    def _new_buffer(self) -> DefaultDict[int, Line]:
        return defaultdict(self._new_line)

    def _collect(self, line: Optional[Line]) -> None:
        self.gone.append(_line_entry(line, self.columns))

    def _save_screen(self) -> None:
        """Collect the lines of the (primary) screen up to the last one with text."""
        width = self.columns
        lines = list(map(self.buffer.get, range(self.lines)))
        last = -1
        for y, line in enumerate(lines):
            if line and line_text(line, width).strip():
                last = y
        if last < 0:
            return
        gone = self.gone
        gone.extend(_line_entry(line, width) for line in lines[:last])
        gone.append(_line_entry(lines[last], width, end=True))  # nothing continues it after the erase

    # -- the alternate screen ----------------------------------------------------------------

    def _enter_alt(self, clear: bool) -> None:
        if not self.alt:
            other = self.other_buffer
            self.other_buffer = self.buffer
            self.buffer = other if other is not None else self._new_buffer()
            self.alt = True
        if clear:
            self.buffer.clear()
        self.dirty.update(range(self.lines))

    def _leave_alt(self, clear: bool) -> None:
        if self.alt:
            if clear:
                self.buffer.clear()
            assert self.other_buffer is not None
            self.buffer, self.other_buffer = self.other_buffer, self.buffer
            self.alt = False
            self.dirty.update(range(self.lines))

    def _alt_mode(self, mode: int, on: bool) -> None:
        if on:
            if mode == 1049:
                self.alt_saved = Savepoint(
                    copy.copy(self.cursor),
                    self.g0_charset,
                    self.g1_charset,
                    self.charset,
                    mo.DECOM in self.mode,
                    _DECAWM in self.mode,
                )
            self._enter_alt(clear=mode == 1049)
        else:
            self._leave_alt(clear=mode == 1047)
            if mode == 1049 and self.alt_saved is not None:
                saved, self.alt_saved = self.alt_saved, None
                self.g0_charset, self.g1_charset = saved.g0_charset, saved.g1_charset
                self.charset = saved.charset
                if saved.origin:
                    self.mode.add(mo.DECOM)
                else:
                    self.mode.discard(mo.DECOM)
                if saved.wrap:
                    self.mode.add(_DECAWM)
                else:
                    self.mode.discard(_DECAWM)
                self.cursor = saved.cursor
                self.ensure_hbounds()
                self.ensure_vbounds()

    def _modes(self, on: bool, modes: Tuple[int, ...], kwargs: Dict[str, Any]) -> None:
        base = super().set_mode if on else super().reset_mode
        if not kwargs.get("private") or not any(m in _ALT_MODES for m in modes):
            base(*modes, **kwargs)
            return
        for m in modes:
            if m in _ALT_MODES:
                self._alt_mode(m, on)
            else:
                base(m, **kwargs)

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        self._modes(True, modes, kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        self._modes(False, modes, kwargs)

    def cursor_to_line(self, line: Optional[int] = None) -> None:
        """VPA; pyte 0.8.2 raises on it in origin mode with no margins set, after moving the
        cursor to the line asked for, however far below the screen that is."""
        cursor = self.cursor
        cursor.y = (line or 1) - 1
        if mo.DECOM in self.mode and self.margins is not None:
            cursor.y += self.margins.top
        self.ensure_vbounds()

    # -- scrolling and erasing ---------------------------------------------------------------

    def index(self) -> None:
        margins = self.margins
        if margins is None:
            top, bottom = 0, self.lines - 1
        else:
            top, bottom = margins
        if self.cursor.y != bottom:
            self.cursor_down()
            return
        buffer = self.buffer
        if top == 0 and self.collect and not self.alt:
            self.gone.append(_line_entry(buffer.get(0), self.columns))
        # pyte's loop (which also creates missing lines), in fewer bytecodes.
        self.dirty.update(range(self.lines))
        buffer.update(zip(range(top, bottom), list(map(buffer.__getitem__, range(top + 1, bottom + 1)))))
        buffer.pop(bottom, None)

    def delete_lines(self, count: Optional[int] = None) -> None:
        # pyte 0.8.2 leaves line y alone when line y + count is absent from its sparse buffer.
        count = count or 1
        top, bottom = self.margins or Margins(0, self.lines - 1)
        y0 = self.cursor.y
        if top <= y0 <= bottom:
            self.dirty.update(range(y0, self.lines))
            self._pull_up(y0, bottom, count)
            self.carriage_return()

    def scroll_up(self, count: Optional[int] = None, *args: int, **kwargs: Any) -> None:
        """SU (CSI S): scroll the region up; the cursor does not move."""
        if kwargs.get("private") or args:
            return  # CSI ? ... S is XTSMGRAPHICS
        top, bottom = self.margins or Margins(0, self.lines - 1)
        count = min(count or 1, bottom - top + 1)
        buffer = self.buffer
        if self.collect and not self.alt and top == 0:
            for y in range(count):
                self._collect(buffer.get(y))
        self._pull_up(top, bottom, count)
        self.dirty.update(range(self.lines))

    def _pull_up(self, first: int, bottom: int, count: int) -> None:
        """Lines ``first..bottom`` take the lines ``count`` below them; those with nothing
        to take (past ``bottom``, or absent from the sparse buffer) become blank."""
        buffer = self.buffer
        for y in range(first, bottom + 1):
            src = y + count
            if src <= bottom and src in buffer:
                buffer[y] = buffer.pop(src)
            else:
                buffer.pop(y, None)

    def scroll_down(self, count: Optional[int] = None, *args: int, **kwargs: Any) -> None:
        """SD (CSI T): scroll the region down; the cursor does not move."""
        if kwargs.get("private") or args:
            return  # CSI Ps;Ps;Ps;Ps;Ps T is mouse highlight tracking
        top, bottom = self.margins or Margins(0, self.lines - 1)
        count = min(count or 1, bottom - top + 1)
        buffer = self.buffer
        for y in range(bottom, top - 1, -1):
            src = y - count
            if src >= top and src in buffer:
                buffer[y] = buffer.pop(src)
            else:
                buffer.pop(y, None)
        self.dirty.update(range(self.lines))

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        cursor = self.cursor
        if (
            self.collect
            and not self.alt
            and (how == 2 or how == 3 or (how == 0 and cursor.x == 0 and cursor.y == 0))
        ):
            self._save_screen()
        super().erase_in_display(how, *args, **kwargs)
        if how == 0:
            ys = range(cursor.y, self.lines)
        elif how == 1:
            ys = range(cursor.y)
        else:
            ys = range(self.lines)
        buffer = self.buffer
        for y in ys:
            line = buffer.get(y)
            if line is not None and line.wrapped:
                line.wrapped = 0

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        # pyte's, with the cells set in one dict.update, and the wrap mark cleared.
        cursor = self.cursor
        if how == 0:
            xs = range(cursor.x, self.columns)
        elif how == 1:
            xs = range(cursor.x + 1)
        elif how == 2:
            xs = range(self.columns)
        else:
            super().erase_in_line(how, private)  # raises, as pyte does
            return
        self.dirty.add(cursor.y)
        line = self.buffer[cursor.y]
        line.update(dict.fromkeys(xs, cursor.attrs))
        if how != 1 and line.wrapped:
            line.wrapped = 0

    def reset(self) -> None:
        if self._ready:
            if self.alt:
                self._leave_alt(clear=False)
            self.other_buffer = None
            self.alt_saved = None
            if self.collect:
                self._save_screen()
        super().reset()

    def resize(self, lines: Optional[int] = None, columns: Optional[int] = None) -> None:
        lines = max(1, lines or self.lines)
        columns = max(1, columns or self.columns)
        old_lines, old_columns = self.lines, self.columns
        if lines == old_lines and columns == old_columns:
            return
        cursor = self.cursor
        if self.alt:
            cursor.y -= self._crop(self.buffer, cursor.y, lines, columns)
            if columns != old_columns and cursor.x >= columns:
                cursor.x = columns - 1
            saved = self.alt_saved.cursor if self.alt_saved else None
            assert self.other_buffer is not None
            self._reflow(self.other_buffer, columns, lines, saved)
        else:
            if self.other_buffer is not None:
                self._crop(self.other_buffer, cursor.y, lines, columns)
            self._reflow(self.buffer, columns, lines, cursor)
        self.lines, self.columns = lines, columns
        self.margins = None
        self.ensure_vbounds()
        for point in self.savepoints:
            # as terminals do (pyte leaves them where the screen no longer is)
            point.cursor.x = min(point.cursor.x, columns - 1)
            point.cursor.y = min(point.cursor.y, lines - 1)
        if columns != old_columns:
            # (a stop HTS set while waiting to wrap is past the last column: not a real one)
            stops = {t for t in self.tabstops if t < min(columns, old_columns)}
            stops.update(range((old_columns + 7) // 8 * 8, columns, 8))
            self.tabstops = stops
        self.dirty.update(range(lines))

    def _crop(self, buffer: Dict[int, Line], y: int, lines: int, columns: int) -> int:
        """Resize an alternate buffer without reflow (its programs redraw it): lines above
        row ``y`` go off the top only as far as needed to keep it on the screen, lines below
        the screen are dropped, lines are cut at ``columns``. Returns how far ``y`` moved up."""
        up = max(0, min(self.lines - lines, y + 1 - lines))
        keep = {row - up: line for row, line in buffer.items() if up <= row < up + lines}
        buffer.clear()
        buffer.update(keep)
        if columns < self.columns:
            for line in buffer.values():
                for x in [x for x in line if x >= columns]:
                    del line[x]
        return up

    def _reflow(self, buffer: Dict[int, Line], columns: int, lines: int, cursor: Optional[Cursor]) -> None:
        """Resize the primary buffer, re-wrapping its soft-wrapped lines at ``columns``.

        ``cursor`` (the shown one, or the one DECSET 1049 saved) stays on the same
        character. When the lines no longer fit, lines go off the top (collected) as far as
        needed to keep the last one with text on the screen, but never the cursor's line;
        what is still below the screen after that is dropped.
        """
        rows = list(map(buffer.get, range(self.lines)))
        points = [] if cursor is None else [(cursor.x, cursor.y)]
        rows, points = reflow(rows, self.columns, columns, points, self._new_line)
        last = len(rows) - 1
        while last >= 0 and rows[last] is None:
            last -= 1
        if points:
            up = max(0, min(max(last, points[0][1]) + 1 - lines, points[0][1]))
        else:
            up = max(0, last + 1 - lines)
        if self.collect:
            self.gone.extend(_line_entry(line, columns) for line in rows[:up])
        buffer.clear()
        buffer.update((y, line) for y, line in enumerate(rows[up : up + lines]) if line is not None)
        if cursor is not None:
            cursor.x, cursor.y = points[0][0], points[0][1] - up

    # -- drawing -----------------------------------------------------------------------------

    def draw(self, data: str) -> None:
        """pyte's ``draw``, except that zero-width and unprintable characters do not stop it."""
        if self.charset or self.g0_charset is not LAT1_MAP:
            data = data.translate(self.g1_charset if self.charset else self.g0_charset)
        cursor = self.cursor
        columns = self.columns
        buffer = self.buffer
        awm = _DECAWM in self.mode
        irm = _IRM in self.mode
        attrs = cursor.attrs
        for char in data:
            width = _wcwidth(char)
            if width <= 0 and not (width == 0 and _combining(char)):
                if width == 0:
                    self._attach(char)
                continue
            if cursor.x == columns:
                if awm:
                    buffer[cursor.y].wrapped = columns
                    self.dirty.add(cursor.y)
                    cursor.x = 0
                    self.linefeed()
                elif width > 0:
                    cursor.x -= width
            if irm and width > 0:
                self.insert_characters(width)
            line = buffer[cursor.y]
            x = cursor.x
            if width == 1:
                line[x] = attrs._replace(data=char)
            elif width == 2:
                line[x] = attrs._replace(data=char)
                if x + 1 < columns:
                    line[x + 1] = attrs._replace(data="")
            else:  # a combining character
                if x:
                    last = line[x - 1]
                    line[x - 1] = last._replace(data=last.data + char)
                elif cursor.y:
                    prev = buffer[cursor.y - 1]
                    last = prev[columns - 1]
                    prev[columns - 1] = last._replace(data=last.data + char)
            if width > 0:
                cursor.x = min(x + width, columns)
        self.dirty.add(cursor.y)

    def _attach(self, char: str) -> None:
        """Append a zero-width character to the cell before the cursor (selectel/pyte#138)."""
        cursor = self.cursor
        x = min(cursor.x, self.columns)
        if x:
            line = self.buffer[cursor.y]
            x -= 1
            if x and line[x].data == "":
                x -= 1  # the stub of a wide character: attach to the character itself
        elif cursor.y:
            line = self.buffer[cursor.y - 1]
            x = self.columns - 1
        else:
            return
        last = line[x]
        line[x] = last._replace(data=last.data + char)

    def draw_ascii(self, text: str) -> None:
        """``draw`` for a non-empty run of printable ASCII, writing whole row segments at once."""
        cursor = self.cursor
        x = cursor.x
        columns = self.columns
        mode = self.mode
        if x > columns or _IRM in mode:
            self.draw(text)
            return
        attrs = cursor.attrs
        cells = self.pen_cells(attrs, text)
        n = len(text)
        if n <= columns - x:
            # The usual case: the run fits on the line.
            line = self.buffer[cursor.y]
            if n == 1:
                line[x] = cells[text]
            else:
                line.update(zip(range(x, x + n), map(cells.__getitem__, text)))
            cursor.x = x + n
            self.dirty.add(cursor.y)
            return
        buffer = self.buffer
        dirty = self.dirty
        awm = _DECAWM in mode
        i = 0
        while i < n:
            if x == columns:
                if not awm:
                    # Every further character lands in the last column; the last one stays.
                    buffer[cursor.y][columns - 1] = cells[text[-1]]
                    break
                buffer[cursor.y].wrapped = columns
                dirty.add(cursor.y)
                cursor.x = 0
                self.linefeed()
                x = 0
            k = min(columns - x, n - i)
            buffer[cursor.y].update(zip(range(x, x + k), map(cells.__getitem__, text[i : i + k])))
            i += k
            x += k
        cursor.x = x
        dirty.add(cursor.y)

    def pen_cells(self, attrs: Char, text: str) -> Dict[str, Char]:
        """The cached cells of pen ``attrs``, including those for the characters of ``text``."""
        cells = self._cells.get(attrs)
        if cells is None:
            if len(self._cells) >= _CACHE_LIMIT:
                self._cells.clear()
            cells = self._cells[attrs] = {}
        for ch in set(text).difference(cells):
            cells[ch] = attrs._replace(data=ch)
        return cells

    def select_graphic_rendition(self, *attrs: int) -> None:
        """pyte's SGR, except that 256-colour indexes 0-15 are the 16 named colours, and that
        SGR 2 (faint) is kept, as ``bold`` = :data:`FAINT`.

        pyte stores ``38;5;1`` as the RGB value of its own palette; terminals (avt, xterm) take
        it as ``31``, drawn with the theme's red. Storing the name keeps that difference, so a
        snapshot can say which one was meant. Faint and bold are one setting, as in avt (the
        web player's terminal): the last of SGR 1, 2 and 22 wins.
        """
        if 38 in attrs or 48 in attrs:
            attrs = indexed_as_named(attrs)
        super().select_graphic_rendition(*attrs)
        if 2 in attrs and last_intensity(attrs) == 2:
            self.cursor.attrs = self.cursor.attrs._replace(bold=FAINT)  # type: ignore[arg-type]  # pyte types bold as bool; 2 marks faint

    def sgr(self, params: str) -> None:
        """SGR with the parameter string of ``ESC [ params m``, results cached."""
        attrs = self.cursor.attrs
        key = (attrs, params, _DECSCNM in self.mode)
        new = self._sgr.get(key)
        if new is None:
            args = [min(int(p or 0), 9999) for p in params.split(";")]
            self.select_graphic_rendition(*args)
            if len(self._sgr) >= _CACHE_LIMIT:
                self._sgr.clear()
            self._sgr[key] = self.cursor.attrs
        else:
            self.cursor.attrs = new


def indexed_as_named(attrs: Tuple[int, ...]) -> Tuple[int, ...]:
    """SGR parameters with each ``38;5;n`` / ``48;5;n`` for n < 16 as its 16-colour code."""
    out: List[int] = []
    i = 0
    n = len(attrs)
    while i < n:
        a = attrs[i]
        if (a == 38 or a == 48) and i + 2 < n and attrs[i + 1] == 5:
            index = attrs[i + 2]
            if index < 16:
                base = 30 if a == 38 else 40
                out.append(base + index if index < 8 else base + 60 + index - 8)
            else:
                out.extend(attrs[i : i + 3])
            i += 3
        elif (a == 38 or a == 48) and i + 1 < n:
            # pyte takes the next parameter as the colour's kind, and for 2 (RGB) three more:
            # none of them is a code of its own
            step = 5 if attrs[i + 1] == 2 else 2
            out.extend(attrs[i : i + step])
            i += step
        else:
            out.append(a)
            i += 1
    return tuple(out)


#: ``Char.bold`` of faint (SGR 2) cells: one more value of the intensity pyte keeps as a bool
FAINT = 2

_INTENSITY = frozenset((0, 1, 2, 22))


def last_intensity(attrs: Tuple[int, ...]) -> Optional[int]:
    """The last of the SGR parameters 0, 1, 2 and 22 that is a code of its own (not a
    colour's argument, as in ``38;5;2``)."""
    last = None
    i = 0
    n = len(attrs)
    while i < n:
        a = attrs[i]
        if (a == 38 or a == 48) and i + 1 < n:
            i += 3 if attrs[i + 1] == 5 else 5 if attrs[i + 1] == 2 else 2  # as indexed_as_named
            continue
        if a in _INTENSITY:
            last = a
        i += 1
    return last


class _Stream(pyte.Stream):
    """pyte's Stream with SU and SD.

    Its ``use_utf8`` stays True, so it never calls ``define_charset`` and ignores SI/SO: the
    screen's charsets are always the default ones, and the fast paths do not translate.
    """

    csi = dict(pyte.Stream.csi, S="scroll_up", T="scroll_down")


def _noop(*args: Any, **kwargs: Any) -> None:
    pass


class Terminal:
    """A ``cols`` x ``rows`` virtual terminal fed with text.

    ``collect`` keeps the lines that leave the primary screen for :meth:`take_lines`; turn it
    off when nobody takes them (a live-stream terminal), so they do not pile up.
    """

    def __init__(self, cols: int, rows: int, *, collect: bool = True) -> None:
        self.screen = screen = _Screen(max(1, cols), max(1, rows), collect)
        self._stream = _Stream(screen)
        self._ground = True
        csi: Dict[str, Callable[..., None]] = {}
        for final, name in _Stream.csi.items():
            csi[final] = getattr(screen, name)
        self._csi = csi

    # -- state ---------------------------------------------------------------------------------

    @property
    def cols(self) -> int:
        return self.screen.columns

    @property
    def rows(self) -> int:
        return self.screen.lines

    @property
    def cursor(self) -> Cursor:
        """pyte's cursor: ``x``, ``y`` (0-based; ``x == cols`` is the pending-wrap state),
        ``attrs`` (the pen, a ``Char``) and ``hidden``."""
        return self.screen.cursor

    @property
    def alt_active(self) -> bool:
        return self.screen.alt

    @property
    def primary_buffer(self) -> Dict[int, Line]:
        s = self.screen
        return s.other_buffer if s.alt else s.buffer  # type: ignore[return-value]  # other_buffer is set while alt

    @property
    def alt_buffer(self) -> Optional[Dict[int, Line]]:
        """The alternate buffer while it is shown, else None."""
        s = self.screen
        return s.buffer if s.alt else None

    @property
    def alt_saved_cursor(self) -> Optional[Savepoint]:
        """The cursor saved on entering the alternate screen with 1049, if any."""
        return self.screen.alt_saved

    @property
    def display(self) -> List[str]:
        """The rows shown now (the alternate screen while active), as pyte's ``display``."""
        return self.screen.display

    # -- input ---------------------------------------------------------------------------------

    def feed(self, text: str) -> None:
        """Process terminal output. Escape sequences may be split across calls."""
        screen = self.screen
        ground = self._ground
        draw_ascii = screen.draw_ascii
        cell_cache = screen._cells
        sgr_cache = screen._sgr
        mark_dirty = screen.dirty.add
        csi = self._csi
        for m in _TOKENS.finditer(text):
            kind = m.lastindex
            if not ground:
                ground = self._pyte_feed(m.group())
                continue
            if kind == _T_ASCII:
                s = m.group()
            elif kind == _T_SGR:
                params, s = m.group(2, 3)
                cursor = screen.cursor
                new = sgr_cache.get((cursor.attrs, params, _DECSCNM in screen.mode))
                if new is None:
                    screen.sgr(params)
                else:
                    cursor.attrs = new
                if not s:
                    continue
            elif kind == _T_NL:
                nl = m.group()
                cursor = screen.cursor
                if nl[0] == "\r":
                    cursor.x = 0
                    if len(nl) == 1:
                        continue
                y = cursor.y
                if screen.margins is None and 0 <= y < screen.lines - 1:
                    cursor.y = y + 1
                    if _LNM in screen.mode:
                        cursor.x = 0
                else:
                    screen.linefeed()
                continue
            elif kind == _T_CSI:
                private, params, final = m.group(5, 6, 7)
                fn = csi.get(final, _noop)
                args = [min(int(p or 0), 9999) for p in params.split(";")]
                try:
                    if private:
                        fn(*args, private=True)
                    else:
                        fn(*args)
                except Exception:
                    pass  # pyte would raise on it (``ESC[5J``, ``ESC[?1A``...): ignore it
                continue
            elif kind == _T_TEXT:
                screen.draw(m.group())
                continue
            else:
                ground = self._pyte_feed(m.group())
                continue
            # A run of printable ASCII. draw_ascii's common case, inlined: the run fits on
            # the line and the cells of the pen are cached.
            cursor = screen.cursor
            x = cursor.x
            n = len(s)
            if n <= screen.columns - x and _IRM not in screen.mode:
                cells = cell_cache.get(cursor.attrs)
                if cells is not None:
                    line = screen.buffer[cursor.y]
                    try:
                        line.update(zip(range(x, x + n), map(cells.__getitem__, s)))
                    except KeyError:  # a character not drawn with this pen yet
                        cells = screen.pen_cells(cursor.attrs, s)
                        line.update(zip(range(x, x + n), map(cells.__getitem__, s)))
                    cursor.x = x + n
                    mark_dirty(cursor.y)
                    continue
            draw_ascii(s)
        self._ground = ground

    def _pyte_feed(self, text: str) -> bool:
        """Feed pyte's own parser; True when it is back in its ground state."""
        stream = self._stream
        try:
            stream.feed(text)
        except Exception:
            # pyte raises on a few malformed sequences; start over in the ground state.
            stream._initialize_parser()
        return stream._taking_plain_text is True

    def resize(self, cols: int, rows: int) -> None:
        self.screen.resize(rows, cols)

    # -- output --------------------------------------------------------------------------------

    def snapshot(self) -> str:
        """Terminal output that redraws this terminal's state on a fresh one of the same size.

        Fed to a new ``Terminal(cols, rows)`` (or to a terminal such as the web player's), it
        gives the same rows (text, colours, attributes, wide characters, soft wraps but that of
        the last row), the primary screen under a shown alternate screen and the cursor DECSET
        1049 saved for it, tab stops, scroll margins, the cursors saved by DECSC, modes (origin,
        auto-wrap, insert, new line, cursor keys and the other private modes), the cursor
        (position, waiting to wrap, visibility) and the pen the next output is drawn with.
        Left out: the alternate buffer while it is hidden (terminals start it blank again);
        a soft-wrap mark on the last row (no terminal wraps there without scrolling); cells no
        output can make again, which only a reflow makes (combining marks on a wide character
        the cursor waits to wrap after) or none (a wide character's right half with other
        attributes than its left half), and tab stops past the last column.

        It only reads the terminal: call it between ``feed`` calls (under the lock that
        serialises them, when another thread feeds).
        """
        return _Snapshot(self.screen).build()

    def take_lines(self) -> List[Tuple[str, bool]]:
        """The lines that left the primary screen since the last call, oldest first.

        Each is ``(text, wrapped)``: a wrapped line has the full width it had when
        auto-wrap continued it on the next line; the others are right-stripped.
        """
        gone = self.screen.gone
        if not gone:
            return []
        self.screen.gone = []
        return gone

    def screen_lines(self) -> List[Tuple[str, bool]]:
        """The rows of the primary screen (shown or not) as ``(text, wrapped)``."""
        return self._buffer_lines(self.primary_buffer)

    def alt_screen_lines(self) -> Optional[List[Tuple[str, bool]]]:
        """The rows of the alternate screen while it is shown, else None."""
        buffer = self.alt_buffer
        return None if buffer is None else self._buffer_lines(buffer)

    def _buffer_lines(self, buffer: Dict[int, Line]) -> List[Tuple[str, bool]]:
        width = self.screen.columns
        return [_line_entry(buffer.get(y), width) for y in range(self.screen.lines)]


def _line_entry(line: Optional[Line], width: int, end: bool = False) -> Tuple[str, bool]:
    """``(text, wrapped)`` of a line, as :meth:`Terminal.take_lines` gives it; ``end`` takes
    it as not wrapped whatever its mark says."""
    if line is None:
        return ("", False)
    wrapped = 0 if end else line.wrapped
    if wrapped:
        return (line_text(line, min(wrapped, width), pad=True), True)
    return (line_text(line, width).rstrip(), False)


# -- snapshots -------------------------------------------------------------------------------------

_FG_CODES: Dict[str, str] = {name: str(code) for code, name in pyte.graphics.FG_ANSI.items()}
_FG_CODES.update((name, str(code)) for code, name in pyte.graphics.FG_AIXTERM.items())
_BG_CODES: Dict[str, str] = {name: str(code) for code, name in pyte.graphics.BG_ANSI.items()}
_BG_CODES.update((name, str(code)) for code, name in pyte.graphics.BG_AIXTERM.items())
_FG_CODES.pop("default")
_BG_CODES.pop("default")
_BG_CODES.setdefault("brightmagenta", "105")  # pyte 0.8.2 spells it "bfightmagenta"

# RGB values of the 256-colour palette's fixed part (16-255, the same in every terminal):
# pyte keeps ``38;5;n`` as one, and a terminal draws the index as it draws that RGB value.
_INDEX_OF: Dict[str, int] = {}
for _i, _rgb in enumerate(pyte.graphics.FG_BG_256[16:], 16):
    _INDEX_OF.setdefault(_rgb, _i)

_attrs_of = itemgetter(1, 2, 3, 4, 5, 6, 7, 8)  # a Char without its data
_NOT_DATA = slice(1, None)  # the same, as a slice: getitem with it makes the tuple faster
_BLANK_ATTRS = _attrs_of(_BLANK)
_REVERSED_BLANK_ATTRS = _attrs_of(_REVERSED_BLANK)
_HEX = frozenset("0123456789abcdef")


def _color(value: str, codes: Dict[str, str], extended: str) -> Optional[str]:
    code = codes.get(value)
    if code is not None:
        return code
    if len(value) == 6 and _HEX.issuperset(value):
        index = _INDEX_OF.get(value)
        if index is not None:
            return f"{extended};5;{index}"
        return f"{extended};2;{int(value[:2], 16)};{int(value[2:4], 16)};{int(value[4:], 16)}"
    return None  # "default", or nothing pyte makes


#: SGR sequences of pens (a Char's fields but data), for a normal and a reversed (DECSCNM) screen
_SGR_CACHES: Tuple[Dict[Tuple[Any, ...], str], Dict[Tuple[Any, ...], str]] = ({}, {})


def _sgr(attrs: Tuple[Any, ...], reverse_screen: bool) -> str:
    """The SGR sequence that sets the pen to ``attrs``."""
    cache = _SGR_CACHES[reverse_screen]
    seq = cache.get(attrs)
    if seq is None:
        fg, bg, bold, italics, underscore, strikethrough, reverse, blink = attrs
        params = ["0"]  # with DECSCNM set, SGR 0 gives a reversed pen (see default_char)
        if bold:
            params.append("2" if bold == FAINT else "1")
        if italics:
            params.append("3")
        if underscore:
            params.append("4")
        if blink:
            params.append("5")
        if reverse:
            params.append("7")
        elif reverse_screen:
            params.append("27")
        if strikethrough:
            params.append("9")
        for value, codes, extended in ((fg, _FG_CODES, "38"), (bg, _BG_CODES, "48")):
            code = _color(value, codes, extended)
            if code is not None:
                params.append(code)
        seq = "\x1b[" + ";".join(params) + "m"
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[attrs] = seq
    return seq


def _blank(cell: Optional[Char]) -> bool:
    return cell is None or cell == _BLANK


class _Snapshot:
    """Builds :meth:`Terminal.snapshot`'s output for one screen state."""

    def __init__(self, screen: _Screen) -> None:
        self.screen = screen
        self.cols = screen.columns
        self.rows = screen.lines
        self.reverse_screen = _DECSCNM in screen.mode
        self.out: List[str] = []
        # The state of the terminal drawn on, as far as the output has set it.
        self.pen = _REVERSED_BLANK_ATTRS if self.reverse_screen else _BLANK_ATTRS
        self.origin = False
        self.wrap = True
        self.hidden = False
        self.sgr = _SGR_CACHES[self.reverse_screen]
        #: zero-width characters to draw once the rows are drawn: (row, column, characters).
        #: From the right half of a wide character they go to the wide character; from the
        #: start of a row, to the end of the row above.
        self.marks: List[Tuple[int, int, str]] = []

    def build(self) -> str:
        s = self.screen
        out = self.out
        if self.reverse_screen:
            out.append("\x1b[?5h")  # first: pyte reverses the cells it finds when it is set
        primary = s.other_buffer if s.alt else s.buffer
        assert primary is not None
        self.draw_buffer(primary)
        if s.tabstops != set(range(8, self.cols, 8)):
            out.append("\x1b[3g")
            out.extend(f"\x1b[{x + 1}G\x1bH" for x in sorted(s.tabstops) if x < self.cols)
        if s.alt:
            saved = s.alt_saved
            if saved is None:
                out.append("\x1b[?1047h")
            else:
                # The cursor 1049 saved comes back when the program leaves the alternate screen.
                self.put_cursor(saved.cursor, saved.origin, saved.wrap, 0, primary)
                out.append("\x1b[?1049h")
            self.draw_buffer(s.buffer)
        elif s.alt_saved is not None:
            # Left by 1047 or 47 after 1049 saved it: a later 1049 reset still restores it.
            saved = s.alt_saved
            self.put_cursor(saved.cursor, saved.origin, saved.wrap, 0, primary)
            out.append("\x1b[?1049h\x1b[?1047l")
        margins = s.margins
        if margins is not None:
            out.append(f"\x1b[{margins.top + 1};{margins.bottom + 1}r")
        top = margins.top if margins is not None else 0
        modes = s.mode
        for m in sorted(modes - _SPECIAL_MODES):
            out.append(f"\x1b[?{m >> 5}h" if m >= 32 and not m & 31 else f"\x1b[{m}h")
        for point in s.savepoints:
            self.put_cursor(point.cursor, point.origin, point.wrap, top, s.buffer)
            out.append("\x1b7")
        cursor = s.cursor
        self.put_cursor(cursor, mo.DECOM in modes, _DECAWM in modes, top, s.buffer)
        if _IRM in modes:
            out.append("\x1b[4h")  # last: it changes how the cells above are drawn
        return "".join(out)

    def set_pen(self, attrs: Tuple[Any, ...]) -> None:
        if attrs != self.pen:
            self.out.append(_sgr(attrs, self.reverse_screen))
            self.pen = attrs

    def set_modes(self, origin: bool, wrap: bool) -> None:
        if origin != self.origin:
            self.out.append("\x1b[?6h" if origin else "\x1b[?6l")  # either homes the cursor
            self.origin = origin
        if wrap != self.wrap:
            self.out.append("\x1b[?7h" if wrap else "\x1b[?7l")
            self.wrap = wrap

    def set_hidden(self, hidden: bool) -> None:
        if hidden != self.hidden:
            self.out.append("\x1b[?25l" if hidden else "\x1b[?25h")
            self.hidden = hidden

    def put_cursor(self, cursor: Cursor, origin: bool, wrap: bool, top: int, shown: Dict[int, Any]) -> None:
        """Set the cursor as ``cursor`` (position, waiting to wrap, pen, visibility), origin
        mode and auto-wrap; ``top`` is the top margin, ``shown`` the buffer on the screen."""
        out = self.out
        x = cursor.x
        if x < self.cols:
            self.set_modes(origin, wrap)
            out.append(f"\x1b[{cursor.y + 1 - (top if origin else 0)};{x + 1}H")
        else:
            # Waiting to wrap: only drawing in the last column gets a terminal there (drawn
            # with auto-wrap on, as a terminal with it off does not wait).
            self.set_modes(origin, True)
            line = shown.get(cursor.y)
            cols = self.cols
            x = cols - 1
            if line is not None and x:
                cell = line.get(x)
                left = line.get(x - 1)
                if (
                    cell is not None
                    and left is not None
                    and _on_stub(cell[0])
                    and left[0]
                    and _wcwidth(left[0][0]) == 2
                    and _attrs_of(left) == _attrs_of(cell)
                ):
                    x -= 1  # the right half of a wide character: draw that
            out.append(f"\x1b[{cursor.y + 1 - (top if origin else 0)};{x + 1}H")
            if line is None:
                self.set_pen(_BLANK_ATTRS)
                out.append(" ")
            else:
                self.draw_cells(line, list(map(line.get, range(cols), [line.default] * cols)), x, False, cursor.y)
                # Marks on a wide character in the last two columns are lost here: drawing
                # them would take the cursor off its place.
                self.marks.clear()
            self.set_modes(origin, wrap)
        self.set_pen(_attrs_of(cursor.attrs))
        self.set_hidden(cursor.hidden)

    def draw_buffer(self, buffer: Dict[int, Any]) -> None:
        """Draw the rows of ``buffer`` on a blank screen, with no margins and auto-wrap on.

        A soft-wrapped row is drawn to its last column and its next row follows with no
        cursor move, so the terminal wraps it itself (and marks it so for a reflow).
        """
        self.set_modes(False, True)
        out = self.out
        cols = self.cols
        last_row = self.rows - 1
        follows = False  # the row before wrapped: the cursor waits at its end
        for y in range(self.rows):
            line = buffer.get(y)
            wrapped = line is not None and bool(line.wrapped) and y < last_row
            if line is None:
                n = 0
            elif wrapped:
                n = cols
            else:
                n = min(max(line) + 1, cols) if line else 0
                get = line.get
                while n and _blank(get(n - 1)):
                    n -= 1
            if follows:
                n = max(n, 1)
            elif not n:
                continue
            else:
                out.append(f"\x1b[{y + 1}H")
            self.draw_row(line, n, wrapped, y)
            follows = wrapped
        for y, x, marks in self.marks:
            out.append(f"\x1b[{y + 1};{x + 1}H{marks}")
        self.marks.clear()

    def draw_row(self, line: Optional[Line], n: int, wraps: bool, y: int) -> None:
        """Draw the first ``n`` cells of ``line`` from column 0 of the cursor's row ``y``;
        ``wraps``: the row is soft-wrapped."""
        if line is None:
            self.set_pen(_BLANK_ATTRS)
            self.out.append(" " * n)
            return
        cells = list(map(line.get, range(n), [line.default] * n))
        text = "".join(map(_data, cells))
        if len(text) == n and text.isascii():
            # One printable ASCII character a cell: runs of one pen, found at C speed.
            keys: List[Tuple[Any, ...]] = list(map(getitem, cells, repeat(_NOT_DATA, n)))
            out = self.out
            pen = self.pen
            sgr = self.sgr
            i = 0
            for j in chain(compress(range(1, n), map(ne, keys, keys[1:])), (n,)):
                attrs = keys[i]
                if attrs != pen:
                    seq = sgr.get(attrs)
                    out.append(_sgr(attrs, self.reverse_screen) if seq is None else seq)
                    pen = attrs
                out.append(text[i:j])
                i = j
            self.pen = pen
            return
        self.draw_cells(line, cells, 0, wraps, y)

    def draw_cells(self, line: Line, cells: List[Char], x: int, wraps: bool, y: int) -> None:
        """``draw_row`` for rows with wide, combined or stub cells, one cell at a time, from
        column ``x`` (where the cursor is) on; ``wraps``: the row is soft-wrapped.

        Combining marks on a wide character with its right half after it are left in
        :attr:`marks` for the caller to draw once the row's wrap is done."""
        out = self.out
        cols = self.cols
        n = len(cells)
        while x < n:
            cell = cells[x]
            data = cell[0]
            attrs = cell[1:]
            width = _wcwidth(data[0]) if data else 0
            if width <= 0:
                # The right half of a wide character whose left half was overwritten, maybe
                # with combining marks drawn on it: made by drawing a wide character over the
                # cell before, then the marks, then that cell again.
                before = cells[x - 1] if x else None
                if (
                    before is not None
                    and x + 1 < cols
                    and before[0]
                    and _wcwidth(before[0][0]) == 1
                    and (not data or _combining(data[0]))
                ):
                    self.set_pen(attrs)
                    out.append(f"\x1b[{x}G\u4e00{data}\x1b[{x}G")
                    self.set_pen(_attrs_of(before))
                    out.append(f"{before[0]}\x1b[{x + 2}G")
                else:
                    self.set_pen(attrs)
                    out.append(" ")  # not made by any output pyte takes; shown as a space
                x += 1
                continue
            if attrs != self.pen:
                self.set_pen(attrs)
            x += 1
            text = data
            stub = False
            if width == 2 and x < cols:
                if len(data) > 1 and any(map(_combining, data[1:])):
                    # Drawn after it, they would go to its right half.
                    self.marks.append((y, x, data[1:]))
                    text = data[0]
                right = cells[x] if x < n else line.get(x)
                if right is not None and right[1:] == attrs and (not right[0] or _on_stub(right[0])):
                    text += right[0]  # the stub drawing makes, and marks drawn on it
                    x += 1
                elif (
                    right is not None
                    and right[0]
                    and _wcwidth(right[0][0]) == 0
                    and _attrs_of(right) == attrs
                    and x == cols - 1
                    and y + 1 < self.rows
                ):
                    # Other zero-width characters skip a bare stub for the wide character,
                    # but from the start of the next row they go to the end of this one.
                    self.marks.append((y + 1, 0, right[0]))
                    x += 1
                else:
                    stub = True
            if x == cols and not wraps and len(text) > 1 and any(map(_combining, text[1:])):
                # pyte wraps before it adds a combining mark in the last column, which this
                # row did not: the marks go with auto-wrap off. Not the character before them:
                # the cursor may wait at the end of the row above, which wrapped into this one
                # (one column), and must wrap to it.
                out.append(text[0])
                self.set_modes(self.origin, False)
                out.append(text[1:])
                self.set_modes(self.origin, True)
            else:
                out.append(text)
            if stub:
                # Drawing it made a stub there; what the screen has instead comes next.
                out.append(f"\x1b[{x + 1}G")
                if x == n:
                    cells.append(line.get(x, line.default))
                    n += 1


def _on_stub(data: str) -> bool:
    """Whether a cell holding ``data`` is what drawing ``data`` right after a wide character
    makes of its stub (nothing, or combining marks added to it)."""
    return not data or (_wcwidth(data[0]) == 0 and bool(_combining(data[0])))
