"""Terminal.snapshot in the real player (headless Debian chromium): a recording made of the
snapshot and the output that followed it shows the rows our terminal has, and, where both can
be compared, the very same screen (text, colours, attributes, backgrounds) as the player fed the
whole session. Skipped, with the reason, where chromium is missing."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

pytest.importorskip("pyte")

from pyte.screens import wcwidth  # noqa: E402

from asciinema.player_assets import PLAYER_CSS, PLAYER_JS, read_asset  # noqa: E402
from asciinema.vt import Terminal  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (CI installs it)")

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

# Output after the viewer joined, the same for both players: it checks the pen, the modes,
# the margins and the cursors the snapshot set up.
AFTER: Dict[str, List[object]] = {
    "colours": [" drawn with the pen\r\n\x1b[0mplain again"],
    "wide": ["中文", "\r\n$ "],
    "wrapped": ["c" * 20],
    "vim": ["typed", "\x1b[9;1H\n\n\x1b[Hscrolled", "\x1b[?1049l", "\r\n$ after vim"],
    "htop": ["\x1b[5;1H\n\n\n\n", "\x1b[?1049l$ "],
    "less": ["\x1b[6;1H\x1b[K\nmore", "\x1b[?1049l\r$ "],
    "resized": ["\r\nnext line"],
}

_LINE = re.compile(r'<span class="ap-line" style="--row: \d+;">((?:<span[^>]*>[^<]*</span>)*)</span>')
_SPAN = re.compile(r'<span[^>]*--offset: (\d+);[^>]*>([^<]*)</span>')


def _cast(cols: int, rows: int, chunks: List[object]) -> str:
    lines = [json.dumps({"version": 2, "width": cols, "height": rows})]
    for i, chunk in enumerate(chunks):
        if isinstance(chunk, tuple):
            lines.append(json.dumps([0.001 * (i + 1), "r", f"{chunk[0]}x{chunk[1]}"]))
        else:
            lines.append(json.dumps([0.001 * (i + 1), "o", chunk]))
    return "\n".join(lines) + "\n"


def _page(casts: List[str]) -> str:
    css = read_asset(PLAYER_CSS).decode()
    js = read_asset(PLAYER_JS).decode()
    divs = "".join(f'<div id="p{i}"></div><pre id="c{i}"></pre>' for i in range(len(casts)))
    data = json.dumps(casts).replace("</", "<\\/")
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>{css}</style></head>
<body>{divs}<script>{js}</script><script>
var casts = {data};
casts.forEach(function (cast, i) {{
  AsciinemaPlayer.create({{ data: cast }}, document.getElementById("p" + i), {{ autoPlay: true, speed: 100 }});
}});
setTimeout(function () {{
  casts.forEach(function (cast, i) {{
    var canvas = document.querySelector("#p" + i + " canvas");
    document.getElementById("c" + i).textContent = canvas ? canvas.toDataURL() : "";
  }});
  document.body.setAttribute("data-done", "1");
}}, 4000);
</script></body></html>"""


def _screens(dom: str, count: int) -> List[Tuple[List[str], str]]:
    """Each player's rows (the raw HTML of each line) and its canvas (the backgrounds)."""
    out = []
    for i in range(count):
        start = dom.index(f'<div id="p{i}">')
        end = dom.index(f'<pre id="c{i}">')
        lines = _LINE.findall(dom[start:end])
        canvas = dom[dom.index(">", end) + 1 : dom.index("</pre>", end)]
        out.append((lines, canvas))
    return out


def _text(line: str, cols: int) -> str:
    """A player's row as pyte's ``display`` shows one: each character in its column, the
    column after a wide one skipped."""
    cells = [" "] * cols
    for m in _SPAN.finditer(line):
        x = int(m.group(1))
        for ch in html.unescape(m.group(2)):
            if x < cols:
                cells[x] = ch
                if wcwidth(ch) == 2 and x + 1 < cols:
                    cells[x + 1] = ""
            x += max(wcwidth(ch), 1)
    return "".join(cells).rstrip()


def test_the_player_shows_the_snapshot_as_the_session(tmp_path: Path) -> None:
    names = list(SESSIONS)
    casts: List[str] = []
    terms: List[Terminal] = []
    for name in names:
        cols, rows, chunks = SESSIONS[name]
        t = Terminal(cols, rows)
        for chunk in chunks:
            if isinstance(chunk, tuple):
                t.resize(*chunk)
            else:
                t.feed(chunk)  # type: ignore[arg-type]
        snapshot = t.snapshot()
        for chunk in AFTER[name]:
            t.feed(chunk)  # type: ignore[arg-type]
        terms.append(t)
        casts.append(_cast(cols, rows, chunks + AFTER[name]))
        casts.append(_cast(t.cols, t.rows, [snapshot] + AFTER[name]))
    page = tmp_path / "snapshots.html"
    page.write_text(_page(casts), encoding="utf-8")
    dom = ""
    for attempt in range(3):  # a loaded machine may starve the browser once
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",  # type: ignore[list-item]
             f"--user-data-dir={tmp_path / f'profile{attempt}'}", "--virtual-time-budget=20000", "--dump-dom",
             page.as_uri()],
            capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        dom = proc.stdout
        (tmp_path / "dom.html").write_text(dom, encoding="utf-8")
        if 'data-done="1"' in dom:
            break
    assert 'data-done="1"' in dom, proc.stderr[-2000:]
    screens = _screens(dom, len(casts))
    for k, (name, t) in enumerate(zip(names, terms)):
        (live_lines, live_canvas), (snap_lines, snap_canvas) = screens[2 * k], screens[2 * k + 1]
        shown = [_text(line, t.cols) for line in snap_lines]
        assert shown == [row.rstrip() for row in t.display], name
        if name != "resized":  # the player reflows a resize its own way
            assert snap_lines == live_lines, name  # text, colours and attributes, span by span
            assert snap_canvas == live_canvas, name  # backgrounds
