"""Where ``cat`` and ``convert`` encode and write events: in this process, or in a forked one.

Both commands spend most of their time decoding and checking JSON, and the rest encoding and
writing; both hold the GIL. On a machine with two or more cores, a big conversion forks a
child that owns the encoder and the output, and gets the decoded batches through a pipe
(marshal, about 0.2 µs an event) while this process decodes the next ones. Where encoding
costs less than the hand-over (raw output, a join), there is no child.

Errors keep their meaning. Decoding stays here, so a broken line is reported with its number
after the child has written what came before it, as it would be in one process. A failed
write in the child comes back as its message, and this process raises it as an
:class:`OutputError`. The child never runs this process's clean-up code: it leaves with
``os._exit``, whatever happens.
"""

from __future__ import annotations

import marshal
import os
import signal  # here, not in the child: an import there could wait on a lock held at fork
import struct
from typing import Any, Callable, Optional, Sequence, Tuple, Union

from asciinema.asciicast import Columns, Event, Recording
from asciinema.encoders import Encoder
from asciinema.errors import OutputError, StdoutClosed

#: inputs smaller than this are converted in one process: forking is not worth it
MIN_PARALLEL_BYTES = 2 << 20
_PIPE_BUFFER = 1 << 20
#: the child's exit status when the reader of stdout has gone (its error is StdoutClosed)
_STDOUT_CLOSED = 3

Write = Callable[[Union[str, bytes]], None]


def parallel_wanted(input_bytes: Optional[int]) -> bool:
    """Whether a conversion of this many bytes (None: unknown) should use a second process."""
    if not hasattr(os, "fork") or input_bytes is None or input_bytes < MIN_PARALLEL_BYTES:
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        cpus = os.cpu_count() or 1
    return cpus > 1


class LocalSink:
    """Encodes and writes here. The methods of :class:`ChildSink`, without a child.

    Use either as a context manager: leaving it normally writes the encoder's last text
    (:meth:`Encoder.finish`); leaving it on an exception doesn't, and lets that exception
    (a broken input line, say) be the one reported.
    """

    def __init__(self, encoder: Encoder, write: Write) -> None:
        self.encoder = encoder
        self.write = write

    def recording(self, recording: Recording) -> None:
        """All (remaining) events of ``recording``."""
        for columns in recording.batches:
            self.batch(columns)

    def batch(self, columns: Columns) -> None:
        self.write(encode_batch(self.encoder, columns))

    def utf8_batch(self, columns: Tuple[Sequence[int], Sequence[str], Sequence[bytes]]) -> None:
        """A batch whose data come as UTF-8 (see :meth:`ChildSink.batch`)."""
        times, codes, datas = columns
        encode_utf8 = getattr(self.encoder, "encode_columns_utf8", None)
        if encode_utf8 is not None:
            self.write(encode_utf8(times, codes, datas))
        else:
            self.batch((times, codes, list(map(bytes.decode, datas))))

    def event(self, event: Event) -> None:
        self.write(self.encoder.event(event))

    def set_time_offset(self, offset: int) -> None:
        self.encoder.time_offset = offset  # type: ignore[attr-defined]  # cat's v2/v3 encoders have it

    def close(self, finish: bool) -> None:
        if finish:
            self.write(self.encoder.finish())

    def __enter__(self) -> "LocalSink":
        return self

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        if kind is None:
            self.close(True)
        else:
            try:
                self.close(False)
            except OutputError:
                pass  # the exception on its way out says what went wrong first


def encode_batch(encoder: Encoder, columns: Columns) -> Union[str, bytes]:
    """The text of a batch of events given as columns, or the UTF-8 bytes of it where the
    encoder makes them itself (cheaper than text for asciicast, see :func:`quoted_lines`)."""
    encode_utf8 = getattr(encoder, "encode_columns_utf8", None)
    if encode_utf8 is not None:
        return encode_utf8(*columns)
    encode_columns = getattr(encoder, "encode_columns", None)
    if encode_columns is not None:
        return encode_columns(*columns)
    return "".join(encoder.encode(zip(*columns)))  # type: ignore[arg-type]  # plain tuples, used as Events


# Commands on the pipe are (name of a LocalSink method, its argument) in marshal, each after
# its length (marshal.load from a file reads a field at a time, several times slower than
# loads of the whole). The child runs them on a LocalSink of its own.
_HEAD = struct.Struct("=Q")
#: what a command carries: a time offset, the close flag, an event or a batch's columns
_Argument = Union[int, Tuple[Any, ...]]


def _widen(fd: int) -> None:
    """A pipe of :data:`_PIPE_BUFFER` bytes where Linux allows: with the default 64 KiB, a
    batch of events takes many hand-overs between the processes and they wait for each other."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BUFFER)  # the constant is 3.10+
    except (ImportError, OSError):
        pass


def _frame(method: str, argument: _Argument) -> bytes:
    data = marshal.dumps((method, argument))
    return _HEAD.pack(len(data)) + data


class ChildSink(LocalSink):
    """Encodes and writes in a forked child; each call only queues the work for it.

    Fork after everything already written to the output has been flushed (the child's copy
    of the output's buffer would be written twice otherwise); the child inherits the encoder
    as it stands, with its header written.
    """

    def __init__(self, encoder: Encoder, write: Write, flush: Callable[[], None]) -> None:
        super().__init__(encoder, write)
        commands_r, commands_w = os.pipe()
        _widen(commands_w)
        errors_r, errors_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # out of processes or memory: the caller converts here instead
            for fd in (commands_r, commands_w, errors_r, errors_w):
                os.close(fd)
            raise
        if pid == 0:  # pragma: no cover - the child leaves through os._exit
            status = 1
            try:
                os.close(commands_w)
                os.close(errors_r)
                status = _child(encoder, write, flush, commands_r, errors_w)
            finally:
                os._exit(status)
        os.close(commands_r)
        os.close(errors_w)
        self.pid: Optional[int] = pid
        self._errors = errors_r
        self._pipe = os.fdopen(commands_w, "wb", buffering=_PIPE_BUFFER)

    def batch(self, columns: Columns) -> None:
        # marshal takes lists and tuples as they are; anything else is copied into a list
        times, codes, datas = (c if type(c) in (list, tuple) else list(c) for c in columns)
        # marshal sends every string as UTF-8, and text that isn't ASCII costs the child a
        # decoding per string; sent as UTF-8 bytes, it costs this process no more, and the
        # child's encoder joins the bytes as they are (encode_columns_utf8). ASCII text is
        # the cheapest to send as it is.
        utf8 = None
        if not all(map(str.isascii, datas)):  # type: ignore[arg-type]
            try:
                utf8 = list(map(str.encode, datas))  # type: ignore[arg-type]
            except UnicodeEncodeError:  # a lone surrogate
                pass
        if utf8 is not None:
            self._send("utf8_batch", (times, codes, utf8))
        else:
            self._send("batch", (times, codes, datas))

    def event(self, event: Event) -> None:
        self._send("event", tuple(event))  # a plain tuple: marshal refuses subclasses

    def set_time_offset(self, offset: int) -> None:
        self._send("set_time_offset", offset)

    def close(self, finish: bool) -> None:
        """Let the child write what it has (then the encoder's end if ``finish``) and exit.

        Raises the child's OutputError if it had one.
        """
        if self.pid is None:
            return
        try:
            if finish:
                self._pipe.write(_frame("close", True))
            self._pipe.close()
        except OSError:  # the child stopped early: its exit status and message say why
            self._abandon_pipe()
        self._reap()

    def _send(self, method: str, argument: _Argument) -> None:
        try:
            self._pipe.write(_frame(method, argument))
        except OSError:
            self._abandon_pipe()
            self._reap()
            raise OutputError("the encoding process stopped early") from None

    def _abandon_pipe(self) -> None:
        try:
            self._pipe.close()
        except OSError:
            pass

    def _reap(self) -> None:
        if self.pid is None:
            return
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        with os.fdopen(self._errors, "rb") as f:
            message = f.read().decode("utf-8", "replace")
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _STDOUT_CLOSED:
            raise StdoutClosed(message)
        if status != 0:
            raise OutputError(message or f"the encoding process failed (wait status {status})")


def _child(encoder: Encoder, write: Write, flush: Callable[[], None], commands: int,
           errors: int) -> int:  # pragma: no cover - runs in the child
    # Ctrl-C goes to the parent too; it decides, and closes the pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        local = LocalSink(encoder, write)
        with os.fdopen(commands, "rb", buffering=_PIPE_BUFFER) as pipe:
            while True:
                head = pipe.read(_HEAD.size)
                if len(head) < _HEAD.size:
                    break
                method, argument = marshal.loads(pipe.read(_HEAD.unpack(head)[0]))
                getattr(local, method)(argument)
        flush()
        return 0
    except OutputError as e:
        message, status = str(e), _STDOUT_CLOSED if isinstance(e, StdoutClosed) else 1
    except BaseException as e:  # an encoder bug: reported, never a traceback from here
        message, status = f"internal error in the encoding process: {type(e).__name__}: {e}", 1
    try:
        os.write(errors, message.encode("utf-8", "replace"))
    except OSError:
        pass
    return status


def open_sink(encoder: Encoder, write: Write, flush: Callable[[], None], input_bytes: Optional[int]) -> LocalSink:
    """A :class:`ChildSink` for a big input on a machine with cores to spare, else a :class:`LocalSink`.

    ``flush`` pushes what ``write`` buffered to the output, raising OutputError if it can't.
    """
    if parallel_wanted(input_bytes) and getattr(encoder, "parallel", True):
        flush()
        try:
            return ChildSink(encoder, write, flush)
        except OSError:
            pass
    return LocalSink(encoder, write)
