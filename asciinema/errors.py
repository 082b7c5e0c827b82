"""The one error hierarchy.

Every failure a user can cause is an :class:`AsciinemaError` carrying a message meant for
people. Only :func:`asciinema.cli.main` catches them, prints ``Error: <message>`` and picks
the exit status.
"""

from __future__ import annotations


class AsciinemaError(Exception):
    """A failure with a message for the user; exit status 1."""

    exit_code = 1


class UsageError(AsciinemaError):
    """Wrong arguments that argparse could not catch; exit status 2, like argparse."""

    exit_code = 2


class LoadError(AsciinemaError):
    """A recording could not be opened or read."""


class FormatError(LoadError):
    """A recording is malformed; the message names the file and the line."""


class OutputError(AsciinemaError):
    """An output file could not be created or written."""


class ConfigError(AsciinemaError):
    """A configuration file or value is invalid."""


class NetworkError(AsciinemaError):
    """A download or server request failed."""


class Terminated(AsciinemaError):
    """Ended by a signal (SIGTERM, SIGHUP) after cleaning up: exit status 128 + its number."""

    def __init__(self, signum: int) -> None:
        import signal

        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        super().__init__(f"terminated by {name}")
        self.exit_code = 128 + signum


class StdoutClosed(OutputError):
    """Whoever read stdout has gone (EPIPE), as when the output is piped into ``head``.

    The command ends quietly, as ``cat`` does: no message, and killed by SIGPIPE.
    """


#: how messages name standard output when it is where a command writes
STDOUT = "<stdout>"


def write_failed(name: str, e: OSError) -> OutputError:
    """The error for a failed write to ``name`` (:data:`STDOUT` for standard output)."""
    reason = e.strerror or str(e) or type(e).__name__
    if name != STDOUT:
        return OutputError(f"can't write {name}: {reason}")
    if isinstance(e, BrokenPipeError):
        return StdoutClosed(stdout_failed(e))
    return OutputError(stdout_failed(e))


def stdout_failed(e: OSError) -> str:
    """The one wording of a failed write to standard output, for every command."""
    return f"can't write to stdout: {e.strerror or e}"
