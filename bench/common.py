"""Helpers shared by the benchmarks: locating our CLI and the reference, timing commands."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--pyz", help="benchmark this archive instead of the source tree")
    p.add_argument("--ref", default=os.environ.get("ASCIINEMA_REF") or str(ROOT / ".venv-ref" / "bin" / "asciinema"),
                   help="asciinema 2.4.0 executable")
    p.add_argument("--repeat", type=int, default=3, help="runs per command; the best is kept")
    return p


def ours(pyz: Optional[str]) -> List[str]:
    return [sys.executable, str(Path(pyz).resolve())] if pyz else [sys.executable, str(ROOT / "asciinema")]


def warm_code_cache(argvs: Sequence[Sequence[str]], env: dict) -> dict:
    """``env`` with a compiled-code cache of our own, filled by running ``argvs`` once.

    The archive keeps its compiled modules in $XDG_CACHE_HOME (asciinema/bytecode_cache.py),
    so from the second run on a user's start-up has no compiling; this is that state.
    PYTHONDONTWRITEBYTECODE, which some machines set, would keep the cache empty.
    """
    import tempfile

    env = dict(env, XDG_CACHE_HOME=tempfile.mkdtemp(prefix="asciinema-bench-cache-"))
    warm = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for argv in argvs:
        subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=warm, timeout=60)
    return env


def cold_env(env: dict) -> dict:
    """``env`` where the archive finds no compiled-code cache and writes none: a first run."""
    return dict(env, XDG_CACHE_HOME="/nonexistent/asciinema-bench", PYTHONDONTWRITEBYTECODE="1")


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.setdefault("ASCIINEMA_CONFIG_HOME", "/tmp/asciinema-bench-config")
    return env


def timed(argv: Sequence[str], *, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
          env: Optional[dict] = None) -> Tuple[float, int]:
    """Wall time of one run, and the peak RSS (KiB) of the children so far."""
    start = time.perf_counter()
    subprocess.run(list(argv), stdout=stdout, stdin=stdin, stderr=subprocess.DEVNULL,
                   env=env or clean_env(), check=True)
    elapsed = time.perf_counter() - start
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def best(argv: Sequence[str], repeat: int, **kw) -> float:  # type: ignore[no-untyped-def]
    return min(timed(argv, **kw)[0] for _ in range(repeat))


def check_ref(path: str) -> None:
    if not os.path.exists(path):
        sys.exit(f"asciinema 2.4.0 not found at {path}; run `make test` (or pass --ref)")


def session_env(work: Path, base: Sequence[str]) -> dict:
    """The environment for timing rec/stream/session runs of ``base`` (our command) in
    ``work``: ``cat`` as the terminal (it answers no probe), /bin/sh, no notifications, and
    a warm compiled-code cache."""
    env = clean_env()
    env["TERM"] = "dumb"
    env["SHELL"] = "/bin/sh"
    (work / "config").mkdir(exist_ok=True)
    (work / "config" / "config.toml").write_text("[notifications]\nenabled = false\n")
    env["ASCIINEMA_CONFIG_HOME"] = str(work / "config")
    return warm_code_cache([list(base) + ["rec", "-q", "--overwrite", "--headless", "-c", "true", str(work / "w.cast")]], env)


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """The shortest of ``repeat`` timed calls of ``fn`` (s), in this process."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
