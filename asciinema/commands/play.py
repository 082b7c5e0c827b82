"""``asciinema play FILE|-|URL``: replay a recording in the terminal.

Wiring only: settings from the flags and the config, the input (re-opened for every loop
pass), the terminal (keys from ``/dev/tty`` in raw mode, always restored), signals, and the
status lines. Timing and keys live in :mod:`asciinema.player`.

Choices where asciinema 3 is silent:

* Keys are read from ``/dev/tty`` only when stdin or stdout is a terminal; otherwise (both
  redirected, as in scripts and tests) playback runs without keys, and ``--pause-on-markers``
  is ignored since nothing could resume it. Without ``termios`` (Windows) there are no keys.
* ``--loop`` with stdin, a URL, a FIFO or a device: the first pass copies the input to an
  anonymous temporary file (on disk, so memory stays bounded whatever the size), later
  passes read that copy.
* SIGTERM and SIGHUP restore the terminal, print ``Error: terminated by SIG...`` and exit with
  128 + the signal number. SIGINT (when the terminal is not in raw mode, or sent with kill)
  counts as ctrl+c: ``Playback interrupted``, exit 0. Signals that arrive while the terminal
  is being restored are only noted, so they cannot cut the restoring short.
* A closed stdout (the reader of a pipe gone, as with ``| head``) ends playback quietly, as
  ``cat`` ends: no message, killed by SIGPIPE, the terminal restored. Other write errors
  are one error line, exit 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import IO, TYPE_CHECKING, BinaryIO, Callable, Iterator, List, Optional, TextIO, Tuple

from asciinema import status
from asciinema.asciicast import Recording, open_recording
from asciinema.errors import AsciinemaError, ConfigError, LoadError, OutputError, StdoutClosed, Terminated, stdout_failed
from asciinema.cast_input import display_name, is_url, open_input
from asciinema.signal_guard import SignalGuard, Signalled

if TYPE_CHECKING:
    from asciinema import player


class LineStream:
    """A binary stream that hands the decoder one line per read.

    The decoders read blocks of lines and check a block before yielding any of its events;
    blocks of one line mean a broken line is found only after everything before it has been
    played, and a recording still being written flows through at once. Everything read may be copied to ``tee`` (the ``--loop`` spool), and read
    failures become :class:`LoadError` naming the input.
    """

    def __init__(self, raw: IO[bytes], name: str, tee: Optional[IO[bytes]] = None, owned: bool = True) -> None:
        self.raw = raw
        self.name = name
        self.tee = tee
        self.owned = owned

    def _fail(self, e: Exception) -> LoadError:
        reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        return LoadError(f"can't read {self.name}: {reason}")

    def _copy(self, data: bytes) -> bytes:
        if self.tee is not None and data:
            try:
                self.tee.write(data)
            except OSError as e:
                raise OutputError(f"can't keep a copy of {self.name} for --loop: {e.strerror or e}") from None
        return data

    def readline(self, size: int = -1) -> bytes:
        try:
            line = self.raw.readline(size)
        except AsciinemaError:
            raise
        except Exception as e:
            raise self._fail(e) from None
        return self._copy(line)

    def readlines(self, hint: int = -1) -> List[bytes]:
        line = self.readline()
        return [line] if line else []

    def read1(self, size: int = -1) -> bytes:
        """One line (a short read is allowed): the decoder's blocks are single lines."""
        return self.readline()

    def read(self, size: int = -1) -> bytes:
        if size is not None and size >= 0:
            return self.readline()
        try:
            data = self.raw.read()
        except AsciinemaError:
            raise
        except Exception as e:
            raise self._fail(e) from None
        return self._copy(data)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def drain(self) -> None:
        """Read to the end (so the spool holds the whole input)."""
        self.read()

    def close(self) -> None:
        if self.owned:
            try:
                self.raw.close()
            except Exception:
                pass

    def __enter__(self) -> "LineStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Input:
    """The recording to play, opened once per loop pass."""

    def __init__(self, arg: str, loop: bool) -> None:
        self.arg = arg
        self.name = display_name(arg)
        self.loop = loop
        self._spool: Optional[IO[bytes]] = None
        self._spooled = False
        self._want_spool = False
        self._first = True

    def open(self) -> Tuple[LineStream, Recording]:
        if self._spooled:
            assert self._spool is not None
            self._spool.seek(0)
            stream = LineStream(self._spool, self.name, owned=False)
        else:
            raw, _ = open_input(self.arg)
            tee = None
            if self._first:
                self._first = False
                self._want_spool = self.loop and not _rereadable(self.arg, raw)
                if self._want_spool:
                    try:
                        tee = self._spool = _spool_file(self.name)
                    except BaseException:
                        raw.close()
                        raise
            stream = LineStream(raw, self.name, tee=tee, owned=self.arg != "-")
        try:
            return stream, open_recording(stream, self.name)
        except BaseException:
            stream.close()
            raise

    def pass_done(self, stream: LineStream) -> None:
        """A pass ended naturally: complete the spool for the next passes."""
        if self._want_spool and not self._spooled:
            stream.drain()
            assert self._spool is not None
            self._spool.flush()
            self._spooled = True
            stream.tee = None

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


def _rereadable(arg: str, raw: BinaryIO) -> bool:
    """Whether opening ``arg`` again gives the same bytes: a regular file, not stdin, a URL,
    a FIFO or a device (a second open of a FIFO would wait for a writer for ever)."""
    if arg == "-" or is_url(arg):
        return False
    import stat

    try:
        return stat.S_ISREG(os.fstat(raw.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def _spool_file(name: str) -> IO[bytes]:
    import tempfile

    try:
        return tempfile.TemporaryFile(prefix="asciinema-play-")
    except OSError as e:
        raise OutputError(f"can't create a temporary copy of {name} for --loop: {e.strerror or e}") from None


def _check_setting(value: Optional[float], what: str, positive: bool) -> Optional[float]:
    from asciinema.config import non_negative_number

    if value is None:
        return None
    try:
        return non_negative_number(value, positive=positive)
    except ValueError:
        kind = "a positive" if positive else "a non-negative"
        raise ConfigError(f"{what} must be {kind} number, got {value!r}") from None


def _key_fd() -> Optional[int]:
    """The terminal to read keys from, or None: play without keys."""
    from asciinema import ttyctl

    try:
        interactive = os.isatty(0) or os.isatty(1)
    except OSError:
        interactive = False
    if not interactive:
        return None
    fd = ttyctl.open_tty()
    if fd is None:
        return None
    if ttyctl.get_attrs(fd) is None:  # no termios (Windows) or not a terminal after all
        os.close(fd)
        return None
    return fd


def _play_passes(
    args: argparse.Namespace,
    source: Input,
    stream: LineStream,
    recording: Recording,
    speed: float,
    cfg_limit: Optional[float],
    keys: "player.Keys",
    pause_on_markers: bool,
    write: Callable[[str], None],
    reader: "player.KeyReader",
    check: Callable[[], None],
) -> bool:
    """Play once, or pass after pass with --loop; True when stopped with ctrl+c."""
    from asciinema import player
    from asciinema.asciicast.transform import accelerate, limit_idle_time

    try:
        while True:
            header = recording.header
            if args.idle_time_limit is not None:
                limit: Optional[float] = args.idle_time_limit
            elif cfg_limit is not None:
                limit = cfg_limit
            else:
                limit = header.idle_time_limit
            events = accelerate(limit_idle_time(recording.events, limit), speed)
            p = player.Player(
                events,
                keys=keys,
                pause_on_markers=pause_on_markers,
                resize=args.resize,
                size=(header.cols, header.rows),
            )
            with stream:
                player.run(p, write, reader, check)
                if p.interrupted:
                    return True
                if not args.loop:
                    return False
                source.pass_done(stream)
            if reader.poll() == player.QUIT_KEY:  # a recording with no duration
                write("\r\n")
                return True
            stream, recording = source.open()
    finally:
        stream.close()


def run(args: argparse.Namespace) -> int:
    from asciinema import config as config_module
    from asciinema import player

    cfg = config_module.load(os.environ)
    speed = args.speed
    if speed is None:
        speed = _check_setting(cfg.playback.speed, "playback.speed in the config", positive=True) or 1.0
    cfg_limit = _check_setting(cfg.playback.idle_time_limit, "playback.idle_time_limit in the config", positive=False)
    keys = player.Keys(cfg.playback.pause_key, cfg.playback.step_key, cfg.playback.next_marker_key)

    source = Input(args.file, args.loop)
    stream, recording = source.open()
    _info(f"Replaying session from {args.file}")

    from asciinema import ttyctl

    write = player.Writer(sys.stdout.fileno() if _has_fileno(sys.stdout) else 1)
    # the terminal must be restored however playback ends: armed, a signal stops playback
    guard = SignalGuard(("SIGTERM", "SIGHUP", "SIGINT"))
    key_fd: Optional[int] = None
    interrupted = False
    try:
        with guard:
            key_fd = _key_fd()
            try:
                with ttyctl.raw_mode(key_fd):
                    try:
                        interrupted = _play_passes(
                            args, source, stream, recording, speed, cfg_limit, keys,
                            args.pause_on_markers and key_fd is not None, write, player.KeyReader(key_fd),
                            guard.check,
                        )
                    finally:
                        guard.armed = False  # the terminal is being restored: signals only noted
            except (KeyboardInterrupt, Signalled):
                pass  # noted in guard.received
    finally:
        stream.close()
        source.close()
        if key_fd is not None:
            try:
                os.close(key_fd)
            except OSError:
                pass
    if guard.received == signal.SIGINT:  # kill -INT, or ctrl+c without raw mode: as ctrl+c
        write("\r\n")
        interrupted = True
    elif guard.received is not None:
        raise Terminated(guard.received)
    _info("Playback interrupted" if interrupted else "Playback ended")
    return 0


def _info(message: str) -> None:
    """A status line; when stdout's reader has gone, playback ends quietly, as for the
    recording's output."""
    try:
        status.info(message)
    except BrokenPipeError as e:
        raise StdoutClosed(stdout_failed(e)) from None


def _has_fileno(f: TextIO) -> bool:
    try:
        f.fileno()  # AttributeError: sys.stdout is None, or a stand-in without fileno
        return True
    except (AttributeError, ValueError, OSError):
        return False
