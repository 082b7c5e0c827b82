"""Start-up: `python3 asciinema.pyz --version` against bare `python3 -c pass` (target <= 1.6x).

Runs interleaved, many times, and compares medians. Without --pyz it times the source tree.
"""

from __future__ import annotations

import statistics
import sys

from common import ours, parser, timed

RUNS = 40


def main() -> None:
    p = parser(__doc__ or "")
    args = p.parse_args()
    variants = {
        "python3 -c pass": [sys.executable, "-c", "pass"],
        "asciinema --version": ours(args.pyz) + ["--version"],
        "python3 -I -c pass": [sys.executable, "-I", "-c", "pass"],
        "asciinema -I --version": [sys.executable, "-I"] + ours(args.pyz)[1:] + ["--version"],
    }
    times = {k: [] for k in variants}  # type: dict
    for _ in range(RUNS):
        for name, argv in variants.items():
            times[name].append(timed(argv)[0])
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    for k, v in med.items():
        print(f"{k:<26}{v:8.1f} ms")
    print(f"ratio: {med['asciinema --version'] / med['python3 -c pass']:.2f}x (target <= 1.6x); "
          f"isolated: {med['asciinema -I --version'] / med['python3 -I -c pass']:.2f}x")


if __name__ == "__main__":
    main()
