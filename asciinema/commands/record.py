"""``asciinema rec FILE``: record a terminal session to a file (§4).

Wiring only: locale check, log file, config, terminal, header, output file, status lines,
then :class:`asciinema.session.Session`. ``stream`` and ``session`` reuse the helpers here
(:func:`check_locale`, :func:`open_log`, :func:`prepare_terminal`, :func:`build_header`, :func:`info`,
:func:`make_hotkeys`) with other outputs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, Dict, Mapping, Optional, Tuple

from asciinema import status
from asciinema.asciicast import Header
from asciinema.asciicast.header import os_text
from asciinema.config import Config, SessionConfig, load
from asciinema.errors import AsciinemaError, OutputError
from asciinema.hashing import session_id
from asciinema.keys import Hotkeys
from asciinema.session_terminal import SessionTerminal, WindowSize

ACCEPTED_CODESETS = ("US-ASCII", "UTF-8")


def parse_window_size(value: str) -> WindowSize:
    """``COLSxROWS``, ``COLSx`` or ``xROWS`` (argparse ``type``)."""
    if "x" not in value:
        raise argparse.ArgumentTypeError(
            f"invalid window size {value!r}: expected COLSxROWS, COLSx or xROWS (as in 80x24)"
        )
    cols_s, _, rows_s = value.partition("x")
    if not cols_s and not rows_s:
        raise argparse.ArgumentTypeError("cannot parse integer from empty string")
    return _dimension(cols_s), _dimension(rows_s)


def parse_seconds(value: str) -> float:
    """A non-negative, finite number of seconds (argparse ``type``)."""
    from asciinema.config import NotANumber, non_negative_number

    try:
        return non_negative_number(value)
    except NotANumber:
        raise argparse.ArgumentTypeError(f"invalid number: {value!r}") from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative number: {value!r}") from None


def _dimension(text: str) -> Optional[int]:
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise argparse.ArgumentTypeError("invalid digit found in string")
    n = int(text)
    if n > 65535:
        raise argparse.ArgumentTypeError("number too large to fit in target type")
    if n == 0:
        raise argparse.ArgumentTypeError("window size must not be zero")
    return n


def check_locale(env: Mapping[str, str]) -> None:
    """Refuse encodings other than ASCII and UTF-8 (§3.1.1)."""
    import locale

    try:
        locale.setlocale(locale.LC_ALL, "")
    except locale.Error:
        pass
    try:
        codeset = locale.nl_langinfo(locale.CODESET)
    except AttributeError:  # no nl_langinfo (Windows): Python does its own decoding
        return
    if codeset == "ANSI_X3.4-1968":
        codeset = "US-ASCII"
    if codeset.upper().replace("UTF8", "UTF-8") in ACCEPTED_CODESETS:
        return
    source = ""
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        if env.get(name):
            source = f"{name}={env[name]}"
            break
    raise AsciinemaError(
        f"asciinema requires ASCII or UTF-8 character encoding. The environment ({source}) "
        f'specifies the character set "{codeset}". Check the output of `locale` command.'
    )


def open_log(path: Optional[str]) -> Callable[[], None]:
    """Append log lines to ``path`` (``--log-file``); nothing is logged without it.

    Returns a check to call when the session is over: it raises an OutputError if the log
    could not be written. The first failed write stops logging (logging would otherwise
    print a traceback for every line, over the session); the recording goes on.
    """
    if not path:
        return lambda: None
    import logging

    class Handler(logging.FileHandler):
        error: Optional[BaseException] = None

        def emit(self, record: logging.LogRecord) -> None:
            if self.error is None:
                super().emit(record)

        def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802
            self.error = sys.exc_info()[1]
            try:
                self.close()
            except Exception:  # closing flushes, and the flush fails again
                pass

    try:
        handler = Handler(path, mode="a", encoding="utf-8")
    except OSError as e:
        raise AsciinemaError(f"cannot open log file {path}: {e.strerror or e}") from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("asciinema")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def check() -> None:
        e = handler.error
        if e is not None:
            reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
            raise OutputError(f"can't write log file {path}: {reason}")

    return check


def make_hotkeys(session: SessionConfig) -> Hotkeys:
    return Hotkeys(prefix=session.prefix_key, pause=session.pause_key, marker=session.add_marker_key)


def _stdin_input() -> Optional[int]:
    """fd 0 when it is a pipe, file or /dev/null (keys then come from there), else None."""
    try:
        os.fstat(0)
    except OSError:
        return None
    return None if os.isatty(0) else 0


def _stdout_fd() -> Optional[int]:
    try:
        os.fstat(1)
    except OSError:
        return None
    return 1


def prepare_terminal(
    headless: bool, override: Optional[WindowSize], env: Mapping[str, str]
) -> Tuple[SessionTerminal, Optional[int]]:
    """The session's terminal and, when stdin is not a terminal, the fd to read keys from.

    With a terminal, output goes to ``/dev/tty`` and keys come from it in raw mode (or from
    stdin when that is a pipe), and the terminal is asked for its version and colours for
    the header (§3.2; skipped for TERM=dumb/linux and in GNU screen, at most a second). Without one (``--headless``, CI, no controlling terminal)
    output goes to stdout when it is not a terminal, or is shown where stdout is in the
    automatic case, and the size is 80x24 unless ``--window-size`` says otherwise.
    """
    from asciinema.terminal_probe import probe, should_probe
    from asciinema.ttyctl import open_tty

    stdin_fd = _stdin_input()
    if not headless:
        tty = open_tty()
        if tty is not None:
            replies = probe(tty) if should_probe(env) else None
            terminal = SessionTerminal.host(tty, env.get("TERM"), read_keys=stdin_fd is None, override=override)
            if replies is not None:
                terminal.term_version, terminal.theme = replies.version, replies.theme()
            return terminal, stdin_fd
        info("TTY not available, recording in headless mode")
    out = _stdout_fd()
    if headless and out is not None and os.isatty(out):
        out = None  # --headless: don't use the terminal
    return SessionTerminal.headless(out, override), stdin_fd


def captured_env(names: str, env: Mapping[str, str]) -> Dict[str, str]:
    """The variables named in the comma list ``names`` that are set (no trimming, §3.4).

    Bytes that are not UTF-8 in their values are recorded as U+FFFD.
    """
    return {os_text(name): os_text(env[name]) for name in names.split(",") if name and name in env}


def build_header(
    terminal: SessionTerminal,
    env: Mapping[str, str],
    config: SessionConfig,
    *,
    command: Optional[str],
    title: Optional[str],
    idle_time_limit: Optional[float],
    capture_env: Optional[str],
) -> Header:
    cols, rows = terminal.size()
    return Header(
        cols=cols,
        rows=rows,
        term_type=terminal.term_type if terminal.tty else None,
        term_version=terminal.term_version,
        theme=terminal.theme,
        timestamp=int(time.time()),
        idle_time_limit=idle_time_limit,
        command=None if command is None else os_text(command),
        title=None if title is None else os_text(title),
        env=captured_env(_first_set(capture_env, config.capture_env, "SHELL"), env),
    )


def _first_set(*values: Optional[str]) -> str:
    # an empty --capture-env "" is set: it captures nothing
    return next(v for v in values if v is not None)


def run(args: argparse.Namespace) -> int:
    from asciinema.notifier import make_notifier
    from asciinema.outputs import FileOutput, open_recording_file
    from asciinema.session import Session, SessionSpec

    env: Dict[str, str] = dict(os.environ)
    check_locale(env)
    check_log = open_log(args.log_file)
    config: Config = load(env)
    sc = config.session
    command = args.command if args.command is not None else sc.command
    idle = args.idle_time_limit if args.idle_time_limit is not None else sc.idle_time_limit
    hotkeys = make_hotkeys(sc)
    notifier = make_notifier(env, config.notifications.enabled, config.notifications.command)

    terminal, stdin_fd = prepare_terminal(args.headless, args.window_size, env)
    try:
        header = build_header(
            terminal, env, sc, command=command, title=args.title, idle_time_limit=idle,
            capture_env=args.capture_env,
        )
        target = open_recording_file(args.file, fmt=args.output_format, append=args.append, overwrite=args.overwrite)
        child_env = dict(env)
        child_env["ASCIINEMA_REC"] = "1"
        child_env["ASCIINEMA_SESSION"] = session_id(os.getpid())
        spec = SessionSpec(
            command=command or env.get("SHELL") or "/bin/sh",
            env=child_env,
            header=header,
            capture_input=bool(args.capture_input or sc.capture_input),
            hotkeys=hotkeys,
            input_fd=stdin_fd,
        )
        info("asciinema session started")
        info(f"Recording to {args.file}")
        if command is None:
            info("Press <ctrl+d> or type 'exit' to end")
        _flush_stdout()
        result = Session(spec, terminal, [FileOutput(target)], notifier).run()
    finally:
        terminal.close()
    if result.error is not None:
        # the program ran to its end; the recording did not
        error = OutputError(result.error)
        if args.return_ and result.status != 0:
            error.exit_code = result.status
        raise error
    info("asciinema session ended")
    info(f"Recorded to {args.file}")
    check_log()
    return result.status if args.return_ else 0


def info(message: str) -> None:
    """A ``:::`` status line; one that can't be written (``rec ... | head -1``) is dropped.

    The session does not depend on anyone reading its status lines, so a closed stdout
    costs them and nothing else; stdout then goes to /dev/null so that nothing tries again.
    """
    try:
        status.info(message)
    except (OSError, OutputError):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)
        except OSError:
            pass


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except (OSError, ValueError, AttributeError):
        pass
