"""cat and convert v2→v3 of a generated 500,000-event cast, against asciinema 2.4.0's cat.

asciinema 2.4.0's `cat` reads a v2 cast and writes its output; ours joins two halves of the
same cast (500,000 events in all) and writes a cast, and `convert` writes v3. The figure of
merit is events per second; the targets are ours/reference >= 2.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from common import best, check_ref, clean_env, ours, parser, timed, warm_code_cache

EVENTS = 500_000


def generate(path: Path, events: int, seed: int, start: float = 0.0) -> None:
    rng = random.Random(seed)
    words = ["ls", "-la", "\x1b[32mok\x1b[0m", "build", "src/", "żółć", "12", "\r\n", "done", "$ "]
    t = start
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"version": 2, "width": 80, "height": 24, "timestamp": 1700000000}\n')
        for _ in range(events):
            t += rng.randint(1, 20000) / 1e6
            data = " ".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
            f.write(f'[{t:.6f}, "o", {__import__("json").dumps(data)}]\n')


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    check_ref(args.ref)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        whole, half1, half2 = d / "whole.cast", d / "a.cast", d / "b.cast"
        generate(whole, EVENTS, 1)
        generate(half1, EVENTS // 2, 2)
        generate(half2, EVENTS // 2, 3)
        size = whole.stat().st_size
        print(f"input: {EVENTS} events, {size / 1e6:.1f} MB ({size / EVENTS:.0f} bytes/event)")
        # a user's every run after the first: the archive's compiled code is cached
        env = warm_code_cache([ours(args.pyz) + ["convert", "--overwrite", str(half1), str(d / "warm.cast")],
                               ours(args.pyz) + ["cat", str(half1), str(half2)]], clean_env())
        conv_t = best(ours(args.pyz) + ["convert", "--overwrite", str(whole), str(d / "out.cast")], args.repeat,
                      env=env)
        # stdout to /dev/null flatters 2.4.0, which flushes after every event; a file is
        # where `cat ... > out` really writes. Both are shown.
        for sink in ("/dev/null", "file"):
            def out():  # type: ignore[no-untyped-def]
                return open(os.devnull if sink == "/dev/null" else d / "sink.out", "wb")

            ref_t = min(timed([args.ref, "cat", str(whole)], stdout=out())[0] for _ in range(args.repeat))
            cat_t = min(timed(ours(args.pyz) + ["cat", str(half1), str(half2)], stdout=out(), env=env)[0]
                        for _ in range(args.repeat))
            rows = [("asciinema 2.4.0 cat", ref_t), ("ours cat (2 halves)", cat_t), ("ours convert v2->v3", conv_t)]
            print(f"stdout to {sink}:")
            print(f"  {'command':<24}{'seconds':>10}{'events/s':>14}{'vs 2.4.0':>10}")
            for label, t in rows:
                print(f"  {label:<24}{t:>10.3f}{EVENTS / t:>14,.0f}{ref_t / t:>9.2f}x")
            print(f"  ratio cat: {ref_t / cat_t:.2f}x, convert: {ref_t / conv_t:.2f}x (target >= 2.00x)")


if __name__ == "__main__":
    main()
