"""The remote stream: forwards the session to an asciinema server's producer WebSocket, in
the stream process, as a consumer of :class:`~asciinema.stream.broadcast.Broadcast`.

The forwarder is one more subscriber of a hub, like a viewer of the local server: each
(re)connection starts with the magic and a fresh Init (the live screen), then the events;
if the server reads slower than the session writes, the queue is dropped and the next
message is a fresh Init, so the session never waits and memory stays bounded. While it is
disconnected nobody is subscribed, and nothing is kept for it.

The connection, as asciinema 3 makes it: the ``v1.alis`` subprotocol and our User-Agent; a
Ping every :data:`PING_INTERVAL` seconds, the connection given up when no Pong comes within
:data:`PING_TIMEOUT`; each send given up after :data:`SEND_TIMEOUT`; a Close 1000 "ended"
once the session is over. When to reconnect and what to tell the user is
:mod:`asciinema.stream.reconnect`; the notices go to the notifier and the log. Proxies
come from the environment (``HTTPS_PROXY``, ``NO_PROXY``...), as websockets reads them.

Every byte of the WebSocket protocol is websockets' (its asyncio client), on an event loop
in a thread of its own.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from typing import TYPE_CHECKING, Callable, Optional

from asciinema.stream.alis import SUBPROTOCOL
from asciinema.stream.reconnect import ESTABLISHED, FAILED, FINISHED, HALTED, INCOMPATIBLE, TOO_OLD, Reconnect, \
    is_clean_close

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from asciinema.stream.hub import Hub

log = logging.getLogger("asciinema.stream.forwarder")

#: seconds between Pings, and to wait for the Pong
PING_INTERVAL = 15.0
PING_TIMEOUT = 10.0
#: seconds one message may take to be sent
SEND_TIMEOUT = 10.0
#: seconds the handshake may take
OPEN_TIMEOUT = 10.0
#: seconds to wait for the server's answer to our Close
CLOSE_TIMEOUT = 2.0
#: the server sends us nothing we read: anything bigger than this ends the connection
MAX_INCOMING = 1 << 16
#: while the socket's buffer holds less than this, events are written straight from the hub
DIRECT_WRITE_LIMIT = 1 << 15


class Forwarder:
    """Sends the stream of its hub (set by the Broadcast) to the producer URL ``url``.

    ``notify`` shows a notice to the user (from the forwarder's thread: it must not block);
    ``random`` is uniform in [0, 1), for the reconnection delays.
    """

    name = "remote stream"

    def __init__(self, url: str, user_agent: str, notify: Callable[[str], None],
                 random: Callable[[], float] = random.random) -> None:
        self.url = url
        self.user_agent = user_agent
        self.hub: Hub = None  # type: ignore[assignment]  # the Broadcast sets it before start()
        self._notify = notify
        self._random = random
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._task: Optional[asyncio.Task[None]] = None
        self._closing: Optional[asyncio.Event] = None
        self._close_asked = False
        self.connections = 0  #: connections opened so far

    # ------------------------------------------------------------------ caller's thread

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self.hub.bind(loop)
        self._thread = threading.Thread(target=self._run, name="asciinema-forwarder", daemon=True)
        self._thread.start()

    def close(self, timeout: float) -> None:
        """The session is over: send what is left and a Close, within about ``timeout``
        seconds; a reconnection that is waiting is not waited for."""
        self.hub.end()
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            loop.call_soon_threadsafe(self._ask_close)
        except RuntimeError:
            return  # the loop has ended: so has forwarding
        thread.join(max(timeout - 0.5, 0.0))
        if thread.is_alive():
            log.info("the remote stream did not end in time: cut off")
            try:
                loop.call_soon_threadsafe(self._cancel)
            except RuntimeError:
                return
            thread.join(0.5)

    # ------------------------------------------------------------------ forwarder's thread

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            self._task = loop.create_task(self._main())
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the remote stream failed")
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    def _ask_close(self) -> None:
        self._close_asked = True
        if self._closing is not None:
            self._closing.set()

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _tell(self, notice: str) -> None:
        log.info("%s", notice)
        try:
            self._notify(notice)
        except Exception:
            log.exception("cannot show a notice")

    async def _main(self) -> None:
        self._closing = closing = asyncio.Event()
        if self._close_asked:
            closing.set()
        loop = asyncio.get_running_loop()
        policy = Reconnect()
        while True:
            how = await self._connection(policy)
            step = policy.ended(how, loop.time(), self._random)
            for notice in step.notices:
                self._tell(notice)
            if step.stop:
                return
            if closing.is_set():
                log.info("the session ended while disconnected from the server")
                return
            log.info("reconnecting in %.2f s", step.delay)
            try:
                await asyncio.wait_for(closing.wait(), step.delay)
                log.info("the session ended while waiting to reconnect")
                return
            except asyncio.TimeoutError:
                pass

    async def _connection(self, policy: Reconnect) -> str:
        """One connection, from the handshake to its end; how it ended."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus, WebSocketException
        from websockets.typing import Subprotocol

        loop = asyncio.get_running_loop()
        try:
            ws = await connect(
                self.url,
                subprotocols=[Subprotocol(SUBPROTOCOL)],
                user_agent_header=self.user_agent,
                compression=None,  # as asciinema 3: the server's CPU and ours matter more
                open_timeout=OPEN_TIMEOUT,
                ping_interval=PING_INTERVAL,
                ping_timeout=PING_TIMEOUT,
                close_timeout=CLOSE_TIMEOUT,
                max_size=MAX_INCOMING,
                max_queue=4,
                proxy=True,  # from the environment
                logger=log,
            )
        except InvalidStatus as e:
            status = e.response.status_code
            log.info("the server refused the connection: HTTP %d", status)
            return INCOMPATIBLE if status == 400 else FAILED
        except (OSError, asyncio.TimeoutError, WebSocketException) as e:
            log.info("cannot connect to the server: %s", e or type(e).__name__)
            return FAILED
        if ws.subprotocol != SUBPROTOCOL:
            log.info("the server accepted the connection without the %s subprotocol", SUBPROTOCOL)
            ws.transport.abort()
            return TOO_OLD
        self.connections += 1
        log.info("connected to the server")
        policy.opened(loop.time())

        def established() -> None:
            notice = policy.tick(loop.time())
            if notice is not None:
                self._tell(notice)

        timer = loop.call_later(ESTABLISHED, established)
        try:
            return await self._forward(ws)
        finally:
            timer.cancel()

    async def _forward(self, ws: "ClientConnection") -> str:
        from websockets.exceptions import ConnectionClosed

        from asciinema.stream.connection import discard_incoming, write_now

        hub = self.hub
        hub.write_now = write_now
        sub = hub.subscribe()
        sub.channel = ws
        sub.writable = lambda: ws.transport.get_write_buffer_size() < DIRECT_WRITE_LIMIT
        reader = asyncio.ensure_future(discard_incoming(ws))
        # A connection that ends wakes the sender at once, not at the next event.
        reader.add_done_callback(lambda _: sub.close())
        try:
            while True:
                message = await sub.next()
                if message is None:
                    break
                await asyncio.wait_for(ws.send(message), SEND_TIMEOUT)
            if hub.ended and not reader.done():
                await ws.close(1000, "ended")
                log.info("stream ended")
                return FINISHED
        except ConnectionClosed:
            pass
        except asyncio.TimeoutError:
            log.info("the server did not take a message within %.0f s", SEND_TIMEOUT)
            ws.transport.abort()
            return FAILED
        finally:
            hub.unsubscribe(sub)
            reader.cancel()
        rcvd = ws.protocol.close_rcvd
        if rcvd is None:
            log.info("the connection to the server was lost")
            return FAILED
        log.info("the server closed the connection: %s %s", rcvd.code, rcvd.reason)
        return HALTED if is_clean_close(rcvd.code) else FAILED
