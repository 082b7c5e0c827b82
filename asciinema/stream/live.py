"""The live stream as a session output: the session's side is a pipe to a stream process,
which runs everything else (the virtual terminal, and the local HTTP server, the remote
forwarder or both, each with its hub; see :mod:`asciinema.stream.broadcast`). One process
and one pipe, whether the stream goes to local viewers, to an asciinema server or to both.

Why a process: serving viewers is Python work (framing, the hub, snapshots of the screen)
that grows with their number, and in the session's process it would hold the GIL that the
session's loop needs: measured with 100 viewers of a 64 MB flood (bench/bench_stream.py
--inline), the session's process took 3-6 s of CPU instead of 1.2-1.8 s, and ``cat`` ran
at about 0.4-0.7x the speed it has under ``rec``. In a process of its own the stream costs
the session only the pipe, whatever the number of viewers.

:meth:`LiveStreamOutput.send` writes the event to the pipe when it has room (one
non-blocking write), else appends it to a queue (O(1)) that a writer thread writes out,
waiting for room without the GIL. If the stream process falls :data:`MAX_QUEUE` characters
behind, the oldest queued events are dropped rather than waited for; the stream process
sees the IDs jump and re-syncs its viewers from its terminal, as it does when one of them
falls behind. There, output events that arrive together (a flood) are joined into one, so
that every viewer gets fewer, larger messages (:class:`Merger`).

The stream process is less favoured by the scheduler (:data:`NICENESS`): when the CPUs are
busy, the person typing comes before the viewers. It has a process group of its own, so
that the keys that signal the session's process group (before raw mode, or with
``--headless``) leave it alone, and /dev/null for stdio. It ends when the pipe does, after
the last events and the Close frames, or when the session stops waiting for it.

The process is forked by :meth:`LiveStreamOutput.open`, which the caller must call before
it starts threads (fork copies only the calling thread; the session forks its program after
``open`` too, and the stream process holds nothing of the session but the pipe's end and
the listening socket, both closed on exec).
"""

from __future__ import annotations

import collections
import os
import threading
import time
from typing import TYPE_CHECKING, Callable, Deque, List, NamedTuple, Optional, Tuple

from asciinema.asciicast import OUTPUT, Event, Header, Theme, make_event
from asciinema.outputs import Failure, Wake
from asciinema.stream.frames import Item, Start, encode_events, encode_start
from asciinema.stream.hub import Limits
from asciinema.stream.web import parse_address
from asciinema.write_all import write_all

if TYPE_CHECKING:
    from asciinema.notifier import Notifier
    from asciinema.stream.server import StreamServer

#: characters of event data waiting for the pipe beyond which the oldest are dropped
MAX_QUEUE = 4 << 20
#: characters of event data written to the pipe at a time
BATCH = 256 << 10
#: the pipe's buffer (Linux lets a process ask for up to 1 MiB)
PIPE_SIZE = 1 << 20
#: how long the stream process may take to end the stream at most (s): the viewers' Close
#: frames, then a second for stalled viewers (see asciinema.stream.server.LINGER)
STREAM_CLOSE = 5.0
#: the stream process's niceness relative to the session
NICENESS = 5
#: output events that arrive together are joined up to this many characters
MERGE = 64 << 10
#: the stream process's switch interval (s): how long the thread feeding the terminal (pure
#: Python, a slice of about a millisecond) may keep a thread that has a message to send to
#: viewers waiting for the GIL (Python's default is 5 ms)
SWITCH_INTERVAL = 0.0005

#: The hub's bounds in the stream process. A viewer more than half a megabyte behind
#: (a flood: no browser draws that fast anyway) is re-synced with an Init of the screen,
#: and the memory of 100 viewers stays within a few tens of MB.
LIMITS = Limits(queue_bytes=512 << 10, queue_messages=1024, backlog_bytes=4 << 20)

_F_SETPIPE_SZ = 1031


class Remote(NamedTuple):
    """Where ``--stream-remote`` / ``stream --remote`` sends the stream."""

    url: str  #: the producer WebSocket URL
    user_agent: str
    #: makes the notifier for the forwarder's notices, in the stream process (a notifier
    #: runs a thread, and threads do not survive the fork)
    notifier: Callable[[], "Notifier"]


class LiveStreamOutput:
    """The output of ``--stream-local`` and ``--stream-remote`` (``stream --local/--remote``);
    see the module docstring.

    ``listen`` is ``IP:PORT`` (port 0: any free one), or None for no local server;
    ``remote`` where to forward the stream, if anywhere (it may be set until :meth:`open`).
    ``header_theme`` is the theme viewers get in the Init, when it should differ from the
    session header's (which is the default).
    """

    fatal = False  #: a stream that stops never ends the session

    def __init__(self, listen: Optional[str] = None, *, remote: Optional[Remote] = None,
                 header_theme: Optional[Theme] = None, limits: Limits = LIMITS) -> None:
        self.theme = header_theme
        self.limits = limits
        self.remote = remote
        self.server: Optional[StreamServer] = None
        if listen is not None:
            from asciinema.stream.server import StreamServer

            host, port = parse_address(listen)
            self.server = StreamServer(None, host, port)  # type: ignore[arg-type]  # its hub is in the stream process
        self.name = self._name()
        self.pid: Optional[int] = None  #: the stream process
        self._fd = -1  #: the pipe's end we write
        self._wake: Wake = _nothing
        self._failure: Optional[Failure] = None
        self._closing = threading.Event()
        self._thread: Optional[threading.Thread] = None
        # Session thread: numbering and the queue's intake.
        self._last_id = 0
        self._queue: Deque[Tuple[int, Event]] = collections.deque()
        self._queued = 0  #: characters put in the queue, ever (session thread)
        self._dropped = 0  #: characters dropped from it (session thread)
        self._written = 0  #: characters written to the pipe (writer thread)
        self._armed = False  #: the writer was woken, or is writing, and will see new events
        self._partial = b""  #: the part of a frame the session's thread could not write
        self._signal = threading.Event()
        self.dropped_events = 0

    def _name(self) -> str:
        return "local stream" if self.remote is None else "remote stream" if self.server is None else "live stream"

    # ------------------------------------------------------------------ session thread

    def bind(self) -> None:
        """Take the local server's port, if there is one (done by :meth:`open` otherwise).

        Raises :class:`~asciinema.errors.AsciinemaError` ("cannot start listener: ...").
        """
        if self.server is not None:
            self.server.bind()

    def open(self) -> Optional[str]:
        """Bind the port (if any) and start the stream process now, before the session
        starts; the URL local viewers open (None without a local server).

        Raises :class:`~asciinema.errors.AsciinemaError` ("cannot start listener: ...").
        """
        if self.server is None and self.remote is None:
            raise ValueError("a live stream goes to a local server, a remote one or both")
        self.name = self._name()  # the remote may have been set since
        self.bind()
        server = self.server
        read_fd, write_fd = os.pipe()
        try:
            import fcntl

            fcntl.fcntl(write_fd, _F_SETPIPE_SZ, PIPE_SIZE)
        except (ImportError, OSError):
            pass  # not Linux, or a lower limit: the default buffer will do
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the stream process, which never returns
            os.close(write_fd)
            _stream_process(server, self.remote, read_fd, self.limits)
        os.close(read_fd)
        os.set_blocking(write_fd, False)
        self.pid = pid
        self._fd = write_fd
        if server is None:
            return None
        server.close_socket()  # the stream process serves it
        return server.url

    @property
    def url(self) -> Optional[str]:
        return None if self.server is None else self.server.url

    def start(self, header: Header, wake: Wake) -> None:
        if self.pid is None:
            raise RuntimeError("LiveStreamOutput.open() must be called before start()")
        self._wake = wake
        theme = self.theme if self.theme is not None else header.theme
        self._armed = True  # events wait in the queue until the start frame is written
        self._thread = threading.Thread(target=self._run, args=(encode_start(Start(header.cols, header.rows, theme)),),
                                        name="asciinema-stream-pipe", daemon=True)
        self._thread.start()

    def send(self, event: Event) -> None:
        event_id = self._last_id + 1
        self._last_id = event_id
        if not self._armed and not self._queue:
            # The usual case: the pipe has room, and one write from here beats waking the
            # writer thread (no GIL hand-over, no wait for it on the way to the viewers).
            if self._failure is not None:
                return
            data = encode_events([(event_id, event)])
            try:
                n = os.write(self._fd, data)
            except BlockingIOError:
                n = 0
            except OSError as e:
                self._stopped(e)
                return
            if n == len(data):
                return
            self._partial = data[n:]  # the writer thread writes the rest first
            self._armed = True
            self._signal.set()
            return
        self._queue.append((event_id, event))
        self._queued += len(event[2])
        if not self._armed:
            self._armed = True
            self._signal.set()
        elif self._queued - self._dropped - self._written > MAX_QUEUE:
            self._drop()

    def _drop(self) -> None:
        # The stream process is far behind: it loses the oldest events (the writer takes
        # from the same end, each event goes to one of us) and re-syncs from its terminal.
        queue = self._queue
        while self._queued - self._dropped - self._written > MAX_QUEUE // 2:
            try:
                _, event = queue.popleft()
            except IndexError:
                break
            self._dropped += len(event[2])
            self.dropped_events += 1

    def congested(self) -> bool:
        return False  # viewers never slow the session: they are re-synced instead

    def failure(self) -> Optional[Failure]:
        return self._failure

    def close(self, timeout: float) -> Optional[str]:
        """End the stream: viewers get the events sent so far (the exit event last), then
        a Close frame 1000 "Stream ended"; returns within about ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        self._closing.set()
        self._signal.set()
        thread = self._thread
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        if thread is None or not thread.is_alive():
            self._close_pipe()  # end of file: the stream process ends the stream
        if self.server is not None:
            self.server.close_socket()
        if self.pid is not None:
            if not _wait(self.pid, deadline):
                _kill(self.pid)  # a writer waiting for room in the pipe gets EPIPE and ends
                if thread is not None:
                    thread.join(1.0)
            self.pid = None
        if thread is None or not thread.is_alive():
            self._close_pipe()
        return None

    def _close_pipe(self) -> None:
        if self._fd >= 0:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = -1

    # ------------------------------------------------------------------ writer thread

    def _stopped(self, e: OSError) -> None:
        if self._failure is None and not self._closing.is_set():
            reason = "its process ended" if isinstance(e, BrokenPipeError) else (e.strerror or str(e))
            who = "viewers see" if self.remote is None else "the server sees" if self.server is None \
                else "viewers and the server see"
            self._failure = Failure(f"the {self.name} stopped ({reason}); {who} no more of the session",
                                    "Live stream stopped")
            self._wake()

    def _run(self, start: bytes) -> None:
        # Armed from the start (see start()): the start frame goes first.
        try:
            self._write(start)
            queue = self._queue
            while True:
                while True:
                    partial, self._partial = self._partial, b""
                    self._write(partial)
                    self._drain()
                    self._armed = False
                    if not queue:
                        break
                    self._armed = True  # events came after the drain
                if self._closing.is_set():
                    break
                self._signal.wait()
                self._signal.clear()
        except OSError as e:
            self._stopped(e)
            self._armed = True  # nothing more is written from the session's thread either

    def _drain(self) -> None:
        queue = self._queue
        popleft = queue.popleft
        while queue:
            batch: List[Tuple[int, Event]] = []
            size = 0
            while size < BATCH:
                try:
                    item = popleft()
                except IndexError:
                    break
                batch.append(item)
                size += len(item[1][2])
            self._write(encode_events(batch))
            self._written += size

    def _write(self, data: bytes) -> None:
        """Write all of ``data``, waiting for room in the pipe (without the GIL)."""
        write_all(self._fd, data)


def _stream_process(server: Optional["StreamServer"], remote: Optional[Remote], read_fd: int,
                    limits: Limits) -> None:  # pragma: no cover - in the child
    """The stream process: frames from ``read_fd`` into a Broadcast until end of file."""
    status = 1
    notifier: Optional[Notifier] = None
    try:
        import signal

        try:
            signal.set_wakeup_fd(-1)  # the session's, if it had one
        except ValueError:
            pass
        # Nothing of ours may reach the user's terminal (a thread's traceback would), and
        # a pipe the session writes to must end with it, not with us.
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        os.setpgid(0, 0)
        for name in ("SIGINT", "SIGQUIT", "SIGHUP", "SIGTSTP", "SIGTTOU", "SIGTTIN"):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        import sys

        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            os.nice(NICENESS)
            # No wake-up preemption: a write to the pipe does not hand the session's CPU
            # over to us on the spot (measured: 150 µs per event in send instead of 25).
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))  # Linux only: AttributeError elsewhere
        except (AttributeError, OSError):
            pass
        from asciinema.stream.broadcast import Broadcast, Consumer
        from asciinema.stream.frames import FrameDecoder

        consumers: List[Consumer] = []
        if server is not None:
            consumers.append(server)  # bound before the fork
        if remote is not None:
            from asciinema.stream.forwarder import Forwarder

            notifier = remote.notifier()
            consumers.append(Forwarder(remote.url, remote.user_agent, notifier.notify))
        broadcast = Broadcast(consumers, limits)
        decoder = FrameDecoder()
        merger = Merger()
        send = broadcast.send
        while True:
            data = os.read(read_fd, PIPE_SIZE)
            if not data:
                break
            for item in merger.merge(decoder.feed(data)):
                if isinstance(item, Start):
                    broadcast.start(item.cols, item.rows, item.theme)
                else:
                    send(*item)
        broadcast.close(STREAM_CLOSE - 1.0)
        status = 0
    except BaseException:
        try:
            import logging

            logging.getLogger("asciinema.stream").exception("the stream process failed")
        except BaseException:
            pass
    finally:
        if notifier is not None:
            try:
                notifier.close()  # the last notices go out (half a second at most)
            except BaseException:
                pass
        os._exit(status)


class Merger:
    """Joins the output events that arrive together (in one read of the pipe, in a flood)
    into one, up to :data:`MERGE` characters, so that each viewer gets fewer, larger
    messages; numbers what comes out 1, 2, 3..., leaving a hole where the session's IDs
    jump (events it dropped), so that viewers still see that something is missing."""

    def __init__(self) -> None:
        self.last_in = 0  #: the session's ID of the last event in
        self.last_out = 0  #: ours of the last event out

    def merge(self, items: List[Item]) -> List[Item]:
        out: List[Item] = []
        run: List[Tuple[int, Event]] = []
        size = 0
        for item in items:
            if isinstance(item, Start):
                self._flush(run, out)
                run, size = [], 0
                out.append(item)
                continue
            event_id, event = item
            if event_id != self.last_in + 1:
                self._flush(run, out)
                run, size = [], 0
                self.last_out += 1  # the hole
            self.last_in = event_id
            if event[1] != OUTPUT or (run and size + len(event[2]) > MERGE):
                self._flush(run, out)
                run, size = [], 0
            if event[1] == OUTPUT:
                run.append(item)
                size += len(event[2])
            else:
                self.last_out += 1
                out.append((self.last_out, event))
        self._flush(run, out)
        return out

    def _flush(self, run: List[Tuple[int, Event]], out: List[Item]) -> None:
        if not run:
            return
        self.last_out += 1
        if len(run) == 1:
            out.append((self.last_out, run[0][1]))
        else:
            last = run[-1][1]
            out.append((self.last_out, make_event(last[0], OUTPUT, "".join(e[2] for _, e in run))))


def _wait(pid: int, deadline: float) -> bool:
    """Reap ``pid``, waiting until ``deadline`` at most; whether it was reaped."""
    delay = 0.001
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        now = time.monotonic()
        if now >= deadline:
            return False
        time.sleep(min(delay, deadline - now))
        delay = min(delay * 2, 0.05)


def _kill(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _nothing() -> None:
    pass
