"""Text export speed: the txt encoder (asciinema.vt) against plain pyte on the same output.

    python3 bench/bench_txt.py [--pyz asciinema.pyz] [--size MB] [--repeat N]

Generates a deterministic stream of typical coloured terminal output (``ls --color`` listings,
log lines with SGR colours, compiler diagnostics with ``ESC[K``, long lines that wrap, CR LF),
then measures, best of ``--repeat`` runs:

(a) pyte alone: ``Stream(Screen(80, 24)).feed`` of the stream in ~4 KB chunks;
(b) ours: ``TxtEncoder`` encoding the same chunks as ``o`` events, end to end (``encode`` and
    ``finish``, including the text of every line that scrolled by).

It checks that the final screen of (b) is the same as pyte's, cell by cell, and prints both
rates in MB/s (UTF-8 bytes of terminal output per second) and the ratio ours/pyte (target 3.0).
With ``--pyz`` the archive is put first on sys.path, so asciinema and the vendored pyte and
wcwidth are imported from it; otherwise asciinema comes from this tree and pyte from the
current environment.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import best_of  # noqa: E402

CHUNK = 4096
COLS, ROWS = 80, 24

WORDS = (
    "request handler worker cache miss hit connection pool timeout retry upstream session "
    "user token queue job task index shard replica leader follower commit flush compaction "
    "segment offset partition consumer producer latency bytes ok failed done started"
).split()
LEVELS = [("INFO", "32"), ("WARN", "33"), ("ERROR", "1;31"), ("DEBUG", "36"), ("INFO", "32")]
LS_COLORS = ["01;34", "01;32", "01;36", "00", "01;31", "01;35", "40;33;01"]


def _word(rng: random.Random) -> str:
    return rng.choice(WORDS)


def log_line(rng: random.Random, n: int) -> str:
    level, color = rng.choice(LEVELS)
    msg = " ".join(_word(rng) for _ in range(rng.randint(3, 12)))
    if rng.random() < 0.1:  # a long line that wraps once or twice
        msg += " " + " ".join(_word(rng) + "=" + str(rng.randint(0, 99999)) for _ in range(rng.randint(10, 25)))
    return (
        f"\x1b[2m2024-05-{1 + n % 28:02d} 12:{n % 60:02d}:{n * 7 % 60:02d}.{n % 1000:03d}\x1b[0m "
        f"\x1b[{color}m{level:<5}\x1b[0m [\x1b[35mworker-{n % 8}\x1b[0m] {msg}\r\n"
    )


def ls_block(rng: random.Random) -> str:
    names = []
    for _ in range(rng.randint(6, 30)):
        name = _word(rng) + rng.choice(["", "_" + _word(rng)]) + rng.choice(["", ".py", ".txt", ".so", "/"])
        names.append((name.rstrip("/"), rng.choice(LS_COLORS)))
    width = max(len(n) for n, _ in names) + 2
    per_row = max(1, COLS // width)
    out = ["$ ls --color=auto\r\n"]
    for i in range(0, len(names), per_row):
        cells = []
        for name, color in names[i : i + per_row]:
            cells.append(f"\x1b[0m\x1b[{color}m{name}\x1b[0m" + " " * (width - len(name)))
        out.append("".join(cells).rstrip() + "\r\n")
    return "".join(out)


def gcc_block(rng: random.Random, n: int) -> str:
    src = f"src/{_word(rng)}.c"
    line, col = rng.randint(1, 999), rng.randint(1, 80)
    kind, color = rng.choice([("error", "01;31"), ("warning", "01;35"), ("note", "01;36")])
    code = " ".join(_word(rng) for _ in range(rng.randint(2, 8)))
    return (
        f"\x1b[01m\x1b[K{src}:{line}:{col}:\x1b[m\x1b[K \x1b[{color}m\x1b[K{kind}: \x1b[m\x1b[K"
        f"unused variable \x1b[01m\x1b[K'{_word(rng)}{n}'\x1b[m\x1b[K [\x1b[{color}m\x1b[K-Wunused\x1b[m\x1b[K]\r\n"
        f" {line:4d} |   int {code};\r\n      |       \x1b[{color}m\x1b[K^~~~~\x1b[m\x1b[K\r\n"
    )


def make_stream(size: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    parts: List[str] = []
    total = 0
    n = 0
    while total < size:
        r = rng.random()
        if r < 0.75:
            s = log_line(rng, n)
        elif r < 0.85:
            s = ls_block(rng)
        else:
            s = gcc_block(rng, n)
        parts.append(s)
        total += len(s)
        n += 1
    return "".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pyz", help="import asciinema, pyte and wcwidth from this archive")
    ap.add_argument("--size", type=float, default=20.0, help="stream size in MB (default 20)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    if args.pyz:
        sys.path.insert(0, str(Path(args.pyz).resolve()))
    else:
        sys.path.insert(0, str(ROOT))

    try:
        import pyte
    except ImportError:
        sys.exit("pyte is not importable: pass --pyz asciinema.pyz, or install the pins of vendor.txt")

    from asciinema.asciicast import Event, Header
    from asciinema.encoders.txt import TxtEncoder

    print(f"pyte from {Path(pyte.__file__).parent}")
    text = make_stream(int(args.size * 1_000_000), args.seed)
    nbytes = len(text.encode("utf-8"))
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
    events = [Event(i * 1000, "o", c) for i, c in enumerate(chunks)]
    print(f"stream: {nbytes / 1e6:.1f} MB, {text.count(chr(10))} lines, {len(chunks)} chunks of {CHUNK}")

    ref = {}

    def run_pyte() -> None:
        screen = pyte.Screen(COLS, ROWS)
        stream = pyte.Stream(screen)
        for c in chunks:
            stream.feed(c)
        ref["screen"] = screen

    out = {}

    def run_ours() -> None:
        enc = TxtEncoder()
        enc.header(Header(COLS, ROWS))
        parts = list(enc.encode(events))
        term = enc._term  # the terminal, for the check below
        parts.append(enc.finish())
        out["text"] = "".join(parts)
        out["term"] = term

    t_ours = best_of(args.repeat, run_ours)
    t_pyte = best_of(args.repeat, run_pyte)

    screen, term = ref["screen"], out["term"]
    assert term.display == screen.display, "final screen differs from pyte's"
    for y in range(ROWS):
        for x in range(COLS):
            cell = term.screen.buffer[y][x]
            if cell.bold == 2:  # faint (SGR 2), which pyte drops
                cell = cell._replace(bold=False)
            assert cell == screen.buffer[y][x], f"cell {x},{y} differs"
    txt = out["text"]
    last = [row.rstrip() for row in screen.display if row.strip()][-1]
    assert txt.endswith(last + "\n"), "the txt output does not end with the final screen"
    print(f"txt output: {len(txt) / 1e6:.1f} MB, {txt.count(chr(10))} lines")

    rate_pyte = nbytes / t_pyte / 1e6
    rate_ours = nbytes / t_ours / 1e6
    print(f"pyte Stream.feed:   {t_pyte:7.2f} s  {rate_pyte:6.2f} MB/s")
    print(f"ours TxtEncoder:    {t_ours:7.2f} s  {rate_ours:6.2f} MB/s")
    print(f"ratio ours/pyte:    {rate_ours / rate_pyte:.2f}  (target >= 3.0)")


if __name__ == "__main__":
    main()
