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
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

pytest.importorskip("pyte")

from pyte.screens import wcwidth  # noqa: E402

from asciinema.player_assets import PLAYER_CSS, PLAYER_JS, read_asset  # noqa: E402
from asciinema.vt import Terminal  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_vt_snapshot import AFTER, SESSIONS  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (CI installs it)")

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
