"""Redaction speed: the redaction filter alone, in this process, on realistic terminal output;
with ``--rec``, ``rec`` end to end with every preset against without.

    python3 bench/bench_redact.py [--size MB] [--chunk BYTES] [--repeat N] [--kind log|base64]
    python3 bench/bench_redact.py --rec [--size MB] [--repeat N] [--kind log|base64] [--pyz FILE]

Generates the same deterministic coloured output as bench_txt.py (log lines with SGR
colours, ``ls --color`` listings, compiler diagnostics with ``ESC[K``), with ``--kind
base64`` the lines of base64 text that bench_rec.py records, or with ``--kind source`` the
standard library's Python files as a highlighting pager prints them (every letter and sign
of ASCII, which the generated logs lack: the rarer characters that some presets' raw
patterns start with are there), with a secret of one preset's
kind or another every ``--secret-every`` characters (1 MiB), cuts it into reads of
``--chunk`` characters (the session reads up to 64 KiB at a time under bulk output; a pty
gives 4 KiB or less when the program writes slowly) and measures, best of ``--repeat``
runs, the filter's ``feed`` of every read and its final ``flush``:

(a) none: no filter at all (what a session without --redact does: only the loop);
(b) one --redact pattern that starts with a fixed string (``hunter[0-9]+``), which tells
    where in the output a match could start, as the presets do;
(c) one that doesn't (``[h]unter[0-9]+``): the visible text is made of all the output;
(d) all presets: ``--redact-preset`` of every preset, whose raw patterns tell where a match
    could start: the visible text is made only for a window from there.

It prints each rate in MB/s (UTF-8 bytes of output per second) and its cost in seconds per
64 MB. The issue's target (``rec`` with every preset at least 0.8x as fast as without) is
end to end: run ``--rec``.

``--rec`` writes the output to a file and times ``rec --headless -c 'cat FILE'`` on a pty
drained by ``cat`` (as bench_rec.py does), without and with ``--redact-preset`` of every
preset, runs interleaved so that changes of load hit both alike; it prints the best and the
median time of each, the recorder's CPU time (user and system, the recorder's process only:
``cat`` and the terminal's drain are not in it) and the ratios (the issue's target: at
least 0.8x). Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import re
import shutil
import statistics
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_txt import make_stream  # noqa: E402
from common import best_of  # noqa: E402

SECRETS = [
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_" + "a1B2" * 9,
    "glpat-xxxxxxxxxxxxxxxxxxxx",
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc-_DEF123",
    "Authorization: Bearer abc.DEF-123_x=",
    "-----BEGIN RSA PRIVATE KEY-----\r\nMIIEowIBAAKCAQEAx0Y+q9/8JKa7==\r\n-----END RSA PRIVATE KEY-----",
    "192.168.1.20",
]


def with_secrets(text: str, every: int, seed: int) -> str:
    """A secret after every ``every`` characters, or before the escape sequence there."""
    rng = random.Random(seed)
    out: List[str] = []
    start = 0
    for i in range(every, len(text) + every, every):
        esc = text.rfind("\x1b", max(start, i - 64), i)
        if esc >= 0:  # the secret is not to go inside an escape sequence
            i = esc
        out.append(text[start:i])
        out.append(" " + rng.choice(SECRETS) + "\r\n")
        start = i
    out.append(text[start:])
    return "".join(out)


_KEYWORDS = re.compile(r"\b(def|class|return|import|from|if|elif|else|for|while|try|except|with|as|in|not"
                       r"|and|or|is|None|True|False|self)\b")
_STRINGS = re.compile(r"(\"[^\"]*\"|'[^']*')")


def highlighted_source(size: int) -> str:
    """Python's standard library as a highlighting pager prints it: a dim line number, keywords
    in colour, strings in another (all letters, upper and lower case, and every ASCII sign)."""
    import sysconfig

    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    out: List[str] = []
    total = 0
    while total < size:
        for path in files:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for n, line in enumerate(lines, 1):
                line = _KEYWORDS.sub("\x1b[1;34m\\1\x1b[0m", line)
                line = _STRINGS.sub("\x1b[32m\\1\x1b[0m", line)
                piece = f"\x1b[2m{n:5d}\x1b[0m {line}\x1b[K\r\n"
                out.append(piece)
                total += len(piece)
                if total >= size:
                    return "".join(out)
    return "".join(out)


def make_output(kind: str, size: int, every: int, seed: int) -> str:
    if kind == "base64":
        plain = base64.encodebytes(random.Random(seed).randbytes(size * 3 // 4)).decode().replace("\n", "\r\n")
    elif kind == "source":
        plain = highlighted_source(size)
    else:
        plain = make_stream(size, seed)
    return with_secrets(plain, every, seed)


def rec_end_to_end(args: argparse.Namespace) -> None:
    import tempfile

    from bench_rec import run_with_terminal
    from common import ours, session_env

    from asciinema.redact_presets import PRESETS

    work = Path(tempfile.mkdtemp(prefix="asciinema-bench-redact-"))
    source = work / "output.txt"
    text = make_output(args.kind, int(args.size * 1_000_000), args.secret_every, args.seed)
    source.write_text(text)
    base = ours(args.pyz)
    env = session_env(work, base)
    presets = [a for name in PRESETS for a in ("--redact-preset", name)]
    variants = {"no redaction": [], "all presets": presets}
    print(f"output: {source.stat().st_size / 1e6:.1f} MB ({args.kind}), {len(text) // args.secret_every} secrets; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    runs: Dict[str, List[Tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(args.repeat):
        for name, flags in variants.items():
            argv = base + ["rec", "-q", "--overwrite", "--headless", *flags, "-c", f"cat {source}", str(work / "x.cast")]
            seconds, _, cpu = run_with_terminal(argv, env, str(work))
            runs[name].append((seconds, cpu))
    cast = (work / "x.cast").read_text()
    assert "AKIAIOSFODNN7EXAMPLE" not in cast and "192.168.1.20" not in cast, "a secret got through"
    best, median, cpu = {}, {}, {}
    for name, rs in runs.items():
        best[name] = min(r[0] for r in rs)
        median[name] = statistics.median(r[0] for r in rs)
        cpu[name] = min(r[1] for r in rs)
        print(f"  {name:<14} {best[name]:6.2f} s best, {median[name]:6.2f} s median of {args.repeat}   "
              f"CPU {cpu[name]:6.2f} s   all: {' '.join(f'{r[0]:.2f}' for r in rs)}", flush=True)
    none, every = "no redaction", "all presets"
    print(f"all presets vs none: {best[none] / best[every]:.2f}x as fast (best), {median[none] / median[every]:.2f}x "
          f"(median), CPU {cpu[none] / cpu[every]:.2f}x (target >= 0.8x); load average {os.getloadavg()[0]:.2f}")
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=float, default=64.0, help="output size in MB (default 64)")
    ap.add_argument("--chunk", type=int, default=4096, help="characters per read (default 4096)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--secret-every", type=int, default=1 << 20, metavar="CHARS",
                    help="put a secret in after this many characters of output (default 1 MiB)")
    ap.add_argument("--kind", choices=["log", "base64", "source"], default="log",
                    help="coloured logs, listings and diagnostics (default), base64 text as bench_rec.py records, "
                         "or Python source highlighted as a pager shows it")
    ap.add_argument("--rec", action="store_true", help="time rec end to end instead of the filter alone")
    ap.add_argument("--pyz", help="with --rec: time this archive instead of the source tree")
    args = ap.parse_args()
    if args.rec:
        rec_end_to_end(args)
        return

    from asciinema.asciicast import make_event
    from asciinema.redact import Patterns, RedactFilter
    from asciinema.redact_presets import PRESETS

    text = make_output(args.kind, int(args.size * 1_000_000), args.secret_every, args.seed)
    nbytes = len(text.encode("utf-8"))
    events = [make_event(i * 1000, "o", text[i:i + args.chunk]) for i in range(0, len(text), args.chunk)]
    print(f"output: {nbytes / 1e6:.1f} MB, {len(events)} reads of {args.chunk} characters, "
          f"{len(text) // args.secret_every} secrets")

    def none() -> None:
        out = []
        for event in events:
            out.append(event)

    def run(patterns: Patterns) -> Callable[[], None]:
        def go() -> None:
            f = RedactFilter(patterns)
            out = []
            for event in events:
                out.extend(f.feed(event))
            out.extend(f.flush())
            assert sum(len(e[2]) for e in out) >= len(text) - 100 * len(events)
        return go

    for name, fn in [("none", none), ("--redact hunter[0-9]+", run(Patterns(["hunter[0-9]+"]))),
                     ("--redact [h]unter[0-9]+", run(Patterns(["[h]unter[0-9]+"]))),
                     ("all presets", run(Patterns([], list(PRESETS))))]:
        seconds = best_of(args.repeat, fn)
        print(f"{name:24s} {nbytes / 1e6 / seconds:9.1f} MB/s  ({seconds:.3f} s, {seconds * 64e6 / nbytes:.2f} s per 64 MB)")


if __name__ == "__main__":
    main()
