"""Best-effort desktop notifications ("Paused recording", "Marker added", ...).

The first available of: the configured ``notifications.command`` (``/bin/sh -c`` with the
message in ``$TEXT``), ``tmux display-message`` inside tmux, ``notify-send``, ``osascript``.
Messages go through a small queue to one background thread, so :meth:`notify` never blocks
the session; when the queue is full a message is dropped. A notifier that fails (non-zero
exit, missing program, or slower than :data:`TIMEOUT`) is not used again for the session.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, List, Mapping, Optional, Protocol

if TYPE_CHECKING:
    import queue
    import subprocess

# queue, shutil and subprocess are imported on first use: most sessions never notify, and
# the three cost about 8 ms of every start.

#: seconds one notification may take before it is killed
TIMEOUT = 5.0
#: messages waiting beyond this are dropped
QUEUE_SIZE = 16


class Notifier(Protocol):
    def notify(self, message: str) -> None: ...

    def close(self) -> None: ...


class NullNotifier:
    def notify(self, message: str) -> None:
        pass

    def close(self) -> None:
        pass


def command_for(message: str, env: Mapping[str, str], command: Optional[str]) -> Optional[List[str]]:
    """The argv that shows ``message``, or None when there is no way to notify."""
    if command:
        return ["/bin/sh", "-c", command]
    import shutil

    path = env.get("PATH", os.defpath)
    if env.get("TMUX") and shutil.which("tmux", path=path):
        return ["tmux", "display-message", f"asciinema: {message}"]
    if shutil.which("notify-send", path=path):
        return ["notify-send", "asciinema", message]
    if shutil.which("osascript", path=path):
        text = message.replace("\\", "\\\\").replace('"', '\\"')
        return ["osascript", "-e", f'display notification "{text}" with title "asciinema"']
    return None


class BackgroundNotifier:
    """Runs notifications one at a time on a daemon thread, started on first use."""

    def __init__(self, env: Mapping[str, str], command: Optional[str] = None) -> None:
        self.env = dict(env)
        self.command = command
        self._queue: "Optional[queue.Queue[Optional[str]]]" = None
        self._thread: Optional[threading.Thread] = None
        self._disabled = False
        self._proc: Optional["subprocess.Popen[bytes]"] = None

    def notify(self, message: str) -> None:
        import queue

        if self._disabled:
            return
        if self._queue is None:
            self._queue = queue.Queue(QUEUE_SIZE)
            self._thread = threading.Thread(target=self._run, args=(self._queue,), name="asciinema-notifier",
                                            daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            pass

    def close(self) -> None:
        """Let queued messages go out, waiting briefly; never blocks the exit for long."""
        if self._thread is None or self._queue is None:
            return
        import queue

        while True:  # the thread must get its None, or it waits on an empty queue for ever
            try:
                self._queue.put_nowait(None)
                break
            except queue.Full:
                try:
                    self._queue.get_nowait()  # a message that would go out too late anyway
                except queue.Empty:
                    pass
        self._thread.join(0.5)
        proc = self._proc
        if proc is not None and proc.poll() is None:  # a hung notifier does not outlive us
            self._disabled = True
            try:
                proc.kill()
            except OSError:
                pass

    def _run(self, messages: "queue.Queue[Optional[str]]") -> None:
        while True:
            message = messages.get()
            if message is None:
                return
            if self._disabled:
                continue
            if not self._show(message):
                self._disabled = True

    def _show(self, message: str) -> bool:
        import subprocess

        argv = command_for(message, self.env, self.command)
        if argv is None:
            return False
        env = dict(self.env)
        env["TEXT"] = message
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        except OSError:
            return False
        self._proc = proc
        try:
            return proc.wait(TIMEOUT) == 0
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return False
        finally:
            self._proc = None


def make_notifier(env: Mapping[str, str], enabled: bool, command: Optional[str]) -> Notifier:
    if not enabled:
        return NullNotifier()
    return BackgroundNotifier(env, command)
