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


def printable(message: str) -> str:
    """``message`` safe to print as one line: control characters (a newline in a URL, an
    escape sequence in a file name) and the bytes of a name that isn't UTF-8 (which Python
    holds as lone surrogates) are shown as backslash escapes. Newlines at the end, put
    there by the caller, stay."""
    if message.isprintable():
        return message
    body = message.rstrip("\n")
    return "".join(_escape(c) if not c.isprintable() else c for c in body) + message[len(body):]


def _escape(c: str) -> str:
    n = ord(c)
    if 0xDC80 <= n <= 0xDCFF:  # a byte that didn't decode (surrogateescape)
        return f"\\x{n - 0xDC00:02x}"
    return c.encode("unicode_escape").decode("ascii")


def info(message: str) -> None:
    """A status line on stdout; a failed write raises OutputError, but BrokenPipeError (the
    reader gone) as it is, for the command to decide."""
    if not _quiet:
        try:
            print(f"::: {printable(message)}", flush=True)
        except BrokenPipeError:
            raise
        except OSError as e:
            from asciinema.errors import OutputError, stdout_failed

            raise OutputError(stdout_failed(e)) from None


def warning(message: str) -> None:
    if not _quiet:
        try:
            print(f"!!! {printable(message)}", file=sys.stderr, flush=True)
        except OSError:  # nowhere left to say it
            pass
