"""Start-up: `python3 asciinema.pyz --version` against bare `python3 -c pass` (target <= 1.6x).

Runs interleaved, many times, and compares medians, for the `python3` on PATH (what a user
types) and for the interpreter running this script, when that is another one. The ratio
depends on the interpreter: one whose site imports packages at every start (.pth files)
has a slow `-c pass`; a bare venv has a fast one, against which even an archive whose
`__main__` only prints is about 1.5x (zipimport and runpy), and argparse alone adds 0.7x.

The archive is timed with its compiled-code cache warm (every run after the first on a
machine) and with none (the first run, or PYTHONDONTWRITEBYTECODE=1 from the start).
Without --pyz it times the source tree.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from typing import Dict, List, Tuple

from common import clean_env, cold_env, ours, parser, timed, warm_code_cache

RUNS = 40


def trivial_archive() -> str:
    """An archive whose __main__ does nothing: the floor of running any zipapp."""
    path = os.path.join(tempfile.mkdtemp(prefix="asciinema-bench-"), "trivial.pyz")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__main__.py", "pass\n")
    return path


def real_python3() -> "str | None":
    """The interpreter behind `python3` on PATH (not a launcher such as a pyenv shim)."""
    found = shutil.which("python3")
    if not found:
        return None
    r = subprocess.run([found, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
    return r.stdout.strip() or None


def main() -> None:
    p = parser(__doc__ or "")
    args = p.parse_args()
    env = clean_env()
    pythons = [real_python3() or sys.executable]
    if os.path.abspath(sys.executable) != os.path.abspath(pythons[0]):  # a venv links to its base
        pythons.append(sys.executable)
    trivial = trivial_archive()
    for python in pythons:
        cli = [python] + ours(args.pyz)[1:]
        warm = warm_code_cache([cli + ["--version"]], env)
        variants: Dict[str, Tuple[List[str], dict]] = {
            "python3 -c pass": ([python, "-c", "pass"], env),
            "python3 trivial.pyz": ([python, trivial], env),
            "python3 -c 'import argparse'": ([python, "-c", "import argparse"], env),
            "asciinema --version": (cli + ["--version"], warm),
            "asciinema --version, cold": (cli + ["--version"], cold_env(env)),
            "asciinema -I --version": ([python, "-I"] + cli[1:] + ["--version"], warm),
            "python3 -I -c pass": ([python, "-I", "-c", "pass"], env),
        }
        times: Dict[str, List[float]] = {k: [] for k in variants}
        for _ in range(RUNS):
            for name, (argv, run_env) in variants.items():
                times[name].append(timed(argv, env=run_env)[0])
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        print(f"{python}:")
        for k, v in med.items():
            print(f"  {k:<30}{v:8.1f} ms")
        base = med["python3 -c pass"]
        floor = med["python3 trivial.pyz"] + med["python3 -c 'import argparse'"] - base
        print(f"  ratio: {med['asciinema --version'] / base:.2f}x (target <= 1.6x); "
              f"no compiled-code cache: {med['asciinema --version, cold'] / base:.2f}x; "
              f"isolated: {med['asciinema -I --version'] / med['python3 -I -c pass']:.2f}x; "
              f"floor (trivial archive + argparse): {floor / base:.2f}x")


if __name__ == "__main__":
    main()
