"""``rec``, ``stream`` and ``session``: one command, three presets (as asciinema 3 has it).

``session`` records to a file (``-o``) and/or streams (``-l`` to viewers of a built-in HTTP
server; ``-r`` to an asciinema server); ``rec FILE`` is ``session -o FILE``
with ``ASCIINEMA_REC=1`` set for the program, and ``stream`` is ``session`` without a file or
an idle time limit. A :class:`Preset` says which of these a command has; the flags, the
set-up, the status lines and the exit status are the same code for all three.

Wiring only: locale check, log file, config, terminal, header, outputs, status lines, then
:class:`asciinema.session.Session`. The live stream's output (asyncio, websockets) and the
server's API client are imported only when a stream is asked for, so that ``rec`` starts
without them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple

from asciinema import status
from asciinema.asciicast import Header
from asciinema.asciicast.header import os_text
from asciinema.config import Config, SessionConfig, load
from asciinema.errors import AsciinemaError, OutputError
from asciinema.hashing import relay_id, session_id
from asciinema.keys import Hotkeys
from asciinema.session_terminal import SessionTerminal, WindowSize

if TYPE_CHECKING:
    from asciinema.capture import Filter
    from asciinema.notifier import Notifier
    from asciinema.outputs import Output
    from asciinema.redact import Patterns

ACCEPTED_CODESETS = ("US-ASCII", "UTF-8")

#: where ``-l`` with no address listens: loopback, a port the system picks
DEFAULT_LISTEN = "127.0.0.1:0"
#: the start of an absolute URL (its scheme): a ``-r`` value without one is a stream ID
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")



class Preset(NamedTuple):
    """What one of the three commands is made of."""

    name: str
    #: how the output file is named: "FILE" (a required argument), "-o" (an option) or "" (none)
    file: str
    #: the long flags of the local and the remote stream ("" where there are none)
    local: str
    remote: str
    idle_time_limit: bool  #: -i, stored in the file's header
    env_args: bool  #: NAME=VALUE arguments for the program's environment
    #: set for the program, on top of ASCIINEMA_SESSION
    child_env: Tuple[Tuple[str, str], ...] = ()
    title_help: str = "title of the session"


PRESETS = {
    "record": Preset("record", "FILE", "", "", idle_time_limit=True, env_args=False,
                     child_env=(("ASCIINEMA_REC", "1"),), title_help="title of the recording"),
    "stream": Preset("stream", "", "--local", "--remote", idle_time_limit=False, env_args=False),
    "session": Preset("session", "-o", "--stream-local", "--stream-remote", idle_time_limit=True, env_args=True),
}


def declare(p: argparse.ArgumentParser, name: str) -> None:
    """The flags of command ``name`` (a key of :data:`PRESETS`) on its parser."""
    from asciinema.cli import FORMAT_HELP, FORMATS, declare_redaction

    preset = PRESETS[name]
    if preset.file == "FILE":
        p.add_argument("file", metavar="FILE", help="output file path")
    elif preset.file == "-o":
        p.add_argument("-o", "--output-file", dest="file", metavar="FILE", help="save the session to a file")
    if preset.file:
        p.add_argument("-f", "--output-format", choices=FORMATS, metavar="FORMAT",
                       help="output file format: asciicast-v3 (default), asciicast-v2, raw or txt (default for "
                       "*.txt; when appending, the existing file's version). " + FORMAT_HELP)
    if preset.local:
        p.add_argument("-l", preset.local, dest="local", nargs="?", const=DEFAULT_LISTEN, type=_listen_address,
                       metavar="IP:PORT",
                       help=f"stream via the local HTTP server, listening on IP:PORT (default: {DEFAULT_LISTEN}, "
                       "a free port on loopback); on an address other than loopback the page is served under "
                       "a secret /s/TOKEN/ path, printed at start")
        p.add_argument("-r", preset.remote, dest="remote", nargs="?", const="", type=remote_target,
                       metavar="STREAM-ID|WS-URL",
                       help="stream via a remote asciinema server: to a new stream (no value), to your stream "
                       "with this ID (or ID prefix), or straight to a producer WebSocket URL (ws:// or wss://, "
                       "no server URL needed)")
    p.add_argument("-c", "--command", metavar="COMMAND",
                   help="command to start in the session (default: session.command from the config, else $SHELL)")
    aliases = ("--stdin",) if name == "record" else ()  # 2.x's name, kept for rec
    p.add_argument("-I", "--capture-input", *aliases, action="store_true", help="enable input (keyboard) capture")
    p.add_argument("--capture-env", metavar="VARS",
                   help="comma-separated list of environment variables to capture (default: SHELL)")
    if preset.file:
        mode = p.add_mutually_exclusive_group()
        mode.add_argument("-a", "--append", action="store_true", help="append to an existing recording file")
        mode.add_argument("--overwrite", action="store_true", help="overwrite the output file if it already exists")
    p.add_argument("-t", "--title", metavar="TITLE", help=preset.title_help)
    if preset.idle_time_limit:
        p.add_argument("-i", "--idle-time-limit", type=parse_seconds, metavar="SECS",
                       help="limit idle time to a given number of seconds (stored in the header for players)")
    declare_redaction(p)
    p.add_argument("--headless", action="store_true", help="headless mode: don't use the terminal for I/O")
    p.add_argument("--window-size", type=parse_window_size, metavar="COLSxROWS",
                   help="override the session's terminal size: 80x24, 80x (cols only) or x24 (rows only)")
    p.add_argument("--return", dest="return_", action="store_true", help="return the session's exit status")
    p.add_argument("--log-file", metavar="PATH", help="append a log of the session to this file")
    if preset.remote:
        p.add_argument("--server-url", metavar="URL",
                       help=f"asciinema server URL for {preset.remote} without a ws:// or wss:// URL (default: "
                       "$ASCIINEMA_SERVER_URL, else server.url in the config, else asked on first use)")
    if preset.env_args:
        p.add_argument("env", nargs="*", metavar="ENV", help=argparse.SUPPRESS)
    if name == "record":
        p.add_argument("--cols", type=int, help=argparse.SUPPRESS)  # 2.x flags, accepted and ignored
        p.add_argument("--rows", type=int, help=argparse.SUPPRESS)
        p.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(preset=name, check=check)


def check(args: argparse.Namespace) -> Optional[str]:
    """What the parser can't see in the flags one at a time: a usage error, or None."""
    preset = PRESETS[args.preset]
    file = getattr(args, "file", None)
    local = getattr(args, "local", None)
    remote = getattr(args, "remote", None)
    if preset.local and file is None and local is None and remote is None:
        # the same list as asciinema 3 prints for a missing mode
        modes = [f"{preset.local} [IP:PORT]", f"{preset.remote} [STREAM-ID|WS-URL]"]
        if preset.file == "-o":
            modes.insert(0, "--output-file FILE")
        return f"the following required arguments were not provided: <{'|'.join(modes)}>"
    if preset.file == "-o" and file is None:
        given = [flag for flag, value in (("--append", args.append), ("--overwrite", args.overwrite),
                                          ("--output-format", args.output_format)) if value]
        if given:
            return f"{given[0]} needs --output-file FILE"
    return None


def _listen_address(value: str) -> str:
    """``IP:PORT`` for ``-l`` (argparse ``type``); kept as given, checked here."""
    from asciinema.errors import UsageError
    from asciinema.stream.web import parse_address

    try:
        parse_address(value)
    except UsageError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def remote_target(value: str) -> str:
    """The ``-r`` value (argparse ``type``), trimmed: a stream ID or ID prefix ("" for a new
    stream), or a ws:// or wss:// URL in its usual form (see :func:`normal_url`); any other
    absolute URL is refused."""
    value = value.strip()
    if not _SCHEME.match(value):
        return value
    if not is_websocket_url(value):
        raise argparse.ArgumentTypeError("must be a WebSocket URL (ws:// or wss://)")
    try:
        return normal_url(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def normal_url(url: str) -> str:
    """``url`` as asciinema 3 writes it (the relay ID is a hash of this text, so that a
    nested session recognises its parent's target however it was typed): scheme and host
    in lowercase, no default port, ``/`` for an empty path.

    Raises ValueError for a URL without a host or with a bad port or IPv6 address.
    """
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:  # "Invalid IPv6 URL", "Port out of range 0-65535"...
        raise ValueError(f"invalid URL: {e}") from None
    host = parts.hostname
    if not host:
        raise ValueError("empty host")
    scheme = parts.scheme.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"ws": 80, "wss": 443}.get(scheme):
        netloc += f":{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))


def is_websocket_url(target: str) -> bool:
    return target[:5].lower() == "ws://" or target[:6].lower() == "wss://"


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
    """Refuse encodings other than ASCII and UTF-8, with asciinema 3's message."""
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
    the header (skipped for TERM=dumb/linux and in GNU screen; at most a second). Without
    one (``--headless``, CI, no controlling terminal) output goes to stdout when it is not a
    terminal, or is shown where stdout is in the automatic case, and the size is 80x24
    unless ``--window-size`` says otherwise.
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
    """The variables named in the comma list ``names`` that are set (names are not trimmed).

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
    from asciinema.session import Session, SessionSpec

    preset = PRESETS[args.preset]
    file: Optional[str] = getattr(args, "file", None)
    local: Optional[str] = getattr(args, "local", None)
    remote: Optional[str] = getattr(args, "remote", None)
    env: Dict[str, str] = dict(os.environ)
    check_locale(env)
    check_log = open_log(args.log_file)
    config: Config = load(env)
    sc = config.session
    command = args.command if args.command is not None else sc.command
    idle = None
    if preset.idle_time_limit:
        idle = args.idle_time_limit if args.idle_time_limit is not None else sc.idle_time_limit
    hotkeys = make_hotkeys(sc)
    patterns, filters = _redaction(args, sc)  # a bad pattern stops here, before the session
    notifier = make_notifier(env, config.notifications.enabled, config.notifications.command)

    terminal, stdin_fd = prepare_terminal(args.headless, args.window_size, env)
    outputs: List[Output] = []
    handed_over = False  #: the session closes the outputs from then on
    try:
        header = build_header(
            terminal, env, sc, command=command, title=args.title, idle_time_limit=idle,
            capture_env=args.capture_env,
        )
        if patterns is not None:
            from asciinema.redact import redact_header

            header = redact_header(header, patterns)
        child_env = dict(env)
        child_env.update(preset.child_env)
        child_env["ASCIINEMA_SESSION"] = session_id(os.getpid())
        # in asciinema 3's order: the file is created before the listener is bound (a port
        # in use leaves an empty file, which the next run may overwrite), then the remote
        # stream is asked for (which may prompt for the server's URL)
        if file is not None:
            outputs.append(_file_output(args, file))
        url = public_url = None
        if local is not None or remote is not None:
            from asciinema.stream.live import LiveStreamOutput, Remote

            live = LiveStreamOutput(local)
            outputs.append(live)
            live.bind()  # before the server's API, as asciinema 3 does: a taken port asks nothing
            if remote is not None:
                producer_url, public_url = _remote_endpoint(remote, args, env, config, header)
                relay = relay_id(producer_url)
                if env.get("ASCIINEMA_RELAY_ID") == relay:
                    where = f" at {public_url}" if public_url else ""
                    raise AsciinemaError(f"This shell is already being streamed{where}")
                child_env["ASCIINEMA_RELAY_ID"] = relay
                notifications = config.notifications
                live.remote = Remote(producer_url, _user_agent(),
                                     lambda: _notifier(env, notifications.enabled, notifications.command))
            url = live.open()
        if preset.env_args:
            for pair in args.env:
                name, sep, value = pair.partition("=")
                if sep:  # asciinema 3 ignores words without "="
                    child_env[name] = value
        spec = SessionSpec(
            command=command or env.get("SHELL") or "/bin/sh",
            env=child_env,
            header=header,
            capture_input=bool(args.capture_input or sc.capture_input),
            hotkeys=hotkeys,
            input_fd=stdin_fd,
            filters=filters,
        )
        info("asciinema session started")
        if file is not None:
            info(f"Recording to {file}")
        if url is not None:
            info(f"Live streaming at {url}")
        if public_url is not None:
            info(f"Live streaming at {public_url}")
        if command is None:
            info("Press <ctrl+d> or type 'exit' to end")
        _flush_stdout()
        session = Session(spec, terminal, outputs, notifier)
        handed_over = True
        result = session.run()
    finally:
        if not handed_over:
            for out in outputs:
                out.close(0)
        terminal.close()
    if result.error is not None:
        # the program ran to its end; the recording did not
        error = OutputError(result.error)
        if args.return_ and result.status != 0:
            error.exit_code = result.status
        raise error
    info("asciinema session ended")
    if file is not None:
        info(f"Recorded to {file}")
    check_log()
    return result.status if args.return_ else 0


def _redaction(args: argparse.Namespace, sc: SessionConfig) -> "Tuple[Optional[Patterns], List[Filter]]":
    """The patterns (None if there are none) and the capture filters of --redact (on top of
    session.redact), --redact-preset and --strip-osc. The user's terminal gets the program's
    output before the capture: only what is recorded and streamed goes through them."""
    regexes = list(sc.redact) + list(args.redact or ())
    if not (regexes or args.redact_preset or args.strip_osc):
        return None, []
    from asciinema.redact import Patterns, make_filters

    patterns = Patterns(regexes, args.redact_preset or ())
    return (patterns if patterns else None), make_filters(patterns, args.strip_osc)


def _file_output(args: argparse.Namespace, path: str) -> "Output":
    from asciinema.outputs import FileOutput, open_recording_file

    return FileOutput(open_recording_file(path, fmt=args.output_format, append=args.append,
                                          overwrite=args.overwrite))


def _remote_endpoint(target: str, args: argparse.Namespace, env: Mapping[str, str], config: Config,
                     header: Header) -> Tuple[str, Optional[str]]:
    """The producer WebSocket URL of ``-r target`` and the stream's public URL: a ws:// or
    wss:// target is the producer URL itself (no server URL, no public URL); otherwise the
    server's API creates the stream (``""``) or finds the one whose ID starts with it."""
    if is_websocket_url(target):
        return target, None
    from asciinema.api import changeset, obtain_stream
    from asciinema.server_url import access

    server = access(env, getattr(args, "server_url", None), config)
    changes = changeset(header.title, header.term_type, header.term_version, env.get("SHELL"), header.env or None)
    stream = obtain_stream(server.server_url, server.install_id, server.user, target, changes)
    try:
        producer_url = normal_url(stream.producer_url)
    except ValueError as e:
        raise AsciinemaError(f"the server gave a producer URL that is not valid ({e}): {stream.producer_url}") from None
    return producer_url, stream.public_url


def _user_agent() -> str:
    from asciinema.http_client import user_agent

    return user_agent()


def _notifier(env: Mapping[str, str], enabled: bool, command: Optional[str]) -> "Notifier":
    from asciinema.notifier import make_notifier

    return make_notifier(env, enabled, command)


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
