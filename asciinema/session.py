"""The session engine shared by ``rec``, ``stream`` and ``session``.

One loop around a selector relays bytes between the user's terminal and the program on its
pty, and reports what happens to the capture stage (:class:`asciinema.capture.Capture`), which
makes the events every output gets: ``o`` output, ``i`` input (when captured), ``r`` resize,
``m`` marker and, at the end, ``x`` exit status. :class:`Session` has one method per input
source (pty master, keys, signals and output wake-ups), keeps the deadlines (the child's, the
capture's filters') and keeps all writes non-blocking: the terminal gets the program's output
first, and outputs only queue.

Ending: the child exiting (then the pty is drained), or, asking the child to end (SIGHUP and
SIGTERM, SIGKILL after :data:`KILL_GRACE`) on SIGTERM/SIGHUP/SIGINT/SIGQUIT to us or a hangup
of the terminal. Whatever happens, the terminal is restored and the child is not left running.

Nothing else ends the program: it is the user's, and losing a place to show or record it is
no reason to kill it. An output that fails (a full disk, a file size limit) is dropped with a
``!!!`` warning and a notification and the session goes on; a fatal one (the file) makes the
result carry its message, which says up to when the recording holds the session. A terminal
or stdout that can't be written any more (``| head -1``) stops being written to, like a
closed window: the program runs on, and the file gets all of it.

Input that is a pipe or a file rather than a terminal (CI, ``printf ... | asciinema rec``) is
written to the pty as it comes, like keys typed ahead (the pty echoes it at once, and a line
editor shows it again when it reads it). Once it has ended, the program gets end-of-file
however and whenever it reads: :class:`asciinema.end_of_input.EndOfInput` decides when to send
the pty's end-of-file character, looking at the pty's mode and, through a second fd on the
program's end of the pty, at whether input still waits to be read. The recording goes on
until the program exits.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

from asciinema.asciicast import Event, Header
from asciinema.capture import Capture, Filter
from asciinema.end_of_input import ERASE_EOF, EndOfInput
from asciinema.keys import MARKER as KEY_MARKER
from asciinema.keys import PAUSE as KEY_PAUSE
from asciinema.keys import FORWARD, Hotkeys
from asciinema.notifier import Notifier, NullNotifier
from asciinema.outputs import Output, close_outputs
from asciinema.poller import Poller
from asciinema.ptyproc import PtyProcess, input_waiting
from asciinema.session_terminal import SessionTerminal
from asciinema.terminal_writer import TerminalWriter


class _Log:
    """The "asciinema" logger of ``--log-file``, without importing logging for every run.

    Importing logging costs about 5 ms of every start. Only ``--log-file`` configures the
    logger, and it imports logging to do so; until something has, there is nowhere to log.
    """

    def info(self, msg: str, *args: object) -> None:
        logging = sys.modules.get("logging")
        if logging is not None:
            logging.getLogger("asciinema").info(msg, *args)


log = _Log()

#: bytes asked for per read of the pty or the keys
READ_SIZE = 128 << 10
#: back-to-back pty reads are joined into one output event up to this size
COALESCE = 64 << 10
#: stop reading the program's output while this much waits for a slow terminal (a deep
#: queue lets the program's pty and the terminal's run at once under bulk output: a 64 MB
#: `cat` took about 10% less time than with 256 KiB; it costs at most this much memory)
TERM_BACKLOG = 4 << 20
#: stop reading input while this much waits to be written to the pty
PTY_BACKLOG = 1 << 20
#: seconds between asking the child to end and SIGKILL
KILL_GRACE = 3.0
#: seconds to wait for a SIGKILLed child before giving up on it
GIVE_UP = 2.0
#: after the child exits, the pty is drained until EOF, or this long without data...
DRAIN_QUIET = 0.05
#: ...or at most this long (a background process may keep the pty open)
DRAIN_MAX = 1.0
#: seconds to finish writing to the terminal at the end
TERM_FLUSH = 2.0
#: seconds each output may take to flush at the end
OUTPUT_CLOSE = 10.0

_WAKE_BYTE = b"\x00"  # signal numbers are never 0
_END_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT")


class SessionSpec:
    """What to run and how: everything the engine needs besides outputs and the terminal."""

    def __init__(
        self,
        command: str,
        env: Dict[str, str],
        header: Header,
        capture_input: bool = False,
        hotkeys: Optional[Hotkeys] = None,
        input_fd: Optional[int] = None,
        filters: Sequence[Filter] = (),
    ) -> None:
        self.command = command
        self.env = env
        self.header = header
        self.capture_input = capture_input
        self.hotkeys = hotkeys if hotkeys is not None else Hotkeys()
        #: read keys from this fd when it is not the terminal (a pipe or file on stdin)
        self.input_fd = input_fd
        #: between the capture and every output, in this order
        self.filters = list(filters)


class SessionResult(NamedTuple):
    status: int  #: the child's exit status (128+N for signal N)
    error: Optional[str] = None  #: a fatal output's failure: what is missing from the recording


class Session:
    """Runs one session; see the module docstring. Use :meth:`run` once."""

    def __init__(
        self,
        spec: SessionSpec,
        terminal: SessionTerminal,
        outputs: List[Output],
        notifier: Optional[Notifier] = None,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.spec = spec
        self.terminal = terminal
        self.outputs = list(outputs)
        self.notifier: Notifier = notifier or NullNotifier()
        self.clock = clock
        self.hotkeys = spec.hotkeys
        self.capture = Capture(self._send, clock, capture_input=spec.capture_input, filters=spec.filters)
        self.process: Optional[PtyProcess] = None
        self.poller = Poller()
        self._master_fd = -2
        self._masks: Dict[int, int] = {}
        self._wake_r = self._wake_w = -1
        self._old_signals: Dict[int, object] = {}
        self._old_wakeup = -1
        # input
        self.input_fd = terminal.in_fd if terminal.in_fd is not None else spec.input_fd
        self.input_is_tty = terminal.in_fd is not None
        self.input_open = self.input_fd is not None
        self._eof: Optional[EndOfInput] = None  #: after piped input ended, until the child exits
        self._peer = -1  #: the program's end of the pty, to see whether input waits there
        # pty
        self.master_open = True
        self.pty_buf = bytearray()
        # terminal
        self.term_writer: Optional[TerminalWriter] = None  #: None: output discarded
        # ending
        self.status: Optional[int] = None
        self.error: Optional[str] = None
        self.ending = False
        self.kill_at: Optional[float] = None
        self.give_up_at: Optional[float] = None
        self.drain_quiet_at: Optional[float] = None
        self.drain_end_at: Optional[float] = None
        self.last_size = (spec.header.cols, spec.header.rows)

    # --- running ---------------------------------------------------------------------

    def run(self) -> SessionResult:
        """Spawn the child, relay until it ends, and always restore the terminal."""
        spec = self.spec
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        try:
            ignored = self._install_signals()
            size = (spec.header.cols, spec.header.rows)
            # forked before any thread of ours starts: outputs start their threads below
            self.process = PtyProcess.spawn(spec.command, spec.env, size, keep_ignored=ignored)
            self.capture.begin()
            log.info("child %d started: %s", self.process.pid, spec.command)
            if self.terminal.out_fd is not None:
                self.term_writer = TerminalWriter(self.terminal.out_fd, self.terminal.direct_fd, self.wake,
                                                  high_water=TERM_BACKLOG, low_water=TERM_BACKLOG // 2)
            for out in self.outputs:
                out.start(spec.header, self.wake)
            self.terminal.enter()
            self._register()
            self._check_child()
            self._loop()
            assert self.status is not None
            self.capture.exit(self.status)
            log.info("session ended, exit status %s", self.status)
        except BaseException:
            self._abort()
            raise
        finally:
            self._flush_terminal()
            self.terminal.restore()
            self._close_outputs()
            self._restore_signals()
            self.notifier.close()
            self._cleanup_fds()
        return SessionResult(self.status if self.status is not None else 1, self.error)

    def wake(self) -> None:
        """Get the loop's attention from any thread (outputs call this)."""
        try:
            os.write(self._wake_w, _WAKE_BYTE)
        except OSError:
            pass

    def _loop(self) -> None:
        poll = self.poller.poll
        while not self._finished():
            timeout = self._update_interest()
            for fd, readable, writable in poll(timeout):
                if readable:
                    if fd == self._master_fd:
                        self._read_master()
                    elif fd == self._wake_r:
                        self._read_wake()
                    if fd == self.input_fd and self.input_open:
                        self._read_input()
                if writable and fd == self._master_fd:
                    self._write_pty()
            if not self.master_open and self.status is None:
                self._check_child()  # covers a SIGCHLD that came before our handler
            if self._eof is not None and not self.pty_buf and self._now_s() >= self._eof.next_look:
                self._look_for_eof()
            if self._deadlines:
                self._check_deadlines()
            if self.capture.filters:
                due = self.capture.next_deadline()
                if due is not None and self.clock() >= due:
                    self.capture.tick()

    def _finished(self) -> bool:
        if self.status is None:
            return False
        return not self.master_open or (self.drain_end_at is not None and self._now_s() >= self.drain_end_at)

    # --- poll bookkeeping ------------------------------------------------------------

    def _register(self) -> None:
        assert self.process is not None
        self._master_fd = self.process.master
        self._want(self._wake_r, True, False)

    def _update_interest(self) -> Optional[float]:
        """Set what each fd is watched for; returns the poll timeout."""
        congested = False
        for out in self.outputs:
            if out.congested():
                congested = True
                break
        writer = self.term_writer
        if writer is not None:
            if writer.error is not None:
                self._terminal_lost(writer.error)
            elif writer.congested():
                congested = True
        input_fd, master = self.input_fd, self._master_fd
        if self.master_open:
            self._want(master, not congested, bool(self.pty_buf))
        elif master in self._masks:
            self._want(master, False, False)
            self._master_fd = -2
            self._stop_eof()
        if input_fd is not None:
            self._want(
                input_fd,
                self.input_open and len(self.pty_buf) < PTY_BACKLOG and not self.ending,
                False,
            )
        timeout: Optional[float]
        if self._eof is not None and not self.pty_buf:
            timeout = _earliest(max(0.0, self._eof.next_look - self._now_s()), self._timeout(congested))
        elif not self._deadlines and not congested and (self.master_open or self.status is not None):
            timeout = None
        else:
            timeout = self._timeout(congested)
        if self.capture.filters:
            timeout = _earliest(timeout, self._capture_timeout())
        return timeout

    def _want(self, fd: int, read: bool, write: bool) -> None:
        mask = (1 if read else 0) | (2 if write else 0)
        if self._masks.get(fd, 0) != mask:
            self.poller.set(fd, read, write)
            if mask:
                self._masks[fd] = mask
            else:
                self._masks.pop(fd, None)

    @property
    def _deadlines(self) -> bool:
        return bool(self.kill_at or self.give_up_at or self.drain_quiet_at or self.drain_end_at)

    def _capture_timeout(self) -> Optional[float]:
        """Seconds until the capture's filters have something due, or None."""
        due = self.capture.next_deadline()
        return None if due is None else max(0.0, (due - self.clock()) / 1e9)

    def _timeout(self, congested: bool) -> Optional[float]:
        now = self._now_s()
        deadlines = [d for d in (self.kill_at, self.give_up_at, self.drain_quiet_at, self.drain_end_at) if d]
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        if congested or (not self.master_open and self.status is None):
            # congestion clears with a wake-up; the poll covers a lost one and a lost SIGCHLD
            timeout = 0.05 if timeout is None else min(timeout, 0.05)
        return timeout

    # --- the program's output --------------------------------------------------------

    def _read_master(self) -> None:
        assert self.process is not None
        fd = self.process.master
        chunks: List[bytes] = []
        total = 0
        eof = False
        while total < COALESCE:
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                eof = True
                break
            if not data:
                eof = True
                break
            chunks.append(data)
            total += len(data)
        if chunks:
            self._output(chunks[0] if len(chunks) == 1 else b"".join(chunks))
            if self.status is not None:
                self.drain_quiet_at = self._now_s() + DRAIN_QUIET
            elif self._eof is not None:
                self._eof.activity(self._now_s())
        if eof:
            self.master_open = False
            log.info("pty closed")

    def _output(self, data: bytes) -> None:
        if self.term_writer is not None:
            self.term_writer.write(data)
        self.capture.output(data)

    def _terminal_lost(self, e: OSError) -> None:
        if self.term_writer is not None:
            self.term_writer.close(0)
        self.term_writer = None
        log.info("%s gone (%s), the program goes on", "terminal" if self.terminal.tty else "stdout", e.strerror)

    # --- keys and piped input --------------------------------------------------------

    def _read_input(self) -> None:
        fd = self.input_fd
        assert fd is not None
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as e:
            log.info("input read failed: %s", e.strerror)
            data = b""
        if not data:
            self._input_ended()
            return
        action = self.hotkeys.feed(data)
        if action.kind == FORWARD:
            self.capture.input(data)
            self.pty_buf += data
            self._write_pty()
        elif action.kind == KEY_PAUSE:
            self._toggle_pause()
        elif action.kind == KEY_MARKER:
            self.capture.marker()
            self.notifier.notify("Marker added")
            log.info("marker added")

    def _input_ended(self) -> None:
        self.input_open = False
        if self.input_is_tty:
            log.info("terminal hung up")
            self._end_child("terminal hung up")
        elif self.status is None and self.master_open and self.process is not None:
            log.info("input ended, the program gets end-of-file from now on")
            self._eof = EndOfInput(self._now_s())
            peer = self.process.open_peer()
            self._peer = -1 if peer is None else peer

    def _write_pty(self) -> None:
        if not self.master_open:
            self.pty_buf.clear()
            return
        assert self.process is not None
        if self.pty_buf:
            try:
                n = os.write(self.process.master, self.pty_buf[:READ_SIZE])
            except BlockingIOError:
                return
            except OSError:
                self.pty_buf.clear()
                return
            del self.pty_buf[:n]

    def _look_for_eof(self) -> None:
        """Send end-of-file if :class:`EndOfInput` says the program would wait for input now."""
        eof, process = self._eof, self.process
        assert eof is not None and process is not None
        peer = self._peer if self._peer >= 0 else None
        line_mode = process.line_mode(peer)
        waiting = input_waiting(peer) if peer is not None else None
        # a mode that can't be read (the pty going away) counts as line mode, the usual one
        send = eof.look(self._now_s(), line_mode is not False, waiting)
        if send is not None:
            veof, verase = process.control_chars()
            log.info("sending %s to the program", send)
            try:
                os.write(process.master, verase + veof if send == ERASE_EOF else veof)
            except OSError:
                pass  # full (looked at again later) or gone (the loop sees it)

    def _stop_eof(self) -> None:
        """No more end-of-file: the program is gone. Closing our end of its pty lets the
        master report end-of-file once the program's side is closed."""
        self._eof = None
        if self._peer >= 0:
            try:
                os.close(self._peer)
            except OSError:
                pass
            self._peer = -1

    def _toggle_pause(self) -> None:
        if self.capture.toggle_pause():
            self.notifier.notify("Paused recording")
            log.info("paused")
        else:
            self.notifier.notify("Resumed recording")
            log.info("resumed")

    # --- signals and wake-ups --------------------------------------------------------

    def _install_signals(self) -> List[int]:
        """Handlers that only wake the loop; returns the signals that were ignored before."""
        self._old_wakeup = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        ignored = []
        for name in ("SIGCHLD", "SIGWINCH", "SIGALRM") + _END_SIGNALS:
            sig = getattr(signal, name)
            old = signal.signal(sig, _wake_only)
            self._old_signals[sig] = old
            if old == signal.SIG_IGN and name in _END_SIGNALS:
                ignored.append(sig)
        return ignored

    def _restore_signals(self) -> None:
        for sig, old in self._old_signals.items():
            try:
                signal.signal(sig, old)  # type: ignore[arg-type]  # old came from signal.signal, None included (a C handler)
            except (TypeError, ValueError, OSError):
                pass
        self._old_signals.clear()
        try:
            signal.set_wakeup_fd(self._old_wakeup)
        except (ValueError, OSError):
            pass

    def _read_wake(self) -> None:
        try:
            data = os.read(self._wake_r, 4096)
        except BlockingIOError:
            return
        for sig in set(data):
            if sig == 0:
                self._check_outputs()
            elif sig == signal.SIGCHLD:
                self._check_child()
            elif sig == signal.SIGWINCH:
                self._resize()
            elif sig == signal.SIGALRM:
                pass  # ignored, as asciinema 3 does (a handler, not SIG_IGN: the child keeps it)
            else:
                name = signal.Signals(sig).name
                log.info("%s received", name)
                if self.ending and self.kill_at is not None:
                    self.kill_at = self._now_s()  # asked twice: no more waiting
                self._end_child(f"{name} received")

    def _resize(self) -> None:
        if not self.terminal.tty:
            return
        size = self.terminal.size()
        if size == self.last_size:
            return
        self.last_size = size
        assert self.process is not None
        self.process.set_size(*size)
        self.capture.resize(*size)
        log.info("resized to %dx%d", *size)

    def _check_outputs(self) -> None:
        for out in list(self.outputs):
            failure = out.failure()
            if failure is None:
                continue
            self.outputs.remove(out)
            out.close(0)
            log.info("output %s failed: %s", out.name, failure.message)
            self.notifier.notify(failure.notice)
            self._warn(f"{failure.message} (the session goes on)")
            if out.fatal and self.error is None:
                self.error = failure.message

    def _warn(self, message: str) -> None:
        """A ``!!!`` line on stderr; when that is the session's terminal, which is in raw
        mode, through the terminal writer (in order with the program's output, CR LF)."""
        from asciinema import status

        writer = self.term_writer
        if writer is not None and self.terminal.tty and _is_controlling_terminal(2):
            if not status.is_quiet():
                writer.write(f"\r\n!!! {message}\r\n".encode("utf-8", "replace"))
            return
        try:
            status.warning(message)
        except (OSError, ValueError):
            pass  # no stderr: the notification and the final error remain

    # --- ending ----------------------------------------------------------------------

    def _end_child(self, reason: str) -> None:
        if self.ending or self.process is None or self.status is not None:
            return
        self.ending = True
        log.info("ending the program: %s", reason)
        self.process.hang_up()
        self.kill_at = self._now_s() + KILL_GRACE

    def _check_child(self) -> None:
        if self.status is not None or self.process is None:
            return
        status = self.process.poll()
        if status is None:
            return
        self.status = status
        log.info("child exited with status %d", status)
        self._stop_eof()
        now = self._now_s()
        self.kill_at = self.give_up_at = None
        self.drain_quiet_at = now + DRAIN_QUIET
        self.drain_end_at = now + DRAIN_MAX

    def _check_deadlines(self) -> None:
        now = self._now_s()
        if self.kill_at is not None and now >= self.kill_at and self.process is not None:
            log.info("killing the program")
            self.kill_at = None
            self.process.kill_group()
            self.give_up_at = now + GIVE_UP
        if self.give_up_at is not None and now >= self.give_up_at:
            self.give_up_at = None
            self.status = 128 + signal.SIGKILL
            self.master_open = False
        if self.drain_quiet_at is not None and now >= self.drain_quiet_at:
            self.drain_end_at = now

    def _abort(self) -> None:
        """On an internal error: do not leave the child running."""
        process = self.process
        if process is None or process.status is not None:
            return
        process.hang_up()
        if process.wait(0.5) is None:
            process.kill_group()
            process.wait(GIVE_UP)

    def _flush_terminal(self) -> None:
        writer = self.term_writer
        if writer is not None:
            writer.close(TERM_FLUSH)

    def _close_outputs(self) -> None:
        """Close every output at once: the wait is the slowest one's, not their sum."""
        for out, message in zip(self.outputs, close_outputs(self.outputs, OUTPUT_CLOSE)):
            if message is not None and out.fatal and self.error is None:
                self.error = message

    def _cleanup_fds(self) -> None:
        self._stop_eof()
        self.poller.close()
        if self.process is not None:
            self.process.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    # --- time and events -------------------------------------------------------------

    def _now_s(self) -> float:
        return time.monotonic()

    def _send(self, event: Event) -> None:
        """The capture's events, to every output."""
        for out in self.outputs:
            out.send(event)


def _earliest(a: Optional[float], b: Optional[float]) -> Optional[float]:
    """The shorter of two poll timeouts (None: no timeout)."""
    if a is None:
        return b
    return a if b is None or a < b else b


def _is_controlling_terminal(fd: int) -> bool:
    """Whether ``fd`` is our controlling terminal, the /dev/tty that a session with a terminal runs on."""
    try:
        os.tcgetpgrp(fd)  # fails for any other fd
    except OSError:
        return False
    return True


def _wake_only(signum: int, frame: object) -> None:
    """The Python-level handler: the wake-up fd already carries the signal number."""
