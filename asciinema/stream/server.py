"""The local stream server: one port, plain HTTP for the page and the player, a WebSocket
at ``/ws`` that speaks ALiS to viewers.

Every byte of HTTP and WebSocket goes through the vendored websockets library (its asyncio
server; ``process_request`` answers the plain HTTP requests). The asyncio loop runs on a
background thread of its own, so the session's loop never waits for it: the session only
ever calls :meth:`Hub.publish` and :meth:`Hub.end`, which do not block.

Viewers are read-only: whatever they send is read and dropped. A client that does not ask
for the ``v1.alis`` subprotocol gets the connection closed with 1002 right after the
handshake; the stream ends for everybody with a Close frame 1000 "Stream ended" after the
last event.

The session's process only binds the port (:meth:`StreamServer.bind`, so that a taken port
is an error before the session starts) and forks the stream process, which serves
(:meth:`StreamServer.start`). What serving needs (asyncio, websockets, the player's files
made ready: about 12 MB of memory) is imported and made in ``start``, so that the session's
process never holds it.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import TYPE_CHECKING, Dict, Optional

from asciinema.errors import AsciinemaError
from asciinema.stream.web import is_loopback

if TYPE_CHECKING:
    import asyncio
    import logging

    from websockets.asyncio.server import Server, ServerConnection
    from websockets.http11 import Request, Response

    from asciinema.stream.hub import Hub
    from asciinema.stream.web import Asset, Site

#: how long open WebSocket handlers get to send their last events when the stream ends
LINGER = 3.0
#: viewers send nothing we want: anything bigger than this closes their connection
MAX_INCOMING = 1 << 16


def _log() -> logging.Logger:
    import logging

    return logging.getLogger("asciinema.stream")


def _quiet_logging() -> None:
    # Nothing may reach the terminal during a session: without a handler, Python's last-
    # resort handler would print warnings to stderr. Whoever sets up a log file later
    # still gets these records through the root logger.
    import logging

    for name in ("asciinema", "asyncio", "websockets"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())


class StreamServer:
    """Serves ``hub`` at ``host:port``; bound to a non-loopback address, under a secret
    token path (see :mod:`asciinema.stream.web`)."""

    def __init__(
        self,
        hub: Hub,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: Optional[str] = None,
        assets: Optional[Dict[str, Asset]] = None,
    ) -> None:
        self.hub = hub
        self.host = host
        self.port = port
        if token is None and not is_loopback(host):
            # what secrets.token_urlsafe(16) does, without the OpenSSL that the secrets
            # module loads (megabytes, in the session's process)
            import base64

            token = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode("ascii")
        self.token = token
        self._assets = assets
        self._files: Optional[Dict[str, bytes]] = None  #: the player's files, read by bind
        self._sock: Optional[socket.socket] = None
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self.server: Optional[Server] = None
        self.site: Optional[Site] = None

    # ------------------------------------------------------------------ caller's thread

    def bind(self) -> None:
        """Take the port (errors are raised here, in the caller's thread); nothing is served
        until :meth:`start`, and no thread runs yet: a session forks its program between the two.
        Viewers that connect meanwhile wait in the listen queue.

        Reads the player's files (a missing player is an error here too, before the
        session starts); :meth:`start` makes them ready to serve, in the stream process."""
        if self._sock is not None:
            return
        if self._assets is None:
            from asciinema.stream.web import read_files

            self._files = read_files()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            self._sock = socket.create_server((self.host, self.port), family=family, backlog=128)
        except OSError as e:
            # create_server appends the address to strerror; the user typed the address
            raise AsciinemaError(f"cannot start listener: {os.strerror(e.errno) if e.errno else e}") from None
        self.port = self._sock.getsockname()[1]

    def close_socket(self) -> None:
        """Close this process's copy of the bound socket: after a fork, the other process
        serves it (and has the player's files)."""
        if self._sock is not None and self._thread is None:
            self._sock.close()
            self._files = None

    def start(self) -> None:
        """Bind (unless :meth:`bind` did) and serve in the background."""
        from asciinema.stream.web import Site, build_assets

        self.bind()
        if self.site is None:
            assets = self._assets
            if assets is None:
                assert self._files is not None  # read by bind
                assets = build_assets(self._files)
            self.site = Site(assets, self.token)
            self._files = None
        _quiet_logging()
        self._thread = threading.Thread(target=self._run, name="asciinema-stream-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise AsciinemaError(f"cannot start listener: {self._error}")

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """What to open in a browser (the token path, when there is one)."""
        base = f"http://{self.address}"
        return f"{base}/s/{self.token}/" if self.token else base

    def close(self, timeout: float = 5.0) -> None:
        """End the stream, give viewers up to :data:`LINGER` seconds to receive its end,
        then close everything; returns within about ``timeout`` seconds."""
        self.hub.end()
        thread, loop = self._thread, self._loop
        if thread is None:
            if self._sock is not None:
                self._sock.close()
            return
        if loop is not None and self._stop is not None:
            try:
                loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass  # already stopped
        thread.join(timeout)
        if thread.is_alive():
            _log().warning("the stream server did not stop within %.0f s", timeout)

    # ------------------------------------------------------------------ server's thread

    def _run(self) -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_log_loop_error)
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as e:  # reported to start() if it is still waiting
            self._error = e
            _log().error("stream server failed: %r", e)
        finally:
            self._ready.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _main(self) -> None:
        import asyncio

        from websockets.asyncio.server import serve

        from asciinema.stream.connection import ViewerConnection, select_subprotocol, write_now

        self._stop = asyncio.Event()
        self.hub.write_now = write_now
        self.hub.bind(asyncio.get_running_loop())
        server = await serve(
            self._handle,
            sock=self._sock,
            create_connection=ViewerConnection,
            process_request=self._process_request,
            select_subprotocol=select_subprotocol,
            # Every viewer gets the same bytes; compressing them per viewer would cost
            # the CPU the session needs.
            compression=None,
            max_size=MAX_INCOMING,
            max_queue=4,
            server_header=None,
            logger=_log(),
        )
        self.server = server
        self._ready.set()
        await self._stop.wait()
        # No new connections; open viewers get the end of the stream (the hub has ended).
        server.close(close_connections=False)
        try:
            await asyncio.wait_for(server.wait_closed(), LINGER)
        except asyncio.TimeoutError:
            # Stalled viewers and idle half-open requests: cut them off.
            self.hub.close_all()
            for connection in list(server.handlers):
                connection.transport.abort()
            try:
                await asyncio.wait_for(server.wait_closed(), 1.0)
            except asyncio.TimeoutError:
                _log().warning("stream server: %d connections did not close", len(server.handlers))

    def _process_request(self, connection: ServerConnection, request: Request) -> Optional[Response]:
        import http

        from websockets.datastructures import Headers
        from websockets.http11 import Response

        assert self.site is not None
        reply = self.site.route(request.path, list(request.headers.raw_items()))
        if reply is None:
            return None  # /ws: on with the WebSocket handshake
        headers = Headers(reply.headers)
        headers["Connection"] = "close"
        return Response(reply.status, http.HTTPStatus(reply.status).phrase, headers, reply.body)

    async def _handle(self, ws: ServerConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        from asciinema.stream.alis import SUBPROTOCOL
        from asciinema.stream.connection import send_stream
        from asciinema.stream.hub import Subscriber

        if ws.subprotocol != SUBPROTOCOL:
            await ws.close(1002, "Subprotocol negotiation failed")
            return

        async def end(sub: Subscriber, peer_open: bool) -> None:
            if sub.failed:
                await ws.close(1011, "Cannot snapshot the terminal")
            elif self.hub.ended:
                await ws.close(1000, "Stream ended")

        try:
            await send_stream(self.hub, ws, end)
        except ConnectionClosed:
            pass


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    _log().error("stream server: %s", context.get("message"), exc_info=context.get("exception"))
