"""cat, convert v2→v3 and convert -f raw of generated 500,000-event casts, against asciinema 2.4.0's cat.

    python3 bench/bench_cat_convert.py [--pyz asciinema.pyz] [--repeat N] [--cast ascii|nonascii]

asciinema 2.4.0's `cat` reads a v2 cast and writes its output (raw terminal text); ours
joins two halves of the same kind of cast (500,000 events in all) and writes a cast,
`convert` writes v3 and `convert -f raw` writes what 2.4.0's `cat` writes. Two casts:

* ascii: words, colours and CR LF, with non-ASCII letters written as JSON ``\\uXXXX``
  escapes (35 bytes an event);
* nonascii: 40-character events mixing ``✓``, ``é``, ``ESC[0m`` and letters, written as
  asciinema writes them, UTF-8 with only control characters escaped (72 bytes an event).

Each round runs every command once, in turn, so that the load of the machine weighs on all
alike; the best of ``--repeat`` rounds is the figure of merit, and the median shows the
spread. The figure is events per second; the targets are ours/reference >= 2. The CPU
seconds (user + system, of all a command's processes) vary less with the load than wall
time; ours are those of both processes of a conversion, which overlap on two cores.

Run it with the interpreter of a virtual environment, as asciinema 2.4.0 is run: a base
interpreter may import more at every start (``.pth`` files of its site-packages).
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from common import check_ref, clean_env, ours, parser, timed, warm_code_cache

EVENTS = 500_000
#: what the events of the nonascii cast are made of
NONASCII_TOKENS = ["✓", "é", "\x1b[0m"] + list("abcdefghijklmnopqrstuvwxyz")


def ascii_data(rng: random.Random) -> str:
    words = ["ls", "-la", "\x1b[32mok\x1b[0m", "build", "src/", "żółć", "12", "\r\n", "done", "$ "]
    return " ".join(rng.choice(words) for _ in range(rng.randint(1, 3)))


def nonascii_data(rng: random.Random) -> str:
    parts, n = [], 0
    while n < 40:
        token = rng.choice(NONASCII_TOKENS)
        if n + len(token) > 40:
            token = "x"
        parts.append(token)
        n += len(token)
    return "".join(parts)


CASTS: Dict[str, Tuple[Callable[[random.Random], str], bool]] = {
    "ascii": (ascii_data, True),  # (data, ensure_ascii)
    "nonascii": (nonascii_data, False),
}


def generate(path: Path, kind: str, events: int, seed: int) -> None:
    make_data, ensure_ascii = CASTS[kind]
    rng = random.Random(seed)
    t = 0.0
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"version": 2, "width": 80, "height": 24, "timestamp": 1700000000}\n')
        for _ in range(events):
            t += rng.randint(1, 20000) / 1e6
            f.write(f'[{t:.6f}, "o", {json.dumps(make_data(rng), ensure_ascii=ensure_ascii)}]\n')


def bench_cast(kind: str, d: Path, args) -> None:  # type: ignore[no-untyped-def]
    whole, half1, half2 = d / f"{kind}.cast", d / f"{kind}-a.cast", d / f"{kind}-b.cast"
    generate(whole, kind, EVENTS, 1)
    generate(half1, kind, EVENTS // 2, 2)
    generate(half2, kind, EVENTS // 2, 3)
    size = whole.stat().st_size
    print(f"{kind}: {EVENTS} events, {size / 1e6:.1f} MB ({size / EVENTS:.0f} bytes/event)")
    # a user's every run after the first: the archive's compiled code is cached
    env = warm_code_cache([ours(args.pyz) + ["convert", "--overwrite", str(half1), str(d / "warm.cast")],
                           ours(args.pyz) + ["cat", str(half1), str(half2)]], clean_env())

    def sink(to: str):  # type: ignore[no-untyped-def]
        return lambda: open(os.devnull if to == "/dev/null" else d / "sink.out", "wb")

    null = lambda: open(os.devnull, "wb")  # noqa: E731
    # stdout to /dev/null flatters 2.4.0, which flushes after every event; a file is
    # where `cat ... > out` really writes. Both are shown.
    commands = {
        "2.4.0 cat >/dev/null": ([args.ref, "cat", str(whole)], sink("/dev/null"), None),
        "2.4.0 cat >file": ([args.ref, "cat", str(whole)], sink("file"), None),
        "cat >/dev/null": (ours(args.pyz) + ["cat", str(half1), str(half2)], sink("/dev/null"), env),
        "cat >file": (ours(args.pyz) + ["cat", str(half1), str(half2)], sink("file"), env),
        "convert v2->v3": (ours(args.pyz) + ["convert", "--overwrite", str(whole), str(d / "out.cast")], null, env),
        "convert -f raw": (ours(args.pyz) + ["convert", "--overwrite", "-f", "raw", str(whole), str(d / "out.raw")],
                           null, env),
    }
    times: Dict[str, List[float]] = {label: [] for label in commands}
    cpu: Dict[str, List[float]] = {label: [] for label in commands}
    for _ in range(args.repeat):
        for label, (argv, out, run_env) in commands.items():
            before = children_cpu()
            times[label].append(timed(argv, stdout=out(), env=run_env)[0])
            cpu[label].append(children_cpu() - before)
    best = {label: min(t) for label, t in times.items()}
    print(f"  {'command':<22}{'best s':>8}{'median s':>10}{'CPU s':>7}{'events/s':>12}"
          f"{'vs 2.4.0 >/dev/null':>21}{'>file':>8}")
    for label, t in times.items():
        print(f"  {label:<22}{best[label]:>8.3f}{statistics.median(t):>10.3f}{min(cpu[label]):>7.2f}"
              f"{EVENTS / best[label]:>12,.0f}{best['2.4.0 cat >/dev/null'] / best[label]:>20.2f}x"
              f"{best['2.4.0 cat >file'] / best[label]:>7.2f}x")
    # cat against 2.4.0 writing to the same sink; convert, which writes a file, against both
    pairs = [("cat >/dev/null", ">/dev/null"), ("cat >file", ">file"), ("convert v2->v3", ">/dev/null"),
             ("convert v2->v3", ">file"), ("convert -f raw", ">/dev/null"), ("convert -f raw", ">file")]
    print(f"  ratios, best of {args.repeat} (target >= 2.00x): " + ", ".join(
        f"{label} {best['2.4.0 cat ' + ref] / best[label]:.2f}x" + ("" if label.startswith("cat") else f" (vs {ref})")
        for label, ref in pairs))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--cast", choices=sorted(CASTS), action="append", help="only this cast (default: both)")
    args = p.parse_args()
    check_ref(args.ref)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.cast or list(CASTS):
            bench_cast(kind, Path(tmp), args)


if __name__ == "__main__":
    main()
