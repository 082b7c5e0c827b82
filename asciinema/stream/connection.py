"""The stream server's pieces that need websockets as soon as they are defined: the class
of its connections, and the helpers its loop calls (the remote forwarder's too). Only the
stream process imports this module (see :mod:`asciinema.stream.server`).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, cast

from websockets.asyncio.connection import Connection, broadcast
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidMessage
from websockets.http11 import Response
from websockets.protocol import CONNECTING
from websockets.typing import Subprotocol

from asciinema.stream.alis import SUBPROTOCOL
from asciinema.stream.hub import Subscriber


class ViewerConnection(ServerConnection):
    """A connection that answers a request websockets cannot parse (not HTTP, not GET,
    a line too long, too many headers) with 400 Bad Request, where websockets alone
    closes the connection without a word. A request cut short by the client's end of
    file gets no answer, as before (a client that connects and goes, a port probe, is
    not worth one).

    websockets has no hook for it (``process_request`` only ever sees parsed requests):
    its parser queues the end of file and nothing else, and this is the moment the
    connection writes that out, so the 400 goes first."""

    _opening = True  #: still in the opening handshake (checked on every write: kept cheap)

    def send_data(self) -> None:
        if self._opening:
            protocol = self.protocol
            self._opening = protocol.state is CONNECTING
            exc = protocol.handshake_exc
            if self._opening and isinstance(exc, InvalidMessage) and not protocol.reader.eof:
                self._opening = False  # answered once
                self.transport.write(bad_request().serialize())
        super().send_data()


def bad_request() -> Response:
    body = b"400"
    return Response(400, "Bad Request", Headers([("Content-Type", "text/plain; charset=utf-8"),
                                                 ("Content-Length", str(len(body))), ("Connection", "close")]), body)


def select_subprotocol(connection: ServerConnection, offered: Sequence[Subprotocol]) -> Optional[Subprotocol]:
    # Accept clients that offer no subprotocol too, so that they can be told why they are
    # turned away (a Close frame 1002) rather than get an HTTP 400.
    return Subprotocol(SUBPROTOCOL) if SUBPROTOCOL in offered else None


def write_now(subs: List[Subscriber], message: bytes) -> None:
    """The hub's direct write (Hub.write_now), for viewers and the remote forwarder alike."""
    # websockets' broadcast: frames and writes to each connection without awaiting; those
    # that are not open any more are skipped (their handlers are ending).
    broadcast([cast(Connection, s.channel) for s in subs], message)


async def discard_incoming(ws: Connection) -> None:
    try:
        async for _ in ws:
            pass
    except ConnectionClosed:
        pass
