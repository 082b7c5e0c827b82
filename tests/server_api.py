"""A local asciinema server API for the tests, on 127.0.0.1 (port 0), in threads.

It checks what the real server checks and answers as it does:

- every request needs HTTP Basic auth with a non-empty password (the install ID): 401 JSON
  otherwise;
- ``POST /api/v1/recordings`` (and ``/api/asciicasts`` of asciinema 2.x): multipart/form-data with a boundary, the recording in a part
  named ``file`` (``asciicast``, asciinema 2.x's name, is accepted too); the body is streamed
  to a temporary file, never held in memory; a part that is no asciicast gets 422; success is
  201 with ``{id, url, file_url, ..., message}``, the message telling an install ID that isn't
  linked to an account (see :attr:`ApiServer.linked`) how to link it;
- ``POST /api/v1/streams``, ``GET /api/v1/user/streams?prefix=&limit=``,
  ``PATCH /api/v1/streams/<id>``: JSON in and out; a stream's ``ws_producer_url`` is made
  from :attr:`ApiServer.producer_url` (the producer WebSocket side lives elsewhere).

Every request is recorded (:attr:`ApiServer.requests`). The server can be told to answer
anything (:meth:`ApiServer.answer`), to stall (accept and never answer), or to drop the
connection without answering. With an ``ssl.SSLContext`` it serves HTTPS
(:func:`make_certificates` makes a CA and a certificate for 127.0.0.1 with the openssl
command). :class:`ConnectProxy` is an HTTP proxy that records what it was asked for.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, Union
from urllib.parse import parse_qs, urlsplit

BODY_CHUNK = 1 << 16

INVALID_CAST = "This doesn't look like a valid asciicast file"


class Part(NamedTuple):
    """One part of a multipart body; its content is summarised, not kept."""

    name: str
    filename: Optional[str]
    content_type: Optional[str]
    size: int
    sha256: str
    head: bytes  #: the first 4 KiB of the content


class Request(NamedTuple):
    method: str
    path: str
    query: Dict[str, List[str]]
    headers: Dict[str, str]  #: names lower-cased
    auth: Optional[Tuple[str, str]]  #: (user, password) of Basic auth
    body: Any  #: parsed: Dict[str, Part] for multipart, the value for JSON, else bytes (small) or None
    length: int  #: bytes of body received


class Answer(NamedTuple):
    status: int
    body: bytes
    content_type: str


class ApiServer:
    """The test server; use as a context manager, or call :meth:`close`."""

    def __init__(self, tls: Optional[ssl.SSLContext] = None, workdir: Optional[str] = None) -> None:
        self.requests: List[Request] = []
        self.linked: set = set()  #: install IDs linked to an account (no notice in upload messages)
        #: ws_producer_url of new streams: a format string with {id} and {token}
        self.producer_url = "ws://127.0.0.1:1/ws/S/{token}"
        self.stall = False  #: accept connections, read the request head, never answer
        self.drop = False  #: close connections right after reading the request head
        #: upload size limit in bytes: larger bodies get 413 (as soon as the head is read)
        self.size_limit: Optional[int] = None
        #: after refusing a body for its size, read (and drop) it, as a polite server does;
        #: False closes at once, and the client's send fails (its kernel may even lose the answer)
        self.drain_refused = True
        self.streams: Dict[int, Dict[str, Any]] = {}
        self._answers: List[Tuple[Optional[str], Answer]] = []  #: forced answers, by path prefix
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._workdir = workdir or tempfile.mkdtemp(prefix="asciinema-api-")
        self._own_workdir = workdir is None
        self._next_id = 1
        self.uploads: List[str] = []  #: paths of the stored uploads (temporary files)
        self.tls = tls
        handler = type("Handler", (_Handler,), {"api": self})
        self._httpd = _HTTPServer(("127.0.0.1", 0), handler)
        self._httpd.tls = tls
        self.port = self._httpd.server_address[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    # -- controls ---------------------------------------------------------------------------

    def answer(self, status: int, body: Union[bytes, str, Dict[str, Any], List[Any]] = b"",
               content_type: str = "application/json", path: Optional[str] = None) -> None:
        """From now on, answer requests (to paths starting with ``path``; None: all) with
        ``status`` and ``body``, after reading them whole."""
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        with self._lock:
            self._answers.insert(0, (path, Answer(status, data, content_type)))

    def reset(self) -> None:
        """Back to normal service (stalled connections are released)."""
        with self._lock:
            self._answers.clear()
        self.stall = self.drop = False
        self._released.set()
        self._released = threading.Event()

    def forced(self, path: str) -> Optional[Answer]:
        with self._lock:
            for prefix, answer in self._answers:
                if prefix is None or path.startswith(prefix):
                    return answer
        return None

    def add_stream(self, **fields: Any) -> Dict[str, Any]:
        """A stream of the user's, as if created earlier."""
        with self._lock:
            stream_id = self._next_id
            self._next_id += 1
        token = fields.pop("token", None) or hashlib.sha256(str(stream_id).encode()).hexdigest()[:10]
        stream = {
            "id": stream_id,
            "token": token,
            "url": f"{self.url}/s/{token}",
            "ws_producer_url": self.producer_url.format(id=stream_id, token=token),
            "audio_url": None,
            "live": False,
            "title": None,
            "description": None,
            "visibility": "unlisted",
        }
        stream.update(fields)
        self.streams[stream_id] = stream
        return stream

    def close(self) -> None:
        self._released.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)
        if self._own_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> "ApiServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- used by the handler ----------------------------------------------------------------

    def wait_released(self) -> None:
        released = self._released
        released.wait(300)

    def new_id(self) -> int:
        with self._lock:
            n = self._next_id
            self._next_id += 1
            return n

    def temp_file(self) -> str:
        fd, path = tempfile.mkstemp(dir=self._workdir, suffix=".upload")
        os.close(fd)
        return path

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    tls: Optional[ssl.SSLContext] = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (or refused our certificate) is no failure of the server


class _Handler(http.server.BaseHTTPRequestHandler):
    api: ApiServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        tls = self.server.tls  # type: ignore[attr-defined]
        if tls is not None:
            self.request.settimeout(30)
            self.request = tls.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve()

    def do_PUT(self) -> None:  # noqa: N802
        self._serve()

    # -- plumbing ---------------------------------------------------------------------------

    def _send(self, status: int, body: Union[bytes, Dict[str, Any], List[Any]],
              content_type: str = "application/json") -> None:
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True

    def _length(self) -> int:
        try:
            return max(int(self.headers.get("Content-Length", "0")), 0)
        except ValueError:
            return 0

    def _read_to(self, sink: Any, length: int) -> int:
        got = 0
        while got < length:
            chunk = self.rfile.read(min(BODY_CHUNK, length - got))
            if not chunk:
                break
            if sink is not None:
                sink.write(chunk)
            got += len(chunk)
        return got

    def _auth(self) -> Optional[Tuple[str, str]]:
        value = self.headers.get("Authorization", "")
        scheme, _, data = value.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(data.strip(), validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return (user, password) if sep else None

    def _serve(self) -> None:
        api = self.api
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        auth = self._auth()
        length = self._length()

        def record(body: Any, got: int) -> None:
            api.record(Request(self.command, path, query, headers, auth, body, got))

        if api.drop:
            record(None, 0)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if api.stall:
            record(None, 0)
            api.wait_released()
            self.close_connection = True
            return
        forced = api.forced(path)
        if forced is not None:
            got = self._read_to(None, length)
            record(None, got)
            self._send(forced.status, forced.body, forced.content_type)
            return
        if auth is None or not auth[1]:
            got = self._read_to(None, length)
            record(None, got)
            self._send(401, {"message": "Unauthorized: missing or invalid install ID"})
            return
        if self.command == "POST" and path in ("/api/v1/recordings", "/api/asciicasts"):  # the latter: 2.x's
            self._upload(auth, record, length)
        elif self.command == "POST" and path == "/api/v1/streams":
            self._create_stream(record, length)
        elif self.command == "GET" and path == "/api/v1/user/streams":
            record(None, 0)
            prefix = query.get("prefix", [""])[0]
            limit = int(query.get("limit", ["10"])[0] or 10)
            found = [s for s in api.streams.values() if s["token"].startswith(prefix) or str(s["id"]) == prefix]
            self._send(200, [_public(s) for s in found[:limit]])
        elif self.command == "PATCH" and path.startswith("/api/v1/streams/"):
            self._update_stream(record, length, path.rsplit("/", 1)[1])
        else:
            got = self._read_to(None, length)
            record(None, got)
            self._send(404, {"message": "Not found"})

    # -- endpoints --------------------------------------------------------------------------

    def _json_body(self, record: Callable[[Any, int], None], length: int) -> Tuple[bool, Any]:
        data = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type", "")
        try:
            value = json.loads(data) if ctype.split(";")[0].strip().lower() == "application/json" else None
        except ValueError:
            value = None
        record(value if value is not None else data, len(data))
        if not isinstance(value, dict):
            self._send(400, {"message": "Bad request: a JSON object is expected"})
            return False, None
        return True, value

    def _create_stream(self, record: Callable[[Any, int], None], length: int) -> None:
        ok, changes = self._json_body(record, length)
        if not ok:
            return
        stream = self.api.add_stream()
        stream.update({k: v for k, v in changes.items() if k in ("live", "title", "term_type", "term_version",
                                                                  "shell", "env")})
        self._send(201, _public(stream))

    def _update_stream(self, record: Callable[[Any, int], None], length: int, ident: str) -> None:
        ok, changes = self._json_body(record, length)
        if not ok:
            return
        stream = self.api.streams.get(int(ident)) if ident.isdigit() else None
        if stream is None:
            self._send(404, {"message": "Stream not found"})
            return
        stream.update({k: v for k, v in changes.items() if k in ("live", "title", "term_type", "term_version",
                                                                  "shell", "env")})
        self._send(200, _public(stream))

    def _upload(self, auth: Tuple[str, str], record: Callable[[Any, int], None], length: int) -> None:
        api = self.api
        ctype = self.headers.get("Content-Type", "")
        kind, _, params = ctype.partition(";")
        boundary = None
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.lower() == "boundary":
                boundary = value.strip('"')
        if "Content-Length" not in self.headers:
            record(None, 0)
            self._send(411, {"message": "Length required"})
            return
        if api.size_limit is not None and length > api.size_limit:
            # answered at once, as a proxy in front of a server does; the rest is read and
            # dropped so that the client gets to read the answer (a close with unread data
            # would reset the connection)
            record(None, 0)
            self._send(413, {"message": f"The recording exceeds the size limit of {api.size_limit} bytes"})
            if api.drain_refused:
                self._read_to(None, length)
            else:
                self.connection.shutdown(socket.SHUT_WR)
            return
        path = api.temp_file()
        with open(path, "wb") as f:
            got = self._read_to(f, length)
        api.uploads.append(path)
        if kind.strip().lower() != "multipart/form-data" or not boundary:
            record(None, got)
            self._send(400, {"message": "Bad request: multipart/form-data expected"})
            return
        parts = parse_multipart(path, boundary.encode("latin-1"))
        record(parts, got)
        if parts is None:
            self._send(400, {"message": "Bad request: malformed multipart body"})
            return
        part = parts.get("file") or parts.get("asciicast")
        if part is None:
            self._send(400, {"message": "Bad request: no file part"})
            return
        if not looks_like_asciicast(part.head):
            self._send(422, {"message": INVALID_CAST})
            return
        rec_id = api.new_id()
        url = f"{api.url}/a/{rec_id}"
        message = f"View the recording at:\n\n    {url}\n"
        if auth[1] not in api.linked:
            message += (
                f"\nThis CLI is not linked to an account on this server yet; recordings from unlinked CLIs "
                f"may be removed after a while. To keep them, link it with `asciinema auth` "
                f"({api.url}/connect/{auth[1]}).\n"
            )
        self._send(201, {
            "id": rec_id,
            "url": url,
            "file_url": f"{url}.cast",
            "audio_url": None,
            "title": None,
            "description": None,
            "visibility": "unlisted",
            "message": message,
        })


def _public(stream: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in stream.items() if k != "token"}


def looks_like_asciicast(head: bytes) -> bool:
    """What the server checks before it stores a recording: a v2/v3 header line, or a v1
    JSON document."""
    first = head.split(b"\n", 1)[0]
    try:
        header = json.loads(first)
    except ValueError:
        return head.lstrip().startswith(b"{") and b'"version"' in head
    return isinstance(header, dict) and header.get("version") in (1, 2, 3)


def parse_multipart(path: str, boundary: bytes) -> Optional[Dict[str, Part]]:
    """The parts of the multipart body in ``path``, read in chunks (never whole)."""
    delimiter = b"\r\n--" + boundary
    positions: List[int] = []
    with open(path, "rb") as f:
        # the first delimiter has no CRLF before it
        start = f.read(len(boundary) + 4)
        if not start.startswith(b"--" + boundary + b"\r\n"):
            return None
        positions.append(-2)  # as if the delimiter's CRLF stood before the body
        offset, carry = 0, b""
        f.seek(0)
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            data = carry + chunk
            base = offset - len(carry)
            i = data.find(delimiter)
            while i != -1:
                positions.append(base + i)
                i = data.find(delimiter, i + 1)
            carry = data[-(len(delimiter) - 1):]
            offset += len(chunk)
            positions = sorted(set(positions))
        parts: Dict[str, Part] = {}
        for begin, end in zip(positions, positions[1:]):
            f.seek(begin + len(delimiter))
            after = f.read(2)
            if after != b"\r\n":
                return None
            head_start = begin + len(delimiter) + 2
            f.seek(head_start)
            block = f.read(min(8192, end - head_start))
            sep = block.find(b"\r\n\r\n")
            if sep == -1:
                return None
            part_headers = _part_headers(block[:sep].decode("utf-8", "replace"))
            disposition = part_headers.get("content-disposition", "")
            params = _disposition_params(disposition)
            if not disposition.lower().startswith("form-data") or "name" not in params:
                return None
            content_start = head_start + sep + 4
            f.seek(content_start)
            digest = hashlib.sha256()
            remaining = end - content_start
            head = b""
            while remaining > 0:
                chunk = f.read(min(1 << 20, remaining))
                if not chunk:
                    return None
                if len(head) < 4096:
                    head += chunk[:4096 - len(head)]
                digest.update(chunk)
                remaining -= len(chunk)
            parts[params["name"]] = Part(params["name"], params.get("filename"), part_headers.get("content-type"),
                                         end - content_start, digest.hexdigest(), head)
        # the last delimiter closes the body
        if not positions or positions[-1] < 0:
            return None
        f.seek(positions[-1] + len(delimiter))
        if f.read(2) != b"--":
            return None
    return parts


def _part_headers(text: str) -> Dict[str, str]:
    out = {}
    for line in text.split("\r\n"):
        name, _, value = line.partition(":")
        out[name.strip().lower()] = value.strip()
    return out


def _disposition_params(value: str) -> Dict[str, str]:
    params = {}
    for item in value.split(";")[1:]:
        name, _, v = item.strip().partition("=")
        if len(v) >= 2 and v[0] == v[-1] == '"':
            v = v[1:-1]
        params[name.lower()] = v
    return params


# -- TLS ---------------------------------------------------------------------------------------


class Certificates(NamedTuple):
    ca: str  #: the CA's certificate (PEM), for SSL_CERT_FILE
    cert: str  #: the server's certificate for 127.0.0.1 and localhost, signed by the CA
    key: str


def make_certificates(directory: Path) -> Certificates:
    """A throw-away CA and a server certificate signed by it, made with the openssl command.

    The CA has the extensions that strict verification (Python 3.13's default) asks for.
    Raises FileNotFoundError when there is no openssl command.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl")
    d = directory
    ca_key, ca, key, csr, cert = (str(d / n) for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = d / "server.ext"
    ext.write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid\n"
    )

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=120)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=asciinema test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash")
    run("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
        "-extfile", str(ext))
    return Certificates(ca, cert, key)


def server_context(certs: Certificates) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.cert, certs.key)
    return context


# -- proxy -------------------------------------------------------------------------------------


class ConnectProxy:
    """An HTTP proxy on 127.0.0.1 (port 0): CONNECT tunnels, and plain http requests in
    absolute form. ``requests`` holds (method, target) of each request it got."""

    def __init__(self) -> None:
        self.requests: List[Tuple[str, str]] = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            rbufsize = 0  # nothing read ahead of the request head: the relay gets it all

            def handle(self) -> None:
                proxy._handle(self)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def __enter__(self) -> "ConnectProxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _handle(self, handler: socketserver.StreamRequestHandler) -> None:
        line = handler.rfile.readline(65536).decode("latin-1")
        head_lines = []
        while True:
            h = handler.rfile.readline(65536)
            if h in (b"\r\n", b"\n", b""):
                break
            head_lines.append(h)
        parts = line.split()
        if len(parts) != 3:
            return
        method, target, version = parts
        self.requests.append((method, target))
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=30)
            except OSError:
                handler.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            handler.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            handler.wfile.flush()
            _pipe(handler.connection, upstream)
            return
        url = urlsplit(target)
        try:
            upstream = socket.create_connection((url.hostname or "", url.port or 80), timeout=30)
        except OSError:
            handler.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        origin = (url.path or "/") + (f"?{url.query}" if url.query else "")
        upstream.sendall(f"{method} {origin} {version}\r\n".encode("latin-1") + b"".join(head_lines) + b"\r\n")
        _pipe(handler.connection, upstream)


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Relay bytes both ways until either side closes."""
    try:
        while True:
            readable, _, _ = select.select([client, upstream], [], [], 60)
            if not readable:
                return
            for src in readable:
                dst = upstream if src is client else client
                data = src.recv(BODY_CHUNK)
                if not data:
                    return
                dst.sendall(data)
    except OSError:
        return
    finally:
        upstream.close()
