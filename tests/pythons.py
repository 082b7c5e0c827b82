"""The Python interpreters this machine has, one per minor version.

The Makefile's test matrix (every Python from 3.9 up) and tests/test_build.py (the archive's
one-line refusal on Pythons older than 3.9) both find interpreters here, the same way:
pyenv's versions first ($PYENV_ROOT/versions/*/bin/python), then pythonX.Y on the PATH.
pyenv's shims are passed over: a shim runs one of those versions, or fails when that version
is not the selected one. Each candidate is asked for its version, so a broken or foreign
launcher is left out, and a version found twice is kept once (the first found).

    python3 tests/pythons.py [--min X.Y] [--max X.Y] [--except PYTHON]

prints the paths, oldest version first, one a line.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

Version = Tuple[int, int]

_NAME = re.compile(r"python\d\.\d+")
_PROBE = "import sys; sys.stdout.write('%d.%d' % sys.version_info[:2])"


def pyenv_root() -> str:
    return os.environ.get("PYENV_ROOT") or os.path.join(os.path.expanduser("~"), ".pyenv")


def candidates(path: Optional[str] = None, root: Optional[str] = None) -> List[str]:
    """Interpreter paths to try, in order of preference (not yet checked)."""
    root = root or pyenv_root()
    found = sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python")))
    shims = os.path.realpath(os.path.join(root, "shims"))
    dirs = (os.environ.get("PATH", "") if path is None else path).split(os.pathsep)
    for d in dirs:
        if not d or os.path.realpath(d) == shims:
            continue
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            exe = os.path.join(d, name)
            if _NAME.fullmatch(name) and os.access(exe, os.X_OK) and not os.path.isdir(exe):
                found.append(exe)
    return found


def versions_of(pythons: Sequence[str]) -> List[Optional[Version]]:
    """Each interpreter's (major, minor), or None where it does not run; asked all at once."""
    procs: List[Optional["subprocess.Popen[bytes]"]] = []
    for exe in pythons:
        try:
            procs.append(subprocess.Popen([exe, "-c", _PROBE], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
        except OSError:
            procs.append(None)
    out: List[Optional[Version]] = []
    for proc in procs:
        if proc is None:
            out.append(None)
            continue
        try:
            text, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            out.append(None)
            continue
        m = re.fullmatch(rb"(\d+)\.(\d+)", text.strip())
        out.append((int(m.group(1)), int(m.group(2))) if proc.returncode == 0 and m else None)
    return out


def find(minimum: Version = (0, 0), maximum: Version = (99, 99),
         paths: Optional[Sequence[str]] = None) -> List[Tuple[Version, str]]:
    """(version, path) of one interpreter per minor version within the bounds, oldest first."""
    unique: List[str] = []
    seen = set()
    for exe in candidates() if paths is None else paths:
        real = os.path.realpath(exe)
        if real not in seen:
            seen.add(real)
            unique.append(exe)
    by_version: Dict[Version, str] = {}
    for exe, v in zip(unique, versions_of(unique)):
        if v is not None and minimum <= v <= maximum and v not in by_version:
            by_version[v] = exe
    return sorted(by_version.items())


def _version_arg(text: str) -> Version:
    major, minor = text.split(".")
    return int(major), int(minor)


def main(argv: Sequence[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(description="List this machine's Pythons, one per minor version.")
    p.add_argument("--min", type=_version_arg, default=(0, 0), help="oldest version to list (X.Y)")
    p.add_argument("--max", type=_version_arg, default=(99, 99), help="newest version to list (X.Y)")
    p.add_argument("--except", dest="skip", metavar="PYTHON",
                   help="leave out the version of this interpreter (e.g. the default one)")
    args = p.parse_args(argv)
    skip = versions_of([args.skip])[0] if args.skip else None
    for v, exe in find(args.min, args.max):
        if v != skip:
            print(exe)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
