"""Where session events go: the :class:`Output` protocol and the recording file.

The session loop hands every event to each output with :meth:`Output.send`, which must not
block: the person typing never waits for a file, a viewer or a network. An output that falls
far behind says so with :meth:`Output.congested` (the loop then stops reading the program's
output for a moment, as a slow terminal would make it, until the output wakes it once it has
room again), and one that fails reports it with
:meth:`Output.failure` and wakes the loop, which drops it: a failed output never ends the
session (a full disk must not cost the user their program). ``stream`` and ``session`` add
their outputs (local HTTP stream, remote relay) next to :class:`FileOutput` without touching
the loop.

:class:`FileOutput` encodes and writes on a :class:`~asciinema.queue_worker.QueueWorker`
thread, fed by a queue bounded by the amount of text waiting. Everything queued is written as soon as the thread gets to it
(within :data:`LINGER`, in large slices under load), so after ``kill -9`` of the recorder the
file holds whole lines up to a moment ago. :func:`open_recording_file` decides
how the file is opened: created, refused when it exists (unless empty), overwritten or
appended to, in the format given or the one the file already has.
"""

from __future__ import annotations

import os
from collections import deque
from typing import BinaryIO, Callable, List, NamedTuple, Optional, Protocol, Sequence, cast

from asciinema import status
from asciinema.asciicast import RESIZE, Event, Header, json_loads, make_event, open_recording, row_error
from asciinema.encoders import Encoder, format_for_path, get_encoder
from asciinema.errors import LoadError, OutputError
from asciinema.queue_worker import QueueWorker
from asciinema.write_all import write_all

#: characters of event data a file output may have waiting before it counts as congested
MAX_BACKLOG = 4 << 20
#: characters of event data encoded and written at a time
SLICE_CHARS = 64 << 10
#: seconds the writer waits after a wake-up so that a burst of events is written together
LINGER = 0.01

Wake = Callable[[], None]


class Failure(NamedTuple):
    """Why an output stopped, for the user."""

    message: str  #: what failed and what it cost: "can't write x.cast: ...; the recording stops at ..."
    notice: str  #: the desktop notification


class Output(Protocol):
    """A destination of session events. Every method returns at once."""

    #: a failure of this output makes the run end in an error once the program has exited
    #: (a file: the recording is incomplete), or is only reported (a viewer); either way
    #: the session goes on without it
    fatal: bool
    name: str

    def start(self, header: Header, wake: Wake) -> None:
        """Begin with ``header``; call ``wake()`` from any thread to get the loop's attention."""

    def send(self, event: Event) -> None: ...

    def congested(self) -> bool:
        """Too much waits: a query with no effect (the output calls ``wake`` once it has room)."""

    def failure(self) -> Optional[Failure]:
        """Why the output stopped once it has failed, else None."""

    def close(self, timeout: float) -> Optional[str]:
        """Flush and stop, waiting up to ``timeout`` seconds; the error message if any.

        The session closes its outputs at once, each on a thread of its own."""


#: seconds past their own timeout that closing outputs are waited for
CLOSE_GRACE = 1.0


def close_outputs(outputs: Sequence[Output], timeout: float) -> List[Optional[str]]:
    """Close all ``outputs`` at once, each given ``timeout`` seconds; their messages.

    Each close runs on a thread of its own (a file flushing, a stream saying goodbye to its
    viewers), so the wait is the slowest one's, not the sum. An exception from a close is
    raised here once every close has ended or timed out.
    """
    if len(outputs) <= 1:
        return [out.close(timeout) for out in outputs]
    import threading
    import time

    results: List[Optional[str]] = [None] * len(outputs)
    errors: List[BaseException] = []

    def close(i: int) -> None:
        try:
            results[i] = outputs[i].close(timeout)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=close, args=(i,), name=f"asciinema-close-{i}", daemon=True)
               for i in range(len(outputs))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + CLOSE_GRACE
    for i, thread in enumerate(threads):
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            results[i] = f"can't finish {outputs[i].name}: timed out"
    if errors:
        raise errors[0]
    return results


class RecordingFile(NamedTuple):
    """An output file opened by :func:`open_recording_file`, not yet written to."""

    path: str
    fd: int
    format: str
    append: bool
    #: v2 append: absolute time (µs) of the last event already in the file
    time_offset: int = 0
    #: append: the existing file does not end with a newline
    needs_newline: bool = False


def open_recording_file(
    path: str, *, fmt: Optional[str], append: bool, overwrite: bool
) -> RecordingFile:
    """Open ``path`` for recording and find what appending needs (the time offset for v2).

    Appending keeps the file's format: the format comes from the file, and a ``fmt`` that
    differs from it is refused rather than mixed in. A last line cut off half-way (as
    ``kill -9`` or a full disk leaves it) is removed first, with a warning, so that the
    new lines don't follow a broken one.
    """
    try:
        st: Optional[os.stat_result] = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise OutputError(f"can't open {path}: {e.strerror}") from None
    if st is not None:
        if st.st_size == 0:
            overwrite, append = True, False
        elif not append and not overwrite:
            raise OutputError("file exists, use --overwrite or --append")
    else:
        append = False
    if fmt is None:
        fmt = format_for_path(path, case_sensitive=True)
    offset, needs_newline, cut = 0, False, None
    if append:
        fmt = _append_format(path, fmt)
        if fmt in ("asciicast-v2", "asciicast-v3"):
            offset, needs_newline, cut = _append_point(path, fmt)
    fmt = fmt or "asciicast-v3"
    parent = os.path.dirname(path)
    if parent:
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError:
            pass
    if append:
        flags = os.O_WRONLY | os.O_APPEND
    elif overwrite:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    else:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(path, flags | os.O_CLOEXEC, 0o666)
    except FileExistsError:
        raise OutputError("file exists, use --overwrite or --append") from None
    except OSError as e:
        raise OutputError(f"can't open {path}: {e.strerror}") from None
    if cut is not None:
        _drop_cut_line(fd, path, cut)
    return RecordingFile(path, fd, fmt, append, offset, needs_newline)


def _append_format(path: str, fmt: Optional[str]) -> str:
    """The format of the existing recording at ``path``; OutputError if ``fmt`` is another."""
    if fmt in ("raw", "txt"):
        # any bytes may be raw output or text; only an asciicast header says otherwise
        version = _header_version(path)
        if version is not None:
            raise OutputError(f"can't append: {path} is an asciicast v{version} file, not {fmt}")
        return fmt
    try:
        with open(path, "rb") as f:
            version = open_recording(f, path).version
    except LoadError as e:
        raise OutputError(f"can't append: {e}") from None
    except OSError as e:
        raise OutputError(f"can't append: {e.strerror}") from None
    if version == 1:
        raise OutputError("appending to asciicast v1 files is not supported")
    existing = f"asciicast-v{version}"
    if fmt is not None and fmt != existing:
        raise OutputError(f"can't append: {path} is an asciicast v{version} file, not {fmt}")
    return existing


def _header_version(path: str) -> Optional[int]:
    """2 or 3 when the first line of ``path`` is an asciicast v2/v3 header, else None."""
    try:
        with open(path, "rb") as f:
            first = f.readline(1 << 20)
    except OSError as e:
        raise OutputError(f"can't append: {e.strerror}") from None
    try:
        header = json_loads(first)
    except ValueError:
        return None
    version = header.get("version") if isinstance(header, dict) else None
    return version if version in (2, 3) else None


def _append_point(path: str, fmt: str) -> "tuple[int, bool, Optional[int]]":
    """(time of the last event in µs for v2, whether a newline is missing, where a cut line starts).

    A last line without its newline is kept when it is whole (an event, a v3 comment, the
    header) and only needs the newline; anything else there is a line cut off by a crash.
    """
    last = 0
    cut = None
    try:
        with open(path, "rb") as f:
            start, line = _last_line(f)
            needs_newline = bool(line)
            if start > 0 and line and not _whole_line(line, comments=fmt == "asciicast-v3"):
                cut, needs_newline = start, False
            if fmt == "asciicast-v2":
                f.seek(0)
                recording = open_recording(f if cut is None else cast(BinaryIO, _Head(f, cut)), path)
                for batch in recording.batches:
                    last = batch[0][-1]
    except LoadError as e:
        raise OutputError(f"can't append: {e}") from None
    except OSError as e:
        raise OutputError(f"can't append: {e.strerror}") from None
    return last, needs_newline, cut


def _last_line(f: BinaryIO) -> "tuple[int, bytes]":
    """(where the last line starts, its bytes) if the file doesn't end with a newline, else (size, b"")."""
    pos = f.seek(0, os.SEEK_END)
    tail = b""
    while pos > 0:
        step = min(pos, 1 << 16)
        pos -= step
        f.seek(pos)
        tail = f.read(step) + tail
        newline = tail.rfind(b"\n")
        if newline >= 0:
            return pos + newline + 1, tail[newline + 1:]
    return 0, tail


def _whole_line(line: bytes, comments: bool) -> bool:
    text = line.strip()
    if not text or (comments and text[:1] == b"#"):
        return True
    try:
        row = json_loads(text)
    except ValueError:
        return False
    return row_error("", 0, row, "") is None


class _Head:
    """The first ``size`` bytes of a binary file, as a stream for the decoder."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f = f
        self._left = size

    def readline(self) -> bytes:
        line = self._f.readline(self._left)
        self._left -= len(line)
        return line

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(self._left if n < 0 else min(n, self._left))
        self._left -= len(data)
        return data


def _drop_cut_line(fd: int, path: str, start: int) -> None:
    try:
        size = os.fstat(fd).st_size
        os.ftruncate(fd, start)
    except OSError as e:
        os.close(fd)
        raise OutputError(f"can't append: {e.strerror}") from None
    status.warning(
        f"{path} ends with a line cut off half-way, as a crash or a full disk leaves it;"
        f" removed it ({size - start} bytes) before appending"
    )


class FileOutput:
    """Encodes events to a :class:`RecordingFile` on a worker thread; never blocks ``send``.

    ``send`` queues the event; the worker lingers :data:`LINGER` seconds after a wake-up to
    gather a burst, and encodes and writes it in slices of :data:`SLICE_CHARS` characters:
    each slice's write releases the GIL, so the session loop never waits long for it.
    """

    fatal = True

    def __init__(self, target: RecordingFile) -> None:
        self.target = target
        self.name = target.path
        self.encoder: Encoder = get_encoder(target.format, time_offset=target.time_offset)
        # v2 and v3 encode straight to the file's bytes; the other formats go through text
        self._encode: Callable[[List[Event]], bytes] = getattr(self.encoder, "encode_utf8", self._encode_text)
        self._worker: Optional[QueueWorker[Event]] = None
        self._failure: Optional[Failure] = None
        self._header_written = False  #: what a failure loses: everything...
        self._batch_time = 0  #: ...or the events from this session time (µs) on...
        self._finishing = False  #: ...or the end (txt keeps the screen until then)
        self._preamble = ""
        self._good_size = 0  #: file size after the last whole slice

    def start(self, header: Header, wake: Wake) -> None:
        target = self.target
        encoder = self.encoder
        if target.append and target.format in ("asciicast-v2", "asciicast-v3"):
            # no header; a resize to the current size continues the existing timeline
            encoder.header(header)
            resize = make_event(0, RESIZE, f"{header.cols}x{header.rows}")
            self._preamble = ("\n" if target.needs_newline else "") + encoder.event(resize)
        else:
            self._preamble = encoder.header(header)
        self._worker = QueueWorker(
            "asciinema-file-writer", self._drain, wake, high_water=MAX_BACKLOG, low_water=MAX_BACKLOG // 2,
            linger=LINGER, begin=self._begin, end=self._end,
        )
        self._worker.start()

    def send(self, event: Event) -> None:
        worker = self._worker
        if worker is not None and worker.error is None:
            worker.put(event, len(event[2]))

    def congested(self) -> bool:
        worker = self._worker
        return worker is not None and worker.congested()

    def failure(self) -> Optional[Failure]:
        if self._failure is None and self._worker is not None and self._worker.error is not None:
            self._fail(self._worker.error)
        return self._failure

    def close(self, timeout: float) -> Optional[str]:
        worker = self._worker
        finished = worker is None or worker.close(timeout)
        if self.failure() is None and not finished:
            self._fail("timed out")
        if finished:
            try:
                os.close(self.target.fd)
            except OSError as e:
                if self._failure is None:
                    self._fail(e)
        return None if self._failure is None else self._failure.message

    def _fail(self, reason: "BaseException | str") -> None:
        if isinstance(reason, OSError):
            reason = reason.strerror or str(reason)
        elif isinstance(reason, BaseException):  # an encoder bug must still end the recording cleanly
            reason = f"{type(reason).__name__}: {reason}"
        # said so that it holds both while the session goes on and after it
        if not self._header_written:
            lost, notice = "nothing is recorded", "Write error, session won't be recorded"
        elif self._finishing:
            lost, notice = "the end of the recording is missing", "Write error, recording suspended"
        else:
            lost = f"the recording stops at {self._batch_time / 1e6:.3f} s of the session"
            notice = "Write error, recording suspended"
        self._failure = Failure(f"can't write {self.name}: {reason}; {lost}", notice)

    # --- worker thread ---------------------------------------------------------------

    def _begin(self) -> None:
        self._good_size = os.fstat(self.target.fd).st_size
        self._write(self._preamble.encode("utf-8", "replace"))
        self._header_written = True

    def _drain(self, pending: "deque[Event]") -> int:
        popleft = pending.popleft
        batch: List[Event] = []
        size = 0
        while pending and size < SLICE_CHARS:
            event = popleft()
            batch.append(event)
            size += len(event[2])
        self._batch_time = batch[0][0]
        self._write(self._encode(batch))
        return size

    def _end(self) -> None:
        self._finishing = True
        self._write(self.encoder.finish().encode("utf-8", "replace"))

    def _encode_text(self, batch: List[Event]) -> bytes:
        return "".join(self.encoder.encode(batch)).encode("utf-8", "replace")

    def _write(self, data: bytes) -> None:
        """Write whole lines; on failure cut off the part of them that got in, if any.

        Every slice ends at a line boundary, so the file stays loadable up to its last
        complete slice after a full disk or a file size limit.
        """
        if not data:
            return
        try:
            write_all(self.target.fd, data)
        except OSError:
            self._cut_back()
            raise
        self._good_size += len(data)

    def _cut_back(self) -> None:
        try:
            os.ftruncate(self.target.fd, self._good_size)
        except OSError:
            pass
