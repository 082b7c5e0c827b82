"""Start-up: `python3 asciinema.pyz --version` against bare `python3 -c pass` (target <= 1.6x).

Runs interleaved, many times, and compares medians, for the `python3` on PATH (what a user
types) and for the interpreter running this script, when that is another one. The ratio
depends on the interpreter: one whose site imports packages at every start (.pth files)
has a slow `-c pass`; a bare venv has a fast one, against which even an archive whose
`__main__` only prints is about 1.5x (zipimport and runpy), and argparse alone adds 0.7x.

The archive is timed with its compiled-code cache warm (every run after the first on a
machine) and with none (the first run, or PYTHONDONTWRITEBYTECODE=1 from the start).
Without --pyz it times the source tree.

With --pyz, a second table times that cache, cold and warm side by side, on what imports the
vendored packages: `convert -f txt` of a small cast (pyte, wcwidth), and the archive's own
start-up (its `__main__.py`, bytecode cache included) with `asciinema.cli` replaced by a
`main` that only imports `websockets.asyncio.server`, since no command imports websockets
yet. It shows wall time and the child's CPU time: compiling is CPU work, which a machine
busy with other processes stretches less. `--before OTHER.pyz` times another archive the
same way, interleaved, and prints the ratios between the two.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

from common import clean_env, cold_env, ours, parser, timed, warm_code_cache

RUNS = 40
CACHE_RUNS = 20
SMALL_CAST = str(Path(__file__).resolve().parent.parent / "tests" / "casts" / "full-v3.cast")


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


def websockets_start(python: str, pyz: str) -> List[str]:
    """The archive started as `python3 asciinema.pyz` starts it, with a CLI that imports websockets."""
    cli = "def main():\n    import websockets.asyncio.server\n    return 0\n"
    return [python, "-c", (
        "import runpy, sys, types; cli = types.ModuleType('asciinema.cli'); "
        f"exec({cli!r}, cli.__dict__); sys.modules['asciinema.cli'] = cli; "
        f"sys.argv = [{pyz!r}]; runpy.run_path({pyz!r}, run_name='__main__')"
    )]


def wall_and_cpu(argv: List[str], env: dict) -> Tuple[float, float]:
    """Seconds of wall time and of the child's user+sys time for one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = timed(argv, env=env)[0]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def cache_table(python: str, archives: Dict[str, str], env: dict) -> None:
    """Cold and warm compiled-code cache for commands that import the vendored packages."""
    commands: Dict[str, Dict[str, List[str]]] = {
        label: {
            "--version": [python, pyz, "--version"],
            "convert -f txt": [python, pyz, "convert", SMALL_CAST, "-f", "txt", "-"],
            "import websockets": websockets_start(python, pyz),
        }
        for label, pyz in archives.items()
    }
    variants: Dict[Tuple[str, str, str], Tuple[List[str], dict]] = {}
    for label, argvs in commands.items():
        warm = warm_code_cache(list(argvs.values()), env)  # each archive a cache of its own
        for name, argv in argvs.items():
            variants[label, name, "cold"] = (argv, cold_env(env))
            variants[label, name, "warm"] = (argv, warm)
    times: Dict[Tuple[str, str, str], List[Tuple[float, float]]] = {k: [] for k in variants}
    for _ in range(CACHE_RUNS):
        for key, (argv, run_env) in variants.items():
            times[key].append(wall_and_cpu(argv, run_env))
    med = {k: tuple(statistics.median(t[i] for t in v) * 1000 for i in (0, 1)) for k, v in times.items()}
    print(f"  compiled-code cache (median of {CACHE_RUNS} runs, ms):")
    print(f"    {'':<28}{'wall: cold':>10}{'warm':>8}{'ratio':>7}  {'CPU: cold':>10}{'warm':>8}{'ratio':>7}")
    for label, argvs in commands.items():
        for name in argvs:
            row = f"    {label + ' ' + name:<28}"
            for i in (0, 1):
                cold, warm = med[label, name, "cold"][i], med[label, name, "warm"][i]
                row += f"{cold:10.1f}{warm:8.1f}{cold / warm:6.2f}x "
            print(row.rstrip())
    if "before" in archives:  # the same commands, another build
        for name in commands["pyz"]:
            row = f"    pyz/before {name:<17}"
            for i in (0, 1):
                cold, warm = (med["pyz", name, t][i] / med["before", name, t][i] for t in ("cold", "warm"))
                row += f"{cold:9.2f}x{warm:7.2f}x{'':7}  "
            print(row.rstrip())


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--before", metavar="PYZ", help="with --pyz: time this archive's cache too, for comparison")
    args = p.parse_args()
    if args.before and not args.pyz:
        p.error("--before needs --pyz")
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
        if args.pyz:
            archives = {"pyz": os.path.abspath(args.pyz)}
            if args.before:
                archives["before"] = os.path.abspath(args.before)
            cache_table(python, archives, env)


if __name__ == "__main__":
    main()
