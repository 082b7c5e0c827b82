"""HTTP requests (urllib), with every transport failure put in one line of plain words.

Used by the server API (upload, streams) and by the download of recordings given as URLs.
HTTPS verifies certificates with the system's store (``SSL_CERT_FILE`` and ``SSL_CERT_DIR``
name others); ``HTTPS_PROXY``, ``HTTP_PROXY`` and ``NO_PROXY`` are honoured, with CONNECT
tunnels for https through a proxy. Each wait on the network gives up after
``ASCIINEMA_HTTP_TIMEOUT`` seconds (30 unless set).

A request body may be a file-like object with its length given: http.client then sends it
in blocks as it reads them, so an upload never sits in memory. When a server refuses a body
before it was sent whole (a 413 answered at once), the rest of the body is dropped and the
server's answer is still read.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Dict, NamedTuple, Optional, Union

from asciinema import __version__
from asciinema.errors import NetworkError

if TYPE_CHECKING:
    import urllib.request
    from http.client import HTTPResponse
    from typing import Protocol

    class Readable(Protocol):
        """A request body read on demand, as http.client reads one."""

        def read(self, size: int = -1, /) -> bytes: ...

DEFAULT_TIMEOUT = 30.0
#: bytes of a request body read and sent at a time (http.client's default is 8 KiB)
BLOCK = 1 << 16


def target_triple() -> str:
    """The platform as a compiler's target triple, as asciinema 3 names itself to servers."""
    machine = (os.uname().machine if hasattr(os, "uname") else os.environ.get("PROCESSOR_ARCHITECTURE", "")).lower()
    machine = {"arm64": "aarch64", "amd64": "x86_64", "x64": "x86_64"}.get(machine, machine) or "unknown"
    if sys.platform == "darwin":
        return f"{machine}-apple-darwin"
    if sys.platform.startswith("win"):
        return f"{machine}-pc-windows-msvc"
    if sys.platform.startswith("linux"):
        return f"{machine}-unknown-linux-gnu"
    return f"{machine}-unknown-{sys.platform.rstrip('0123456789')}"


def user_agent() -> str:
    """The one User-Agent of every request."""
    return f"asciinema/{__version__} target/{target_triple()}"


def timeout(env: Optional[Dict[str, str]] = None) -> float:
    text = (os.environ if env is None else env).get("ASCIINEMA_HTTP_TIMEOUT", "")
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


class Response(NamedTuple):
    status: int
    body: bytes


Body = Union[bytes, "Readable", None]


def request(
    method: str,
    url: str,
    headers: Dict[str, str],
    body: Body = None,
    length: Optional[int] = None,
) -> Response:
    """Send one request and read the whole answer, whatever its status.

    ``body`` is bytes or a file-like object of ``length`` bytes. Raises NetworkError
    ``<url>: <cause>`` when no answer came.
    """
    import urllib.error
    import urllib.request

    hdrs = dict(headers)
    if body is not None:
        hdrs["Content-Length"] = str(len(body) if isinstance(body, bytes) else length)
    req = urllib.request.Request(url, data=body, headers=hdrs, method=method)
    try:
        try:
            with _opener().open(req, timeout=timeout()) as response:
                return Response(response.status, response.read())
        except urllib.error.HTTPError as e:
            with e:
                return Response(e.code, e.read())
    except Exception as e:  # noqa: BLE001 (sorted by transport_cause, which re-raises the rest)
        raise NetworkError(f"{url}: {transport_cause(e, url)}") from None


def get(url: str, headers: Optional[Dict[str, str]] = None) -> HTTPResponse:
    """A GET that follows redirects; the response is read by the caller. urllib's errors are
    raised as they are (HTTPError for a non-2xx status): see :func:`transport_cause`."""
    import urllib.request

    req = urllib.request.Request(url, headers=dict(headers or {}, **{"User-Agent": user_agent()}))
    response: HTTPResponse = _opener().open(req, timeout=timeout())
    return response


def transport_cause(e: BaseException, url: str) -> str:
    """Why no answer came, in one line; re-raises what is no network failure."""
    import http.client
    import socket
    import ssl
    import urllib.error
    from urllib.parse import urlsplit

    reason: Any = e.reason if isinstance(e, urllib.error.URLError) and not isinstance(e, urllib.error.HTTPError) else e
    parts = urlsplit(url)
    where = parts.hostname or url
    proxy = _proxy_for(url)
    cause: str
    if isinstance(reason, socket.gaierror):
        what = f"the proxy {_hostport(proxy)}" if proxy else where
        cause = f"can't resolve the host name of {what} ({reason.strerror or reason})"
        return cause
    if isinstance(reason, ssl.SSLCertVerificationError):
        detail = reason.verify_message or one_line(reason)
        return (
            f"the server's TLS certificate could not be verified ({detail}); "
            "to trust a certificate authority of your own, set SSL_CERT_FILE to its certificate file"
        )
    if isinstance(reason, ssl.SSLError):
        return f"TLS error: {one_line(reason.reason or reason)}"
    if isinstance(reason, socket.timeout) or isinstance(reason, TimeoutError):
        return f"no answer within {timeout():g} s (timed out; ASCIINEMA_HTTP_TIMEOUT sets how long to wait)"
    if isinstance(reason, ConnectionRefusedError):
        if proxy:
            return f"connection refused by the proxy {_hostport(proxy)}"
        return f"connection refused by {_netloc(parts)}"
    if isinstance(reason, OSError) and str(reason).startswith("Tunnel connection failed"):
        detail = str(reason).partition(":")[2].strip()
        return f"the proxy {_hostport(proxy or '')} refused to connect to {_netloc(parts)} ({detail})"
    if isinstance(reason, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(reason, (ConnectionResetError, BrokenPipeError)):
        return "the server closed the connection"
    if isinstance(reason, http.client.InvalidURL) or isinstance(reason, ValueError):
        return f"invalid URL: {one_line(reason)}"
    if isinstance(reason, (OSError, http.client.HTTPException)):
        return (one_line(getattr(reason, "strerror", None) or reason) or type(reason).__name__) + (
            f" (through the proxy {_hostport(proxy)})" if proxy else ""
        )
    if isinstance(reason, str):
        return one_line(reason)
    raise e


def one_line(reason: object) -> str:
    """``reason`` as text on one line (urllib and http.client messages may span several)."""
    return " ".join(str(reason).split())


def _netloc(parts: Any) -> str:
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # out of range (99999): http.client still tried it
        return parts.netloc
    return f"{parts.hostname}:{port}"


def _hostport(proxy: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return f"{parts.hostname}:{parts.port or 80}"
    except ValueError:
        return proxy


def _proxy_for(url: str) -> Optional[str]:
    """The proxy urllib sends ``url`` through, if any."""
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.netloc):
        return None
    return proxy


def _opener() -> urllib.request.OpenerDirector:
    # made for each request: its proxy handler reads the environment when it is made
    import functools
    import http.client
    import ssl
    import urllib.request

    class CutBodyMixin:
        """Stops sending a body the server stopped reading, so that its answer is read."""

        body: Any = None
        _cut = False

        def send(self, data: Any) -> None:
            if self._cut:
                return
            try:
                super().send(data)  # type: ignore[misc]  # the connection class it is mixed into
            except (BrokenPipeError, ConnectionResetError):
                if self.sock is None or not hasattr(self.body, "abort"):  # type: ignore[attr-defined]  # ditto
                    raise
                self._cut = True
                self.body.abort()

    class Connection(CutBodyMixin, http.client.HTTPConnection):
        def __init__(self, *args: Any, body: Any = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.body = body

    class SecureConnection(CutBodyMixin, http.client.HTTPSConnection):
        def __init__(self, *args: Any, body: Any = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.body = body

    class Handler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(functools.partial(Connection, body=req.data, blocksize=BLOCK), req)

    class SecureHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(functools.partial(SecureConnection, body=req.data, blocksize=BLOCK), req,
                                context=self._context)  # type: ignore[attr-defined]  # set by HTTPSHandler.__init__

    # ssl's default context reads the system store, and SSL_CERT_FILE / SSL_CERT_DIR
    return urllib.request.build_opener(Handler, SecureHandler(context=ssl.create_default_context()))
