"""The recorded program: ``/bin/sh -c COMMAND`` on a new pty that is its controlling terminal.

The parent keeps the pty master, non-blocking. This module spawns, resizes, signals and reaps
the child, and shows the state of the program's end of the pty (its mode, whether input waits
to be read); it does not read or write the master (that is the session loop's job).

The child is forked before any thread of ours starts (fork and threads do not mix), gets the
window size before it runs, and has SIGPIPE and SIGXFSZ back at their defaults (Python ignores
both, and ignored signals survive exec).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

SHELL = "/bin/sh"


def exit_status(wait_status: int) -> int:
    """A wait status as a shell would report it: the exit code, or 128+N for signal N."""
    if os.WIFEXITED(wait_status):
        return os.WEXITSTATUS(wait_status)
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return 1


class PtyProcess:
    """A child process on a pty; ``master`` is the parent's non-blocking end."""

    def __init__(self, pid: int, master: int, slave_name: Optional[str] = None) -> None:
        self.pid = pid
        self.master = master
        self.slave_name = slave_name  #: the path of the program's end of the pty
        self.status: Optional[int] = None  #: exit status once reaped

    @classmethod
    def spawn(
        cls,
        command: str,
        env: Mapping[str, str],
        size: Tuple[int, int],
        keep_ignored: Sequence[int] = (),
    ) -> "PtyProcess":
        """Start ``/bin/sh -c command`` with ``env`` on a new pty of ``size`` (cols, rows).

        ``keep_ignored``: signals that were ignored before our handlers replaced them; the
        child gets them ignored, as it would have inherited.
        """
        from asciinema import ttyctl

        master, slave = os.openpty()
        try:
            ttyctl.set_size(slave, size[0], size[1])
        except OSError:
            pass
        try:
            slave_name: Optional[str] = os.ttyname(slave)
        except OSError:
            slave_name = None
        argv = [SHELL, "-c", command]
        envb = {k.encode("utf-8", "surrogateescape"): v.encode("utf-8", "surrogateescape") for k, v in env.items()}
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child execs or exits
            _child(master, slave, argv, envb, keep_ignored)
        os.close(slave)
        os.set_blocking(master, False)
        return cls(pid, master, slave_name)

    def set_size(self, cols: int, rows: int) -> None:
        from asciinema import ttyctl

        try:
            ttyctl.set_size(self.master, cols, rows)
        except OSError:
            pass

    def open_peer(self) -> Optional[int]:
        """A non-blocking fd on the program's end of the pty, or None if it can't be opened.

        It shows whether input waits to be read (:func:`input_waiting`). While it is open,
        reading the master gives no end-of-file when the program exits: close it then.
        """
        if self.slave_name is None:
            return None
        try:
            return os.open(self.slave_name, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None

    def line_mode(self, fd: Optional[int] = None) -> Optional[bool]:
        """Whether the pty is in line mode (ICANON), seen on ``fd`` or the master; None if unknown."""
        try:
            import termios
        except ImportError:
            return None
        try:
            return bool(termios.tcgetattr(self.master if fd is None else fd)[3] & termios.ICANON)
        except (OSError, termios.error):
            return None

    def control_chars(self) -> Tuple[bytes, bytes]:
        """The pty's end-of-file (VEOF) and erase (VERASE) characters; ^D and DEL if unknown."""
        try:
            import termios
        except ImportError:
            return b"\x04", b"\x7f"
        try:
            cc = termios.tcgetattr(self.master)[6]
            veof, verase = cc[termios.VEOF], cc[termios.VERASE]
        except (OSError, termios.error):
            return b"\x04", b"\x7f"
        return _char(veof), _char(verase)

    def poll(self) -> Optional[int]:
        """Reap the child if it has exited; its exit status, or None while it runs."""
        if self.status is not None:
            return self.status
        try:
            pid, wstatus = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.status = 1
            return self.status
        if pid == 0:
            return None
        self.status = exit_status(wstatus)
        return self.status

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        """Wait up to ``timeout`` seconds (forever for None) for the child to exit."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.001
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return self.status

    def send_signal(self, sig: int) -> None:
        if self.status is not None:
            return
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def hang_up(self) -> None:
        """Ask the child to end the way a closed terminal does: SIGHUP, then SIGTERM.

        SIGHUP ends interactive shells, which ignore SIGTERM; SIGTERM ends most other programs.
        """
        self.send_signal(signal.SIGHUP)
        self.send_signal(signal.SIGTERM)

    def kill_group(self) -> None:
        """SIGKILL the child's whole session (it is the leader of a new one)."""
        if self.status is not None:
            return
        for target in (-self.pid, self.pid):
            try:
                os.kill(target, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        if self.master >= 0:
            try:
                os.close(self.master)
            except OSError:
                pass
            self.master = -1


def _char(value: "bytes | int") -> bytes:
    return value if isinstance(value, bytes) else bytes([value])


def input_waiting(fd: int) -> Optional[bool]:
    """Whether input, or an unread end-of-file, waits to be read on the pty end ``fd``.

    In line mode an unfinished line does not count (a read would not return it yet);
    None if it can't be seen. select, not poll: poll can't watch ttys on macOS.
    """
    import select

    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return None


def _child(master: int, slave: int, argv: List[str], env: Dict[bytes, bytes], ignored: Sequence[int]) -> None:  # pragma: no cover
    try:
        try:
            signal.set_wakeup_fd(-1)  # the pipe is the parent's
        except ValueError:
            pass
        os.close(master)
        os.setsid()
        import fcntl
        import termios

        try:
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        except OSError:
            pass
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        for name in ("SIGPIPE", "SIGXFSZ"):
            sig = getattr(signal, name, None)
            if sig is not None:
                signal.signal(sig, signal.SIG_DFL)
        for sig in ignored:
            signal.signal(sig, signal.SIG_IGN)
        os.execve(argv[0], argv, env)
    except BaseException as e:
        try:
            msg = f"asciinema: can't run {argv[0]}: {getattr(e, 'strerror', None) or e}\r\n"
            os.write(2, msg.encode("utf-8", "replace"))
        except BaseException:
            pass
    finally:
        os._exit(1)
