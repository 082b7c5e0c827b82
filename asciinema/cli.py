"""The command line: declares the command tree and dispatches; the only place that prints
``Error: ...`` and picks the exit status.

Commands live in ``asciinema.commands.<module>`` and are imported only when run, so that
``--version``, ``cat`` and ``convert`` start without loading terminal, pyte or network code.
Any unambiguous prefix of a command name or alias selects it, as in asciinema 3.
"""

from __future__ import annotations

import argparse
import os
import sys

from asciinema import __version__, status
from asciinema.errors import AsciinemaError, StdoutClosed, stdout_failed

ABOUT = "Terminal session recorder, streamer, and player"

#: the recording formats, for rec/session -f and convert -f
FORMATS = ("asciicast-v3", "asciicast-v2", "raw", "txt")
FORMAT_HELP = (
    "asciicast-v3: full-featured session format, with timing and metadata (current generation); "
    "asciicast-v2: the previous generation; raw: terminal output with control sequences, "
    "without timing and metadata; txt: plain text without colours or control sequences"
)

#: (name, aliases, help, module under asciinema.commands, declare-arguments function)
# Importing typing costs about 5 ms of every start; names for annotations only come from it
# under TYPE_CHECKING (mypy treats a module's own TYPE_CHECKING = False like typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Container, Dict, List, Optional, Sequence, Tuple

    Declare = Callable[[argparse.ArgumentParser], None]


def _declare_cat(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="recordings to join: paths or http(s) URLs")


def _declare_convert(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="INPUT", help="recording to convert: path, http(s) URL, or - for stdin")
    p.add_argument("output", metavar="OUTPUT", help="output path, or - for stdout")
    p.add_argument(
        "-f",
        "--output-format",
        choices=FORMATS + ("html",),
        metavar="FORMAT",
        help="output format: asciicast-v3 (default), asciicast-v2, raw, txt (default for *.txt) or html "
        "(default for *.html). " + FORMAT_HELP + "; html: one self-contained page with the player and "
        "the recording inside, which plays from disk with no server and no network",
    )
    p.add_argument("--overwrite", action="store_true", help="overwrite the output file if it already exists")
    declare_redaction(p)


def declare_redaction(p: argparse.ArgumentParser) -> None:
    """--redact, --redact-preset and --strip-osc: for convert, rec, stream and session."""
    from asciinema.redact_presets import PRESETS

    p.add_argument("--redact", action="append", metavar="REGEX",
                   help="mask the text matching this Python regular expression with * (repeatable)")
    p.add_argument("--redact-preset", action="append", metavar="NAME",
                   help="mask a kind of secret (repeatable): " + ", ".join(PRESETS))
    p.add_argument("--strip-osc", action="store_true",
                   help="drop the OSC 7, 1337 and 633 sequences (host, directory, command lines)")


_CAT_EPILOG = """\
Each recording continues where the previous one ended. The output has the version of the
first file (a v1 first file gives v3). To dump the raw terminal output of a recording, as
`asciinema cat` of 2.x did, use `asciinema convert -f raw FILE -`.

Examples:
  asciinema cat demo1.cast demo2.cast demo3.cast > combined.cast
  asciinema cat https://asciinema.org/a/569727 part2.cast > combined.cast
"""

_CONVERT_EPILOG = """\
Examples:
  asciinema convert old.cast new.cast                  # to asciicast v3
  asciinema convert demo.cast demo.txt                 # plain text, from the extension
  asciinema convert --output-format raw demo.cast demo.txt
  asciinema convert -f txt demo.cast -                 # to stdout
  asciinema convert demo.cast demo.html                # a page that plays offline
  asciinema convert https://asciinema.org/a/569727 starwars.cast
"""

def _declare_play(p: argparse.ArgumentParser) -> None:
    def number(positive: bool) -> Callable[[str], float]:
        def parse(text: str) -> float:
            from asciinema.config import non_negative_number

            try:
                return non_negative_number(text, positive=positive)
            except ValueError:
                what = "a positive" if positive else "a non-negative"
                raise argparse.ArgumentTypeError(f"must be {what} number: {text!r}") from None

        return parse

    p.add_argument("file", metavar="FILE", help="recording to play: path, http(s) URL, or - for stdin")
    p.add_argument("-s", "--speed", type=number(positive=True), metavar="SPEED",
                   help="set playback speed (default: playback.speed from the config, else 1.0)")
    p.add_argument("-l", "--loop", action="store_true", help="loop playback continuously")
    p.add_argument("-i", "--idle-time-limit", type=number(positive=False), metavar="SECS",
                   help="limit idle time to a given number of seconds (overrides the recording's)")
    p.add_argument("-m", "--pause-on-markers", action="store_true", help="automatically pause on markers")
    p.add_argument("-r", "--resize", action="store_true",
                   help="resize the terminal to the recording's size, and on its resize events")


_PLAY_EPILOG = """\
Keys during playback:
  ctrl+c   stop
  space    pause / resume
  .        while paused: show the next event
  ]        while paused: play up to the next marker and pause there
The keys are read from the terminal (/dev/tty); change them with playback.pause_key,
playback.step_key and playback.next_marker_key in config.toml. When neither stdin nor
stdout is a terminal, or without termios (Windows), playback runs without keys and
--pause-on-markers is ignored.

Idle time limit: -i, else playback.idle_time_limit, else the recording's idle_time_limit.
Speed: -s, else playback.speed, else 1.0. The idle time limit applies before speed.
With --loop, a recording read from stdin, a URL or a FIFO is kept in a temporary file
during the first pass and replayed from there.

Exit status: 0 when playback ends or is stopped with ctrl+c; 1 on errors (broken line,
unreadable input, unwritable output), after the part before a broken line was played;
128+N after signal N (SIGTERM, SIGHUP). When the reader of stdout goes away (| head),
playback ends quietly, killed by SIGPIPE as cat is. The terminal is restored in every case.

Examples:
  asciinema play demo.cast
  asciinema play --speed 2.0 --loop demo.cast
  asciinema play --idle-time-limit 2 demo.cast
  asciinema play https://asciinema.org/a/569727
  asciinema play --pause-on-markers demo.cast
  asciinema play - < demo.cast
"""

def _declare_server_url(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server-url", metavar="URL",
                   help="asciinema server URL (else ASCIINEMA_SERVER_URL, else server.url in config.toml)")


def _declare_upload(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="recording to upload (asciicast v1, v2 or v3)")
    _declare_server_url(p)


_SERVER_EPILOG = """\
The server: --server-url, else ASCIINEMA_SERVER_URL, else server.url in config.toml. With
none set, the first command that needs a server asks for one on the terminal (suggesting
https://asciinema.org) and keeps the answer in defaults.toml in the config directory.
Requests carry the install ID (in the state directory, created on first use) as the
password of HTTP Basic auth, with $USER as the user name.
"""

_UPLOAD_EPILOG = """\
The whole file is checked before anything is sent: a broken recording is refused, naming
its line. The server answers with the recording's URL, which is printed.

""" + _SERVER_EPILOG + """\
HTTPS certificates are checked against the system's store (SSL_CERT_FILE or SSL_CERT_DIR
name others); HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured. Each wait on the network
gives up after ASCIINEMA_HTTP_TIMEOUT seconds (default 30).

Exit status: 0 when the server took the recording; 1 on errors (a broken file, an
unreachable server, a refusal, which is printed).

Examples:
  asciinema upload demo.cast
  asciinema upload --server-url https://asciinema.example.com demo.cast
"""

_AUTH_EPILOG = """\
Prints a URL to open in a web browser: there, the server links this install ID to your
account, so that recordings uploaded from this machine (past ones included) are yours. No
request is made by this command.

""" + _SERVER_EPILOG + """\
Examples:
  asciinema auth
  asciinema auth --server-url https://asciinema.example.com
"""


def _session_command(name: str) -> Declare:
    """The flags of ``rec``, ``stream`` or ``session``: one declaration with three presets."""

    def declare(p: argparse.ArgumentParser) -> None:
        from asciinema.commands.session import declare

        declare(p, name)

    return declare


_REC_EPILOG = """\
Records the shell ($SHELL), or the --command, running on a new pseudo-terminal, and
writes its output as it happens. Keys during the session:
  ctrl+d or 'exit'   end the session (the shell's own ways out)
  ctrl+\\             pause / resume the capture (session.pause_key)
  session.add_marker_key, session.prefix_key in config.toml: add a marker; prefix mode
During the session, ASCIINEMA_REC=1 and ASCIINEMA_SESSION (a unique session ID) are set.

When stdin is not a terminal (a pipe, a file, /dev/null) it is the session's input: the
program gets it, then end-of-file (ctrl+d), and the recording lasts until the program
exits. Without a terminal (CI, --headless) the size is 80x24 unless --window-size says
otherwise, and the output is shown on stdout.

Exit status: 0; with --return the program's status (128+N after signal N); 1 on errors.

Examples:
  asciinema rec demo.cast
  asciinema rec --command "python script.py" demo.cast
  asciinema rec --idle-time-limit 2 demo.cast
  asciinema rec --capture-input --title "API Demo" demo.cast
  asciinema rec --append demo.cast
  asciinema rec demo.txt                               # plain text, from the extension
  printf 'make test\\nexit\\n' | asciinema rec ci.cast   # scripted input
"""

_STREAM_EPILOG = """\
Streams the shell ($SHELL), or the --command, running on a new pseudo-terminal, live:
with --local, a built-in HTTP server serves a page with the asciinema player that shows
the session as it happens (its URL is printed at start; viewers are read-only). On
loopback (the default, 127.0.0.1 with a free port) the page is at /; on any other address
(0.0.0.0:8080 to share on the network) it is under a secret /s/TOKEN/ path, and every
other path is 404. With --remote, the session goes to an asciinema server, which shows it
at the public URL printed at start (a new stream, or the stream of yours with that ID);
to a ws:// or wss:// producer URL it goes directly. While the server is away the session
goes on, and the stream reconnects by itself and resumes from the current screen.
Keys during the session:
  ctrl+d or 'exit'   end the session (the shell's own ways out)
  ctrl+\\             pause / resume the stream (session.pause_key)
  session.add_marker_key, session.prefix_key in config.toml: add a marker; prefix mode
During the session, ASCIINEMA_SESSION (a unique session ID) is set, and with --remote
ASCIINEMA_RELAY_ID (a session inside it won't stream to the same place again).

Exit status: 0; with --return the program's status (128+N after signal N); 1 on errors.

Examples:
  asciinema stream --local                             # a free port on 127.0.0.1
  asciinema stream --local 0.0.0.0:8080                # on the network, under a secret path
  asciinema stream -l -c "htop"
  asciinema stream --remote                            # a new stream on the asciinema server
  asciinema stream -r 3xb9 -l                          # your stream 3xb9..., and locally too
"""

_SESSION_EPILOG = """\
Records to a file (--output-file, as `rec` does: the same formats, --append and
--overwrite) and/or streams live (--stream-local and --stream-remote, as `stream --local`
and `stream --remote` do) the shell ($SHELL), or the --command, running on a new
pseudo-terminal. At least one of them is needed. NAME=VALUE arguments are added to the
program's environment. Keys during the session:
  ctrl+d or 'exit'   end the session (the shell's own ways out)
  ctrl+\\             pause / resume the capture (session.pause_key)
  session.add_marker_key, session.prefix_key in config.toml: add a marker; prefix mode
During the session, ASCIINEMA_SESSION (a unique session ID) is set, and with
--stream-remote ASCIINEMA_RELAY_ID.

Exit status: 0; with --return the program's status (128+N after signal N); 1 on errors.

Examples:
  asciinema session --output-file demo.cast --stream-local
  asciinema session -o demo.cast -l 0.0.0.0:9000 -t "Live coding"
  asciinema session -o demo.cast --stream-remote wss://example.org/ws/S/TOKEN
  asciinema session -o demo.cast --idle-time-limit 1.5
"""

COMMANDS: List[Tuple[str, Tuple[str, ...], str, str, Declare, str]] = [
    ("record", ("rec",), "Record a terminal session", "session", _session_command("record"), _REC_EPILOG),
    ("stream", (), "Stream a terminal session", "session", _session_command("stream"), _STREAM_EPILOG),
    ("session", (), "Record and stream a terminal session", "session", _session_command("session"),
     _SESSION_EPILOG),
    ("play", (), "Play back a terminal session", "play", _declare_play, _PLAY_EPILOG),
    ("upload", (), "Upload a recording to an asciinema server", "upload", _declare_upload, _UPLOAD_EPILOG),
    ("auth", (), "Authenticate this CLI with an asciinema server account", "auth", _declare_server_url,
     _AUTH_EPILOG),
    ("cat", (), "Concatenate multiple recordings", "cat", _declare_cat, _CAT_EPILOG),
    ("convert", (), "Convert a recording to another format", "convert", _declare_convert, _CONVERT_EPILOG),
]


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Finds the terminal width itself: argparse asks shutil, whose import (with bz2 and
    lzma) costs about 4 ms of every start, as argparse makes a formatter for every option."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: Optional[int] = None) -> None:
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]  # None is the AttributeError below
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _TopParser(argparse.ArgumentParser):
    """``asciinema --help`` laid out as asciinema 3 prints it: usage, then one line per
    command (with its aliases), then the options."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # argparse's keywords, passed through as given
        #: each command's parser, for usage errors found after parsing
        self.command_parsers: Dict[str, argparse.ArgumentParser] = {}

    def format_help(self) -> str:
        commands = [
            (name, about + (f" [aliases: {', '.join(aliases)}]" if aliases else ""))
            for name, aliases, about, *_ in COMMANDS
        ]
        commands.append(("help", "Print this message or the help of the given command"))  # see main()
        options = [(", ".join(a.option_strings), a.help or "") for a in self._actions if a.option_strings]
        return "\n".join(
            [ABOUT, "", "Usage: asciinema [OPTIONS] <COMMAND>", "", "Commands:", *_columns(commands), "",
             "Options:", *_columns(options), ""]
        )


def _columns(rows: List[Tuple[str, str]]) -> List[str]:
    width = max(len(name) for name, _ in rows)
    return [f"  {name:<{width}}  {text}".rstrip() for name, text in rows]


def build_parser(commands: "Optional[Container[str]]" = None) -> _TopParser:
    """The whole command line; only the options of ``commands`` (None: all) are declared.

    Every command is listed, but declaring every option of every command costs more than
    all the rest of a start; a run needs only those of the command it runs.
    """
    quiet = argparse.ArgumentParser(add_help=False, formatter_class=_HelpFormatter)
    quiet.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="quiet mode: suppress diagnostic messages and progress indicators",
    )
    parser = _TopParser(
        prog="asciinema",
        description=ABOUT,
        parents=[quiet],
        formatter_class=_HelpFormatter,
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="help", help="print help")
    parser.add_argument("-V", "--version", action="version", version=f"asciinema {__version__}", help="print version")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", parser_class=argparse.ArgumentParser
    )
    sub.required = True
    for name, aliases, about, module, declare, epilog in COMMANDS:
        p = sub.add_parser(
            name,
            aliases=list(aliases),
            help=about,
            description=about,
            epilog=epilog,
            parents=[quiet],
            formatter_class=_HelpFormatter,
        )
        if commands is None or name in commands or any(alias in commands for alias in aliases):
            declare(p)
        p.set_defaults(module=module, command_name=name)
        parser.command_parsers[name] = p
    return parser


def expand_command_prefix(argv: Sequence[str]) -> List[str]:
    """Replace an abbreviated command (the first non-option word) by its full name.

    Raises UsageError for a prefix of several commands.
    """
    argv = list(argv)
    names: Dict[str, str] = {}
    for name, aliases, *_ in COMMANDS:
        names[name] = name
        for alias in aliases:
            names[alias] = name
    for i, word in enumerate(argv):
        if word == "--":
            break
        if word.startswith("-"):
            continue
        if word in names or word == "help":
            return argv
        matches = sorted({full for n, full in names.items() if n.startswith(word)})
        if len(matches) == 1:
            argv[i] = matches[0]
        elif len(matches) > 1:
            raise _AmbiguousCommand(word, matches)
        return argv
    return argv


class _AmbiguousCommand(Exception):
    def __init__(self, word: str, matches: List[str]) -> None:
        super().__init__(f"command '{word}' is ambiguous: could be {', '.join(matches)}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    try:
        args_in = expand_command_prefix(args_in)
    except _AmbiguousCommand as e:
        build_parser(()).error(str(e))
    # any word that names a command may be the one to run (or a file of that name)
    parser = build_parser(set(args_in))
    if args_in[:1] == ["help"]:
        rest = args_in[1:]
        args_in = (rest[:1] + ["--help"]) if rest else ["--help"]
    args = parser.parse_args(args_in)
    # a command's flags taken together (a missing one of several), with argparse's usage error
    check = getattr(args, "check", None)
    problem = check(args) if check is not None else None
    if problem is not None:
        parser.command_parsers[args.command_name].error(problem)
    status.set_quiet(getattr(args, "quiet", False))
    try:
        import importlib

        from asciinema.config import warn_legacy_config

        warn_legacy_config(os.environ)

        module = importlib.import_module(f"asciinema.commands.{args.module}")
        return int(module.run(args) or 0)
    except StdoutClosed:
        _silence_stdout()
        return _die_of_sigpipe()
    except AsciinemaError as e:
        _print_error(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        _print_error("interrupted")
        return 130
    except BrokenPipeError as e:  # from a status line on stdout
        _silence_stdout()
        _print_error(stdout_failed(e))
        return 1
    except Exception as e:  # a bug: still one line, with the traceback only on request
        if os.environ.get("ASCIINEMA_DEBUG"):
            raise
        _print_error(f"internal error: {type(e).__name__}: {e} (set ASCIINEMA_DEBUG=1 for details)")
        return 1


def _print_error(message: str) -> None:
    _clear_progress()
    try:
        sys.stderr.write(f"Error: {status.printable(message)}\n")
        sys.stderr.flush()
    except OSError:
        pass


def _clear_progress() -> None:
    progress = sys.modules.get("asciinema.progress")  # loaded only by conversions that draw one
    if progress is not None:
        progress.clear()


def _die_of_sigpipe() -> int:
    """End as ``cat`` does when the reader of its output has gone: killed by SIGPIPE, which
    shells don't report (Python ignores SIGPIPE, so the write failed with EPIPE instead)."""
    import signal

    sigpipe = getattr(signal, "SIGPIPE", None)
    _clear_progress()
    if sigpipe is not None:
        try:
            sys.stderr.flush()
            signal.signal(sigpipe, signal.SIG_DFL)
            os.kill(os.getpid(), sigpipe)
        except (OSError, ValueError):
            pass
    return 1  # no SIGPIPE (Windows): a plain failure, still without a message


def _silence_stdout() -> None:
    # Python flushes stdout at exit; with the reader gone that would print a second error.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
