"""Diagnostic lines: ``::: info`` on stdout, ``!!! warning`` on stderr, and quiet mode.

Errors are not printed here; they belong to :func:`asciinema.cli.main` and are never
suppressed.
"""

from __future__ import annotations

import sys

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def info(message: str) -> None:
    if not _quiet:
        print(f"::: {message}", flush=True)


def warning(message: str) -> None:
    if not _quiet:
        print(f"!!! {message}", file=sys.stderr, flush=True)
