"""Redaction speed: the redaction filter alone, in this process, on realistic terminal output.

    python3 bench/bench_redact.py [--size MB] [--chunk BYTES] [--repeat N]

Generates the same deterministic coloured output as bench_txt.py (log lines with SGR
colours, ``ls --color`` listings, compiler diagnostics with ``ESC[K``), or with ``--kind
base64`` the lines of base64 text that bench_rec.py records, with a secret of one preset's
kind or another every ``--secret-every`` characters (1 MiB), cuts it into reads of
``--chunk`` characters (the session reads up to 64 KiB at a time under bulk output; a pty
gives 4 KiB or less when the program writes slowly) and measures, best of ``--repeat``
runs, the filter's ``feed`` of every read and its final ``flush``:

(a) none: no filter at all (what a session without --redact does: only the loop);
(b) hold only: the filter with no pattern, i.e. escape parsing and holding back;
(c) all presets: ``--redact-preset`` of every preset.

It prints each rate in MB/s (UTF-8 bytes of output per second), the ratio (c)/(b), and
the cost of (c) in seconds per 64 MB. The issue's target (``rec`` with every preset at
least 0.8x as fast as without) is end to end: compare that cost with bench_rec.py's time
for 64 MB.
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
import time
from pathlib import Path
from typing import Callable, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_txt import make_stream  # noqa: E402

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
    rng = random.Random(seed)
    out: List[str] = []
    for i in range(0, len(text), every):
        out.append(text[i:i + every])
        out.append(" " + rng.choice(SECRETS) + "\r\n")
    return "".join(out)


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=float, default=64.0, help="output size in MB (default 64)")
    ap.add_argument("--chunk", type=int, default=4096, help="characters per read (default 4096)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--secret-every", type=int, default=1 << 20, metavar="CHARS",
                    help="put a secret in after this many characters of output (default 1 MiB)")
    ap.add_argument("--kind", choices=["log", "base64"], default="log",
                    help="coloured logs, listings and diagnostics (default), or base64 text as bench_rec.py records")
    args = ap.parse_args()

    from asciinema.asciicast import make_event
    from asciinema.redact import Patterns, RedactFilter
    from asciinema.redact_presets import PRESETS

    size = int(args.size * 1_000_000)
    if args.kind == "base64":
        plain = base64.encodebytes(random.Random(args.seed).randbytes(size * 3 // 4)).decode().replace("\n", "\r\n")
    else:
        plain = make_stream(size, args.seed)
    text = with_secrets(plain, args.secret_every, args.seed)
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

    results = {}
    for name, fn in [("none", none), ("hold only", run(Patterns())), ("all presets", run(Patterns([], list(PRESETS))))]:
        seconds = best_of(args.repeat, fn)
        results[name] = seconds
        print(f"{name:12s} {nbytes / 1e6 / seconds:9.1f} MB/s  ({seconds:.3f} s)")
    print(f"all presets / hold only: {results['hold only'] / results['all presets']:.2f}x")
    print(f"cost of all presets: {results['all presets'] * 64e6 / nbytes:.2f} s per 64 MB of output")


if __name__ == "__main__":
    main()
