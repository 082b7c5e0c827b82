"""What the stream server answers to a plain HTTP request: routing, conditional requests
and compression, as pure functions of the request's path and headers (no sockets here).

Paths are matched exactly against a fixed table and files are served from memory, never
looked up on disk, so no spelling of ``..`` or of an absolute path can reach anything
else: every path not in the table gets 404.

Bound to a loopback address the page lives at ``/`` (as asciinema 3 has it). Bound to any
other address everything lives under ``/s/<token>/``, with a token too long to guess; a
missing or wrong token gets the same 404 as any unknown path.

Caching as asciinema 3.1 does it: each player file is also served at a name with its
digest in it (``asciinema-player.min.<16 hex of its SHA-256>.js``), which never changes
meaning and so may be cached for a year; the page refers to those names, and it and the
plain names are revalidated on every use (ETag and If-None-Match).

The session's process imports this module for :func:`parse_address` only, so what the
rest needs (hashlib, which loads OpenSSL, gzip, hmac) is imported where it is used.
"""

from __future__ import annotations

import ipaddress
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from asciinema.errors import UsageError
from asciinema.hashing import fnv1a_128
from asciinema.player_assets import PLAYER_CSS, PLAYER_JS, fill_options, read_asset

#: our page (the player's files are named in asciinema.player_assets)
PAGE = "index.html"
#: what the page refers to, by the names in its ``src``/``href`` attributes
PLAYER_FILES = (PLAYER_JS, PLAYER_CSS)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}

#: the digest names: their content never changes
IMMUTABLE = "public, max-age=31536000, immutable"
#: the page and the plain names: cached, but asked about again on every use
REVALIDATE = "public, max-age=0, must-revalidate"

Headers = Sequence[Tuple[str, str]]


class Asset(NamedTuple):
    content_type: str
    body: bytes
    etag: str  #: weak: the gzip and identity forms share it
    digest_name: Optional[str] = None  #: the name it is also served at, cached for good


class Reply(NamedTuple):
    status: int
    headers: List[Tuple[str, str]]
    body: bytes


def _content_type(name: str) -> str:
    return CONTENT_TYPES.get(name[name.rfind("."):], "application/octet-stream")


def make_asset(name: str, body: bytes) -> Asset:
    """A player file: its ETag and its digest name both come from its SHA-256."""
    import hashlib

    digest = hashlib.sha256(body).hexdigest()[:16]
    base, dot, ext = name.rpartition(".")
    return Asset(_content_type(name), body, f'W/"{digest}"', f"{base}.{digest}.{ext}" if dot else f"{name}.{digest}")


def make_page(html: str, assets: Dict[str, Asset]) -> Asset:
    """The page, its references to the player's files turned into their digest names;
    its ETag is the FNV-1a-128 of what it became, as asciinema 3.1 makes it."""
    for name, asset in assets.items():
        if asset.digest_name is not None:
            html = html.replace(f'"{name}"', f'"{asset.digest_name}"')
    body = html.encode("utf-8")
    return Asset(_content_type(PAGE), body, 'W/"%032x"' % fnv1a_128(body))


def read_files() -> Dict[str, bytes]:
    """The page and the player's files as they are in the package (source tree or archive);
    an AsciinemaError when the player is missing."""
    return {name: read_asset(name) for name in (PAGE,) + PLAYER_FILES}


def build_assets(files: Dict[str, bytes]) -> Dict[str, Asset]:
    """What :class:`Site` serves, made from :func:`read_files`' files."""
    assets = {name: make_asset(name, files[name]) for name in PLAYER_FILES}
    assets[PAGE] = make_page(fill_options(files[PAGE].decode("utf-8")), assets)
    return assets


def load_assets() -> Dict[str, Asset]:
    """The page and the player, read from the package and ready to serve."""
    return build_assets(read_files())


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_address(value: str) -> Tuple[str, int]:
    """``IP:PORT`` or ``[IPv6]:PORT`` (an IP literal, not a host name) to ``(ip, port)``."""
    host, sep, port = value.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise UsageError(f"invalid socket address {value!r}: want IP:PORT, e.g. 127.0.0.1:8080")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        want = ipaddress.IPv6Address
    else:
        want = ipaddress.IPv4Address  # type: ignore[assignment]  # either class parses a str
    try:
        want(host)
    except ValueError:
        raise UsageError(f"invalid socket address {value!r}: want IP:PORT, e.g. 127.0.0.1:8080") from None
    return host, int(port)


def header(headers: Headers, name: str) -> Optional[str]:
    """All values of header ``name`` joined with commas (HTTP list semantics); None if absent."""
    name = name.lower()
    values = [v for k, v in headers if k.lower() == name]
    return ", ".join(values) if values else None


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison of ``etag`` against an If-None-Match list (``*`` matches anything)."""
    if if_none_match.strip() == "*":
        return True
    ours = etag[2:] if etag.startswith("W/") else etag
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == ours:
            return True
    return False


def accepts_gzip(accept_encoding: Optional[str]) -> bool:
    if not accept_encoding:
        return False
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        return q > 0
    return False


def _authority(value: str) -> str:
    """``host[:port]`` of an Origin (``scheme://host[:port]``) or a Host header, lower-cased."""
    value = value.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1]
    return value.split("/", 1)[0]


#: what process_request answers for ``/ws``: go on with the WebSocket handshake
WEBSOCKET = None


class Site:
    """The routing table of one server."""

    def __init__(self, assets: Dict[str, Asset], token: Optional[str] = None) -> None:
        self.assets = assets
        self.token = token
        self.prefix = f"/s/{token}" if token else ""
        #: path -> (asset, served at its digest name)
        self.paths: Dict[str, Tuple[str, bool]] = {"/": (PAGE, False)}
        for name, asset in assets.items():
            self.paths["/" + name] = (name, False)
            if asset.digest_name is not None:
                self.paths["/" + asset.digest_name] = (name, True)
        self._gzipped: Dict[str, bytes] = {}

    def route(self, target: str, headers: Headers) -> Optional[Reply]:
        """The reply for a GET of ``target`` (path plus query); None (:data:`WEBSOCKET`)
        when the WebSocket handshake should go on."""
        raw = target.split("?", 1)[0].split("#", 1)[0]
        path = raw if self.token is None else self._strip_token(raw)
        if path == "" and self.token is not None:  # exactly /s/<token>: relative links need the slash
            return self._redirect(self.prefix + "/")
        if path is None:
            return not_found()
        if path == "/ws":
            return self._check_origin(headers)
        found = self.paths.get(path)
        if found is None:
            return not_found()
        return self._asset(*found, headers)

    def _strip_token(self, path: str) -> Optional[str]:
        """The path below ``/s/<token>``; "" for exactly ``/s/<token>``; None otherwise."""
        import hmac

        if not path.startswith("/s/"):
            return None
        token, slash, rest = path[3:].partition("/")
        if not hmac.compare_digest(token.encode("utf-8", "replace"), self.token.encode()):  # type: ignore[union-attr]  # set where tokens are used
            return None
        return slash + rest

    def _check_origin(self, headers: Headers) -> Optional[Reply]:
        # Browsers let any web page open a WebSocket to any address, and send its origin
        # along. Without a token, a page from elsewhere must not read the terminal.
        if self.token is not None:
            return WEBSOCKET
        origin = header(headers, "Origin")
        host = header(headers, "Host")
        if origin is None or (host is not None and _authority(origin) == _authority(host)):
            return WEBSOCKET
        return Reply(403, _plain_headers(b"403"), b"403")

    def _asset(self, name: str, immutable: bool, headers: Headers) -> Reply:
        asset = self.assets[name]
        common = [
            ("Content-Type", asset.content_type),
            ("ETag", asset.etag),
            ("Cache-Control", IMMUTABLE if immutable else REVALIDATE),
            ("Vary", "Accept-Encoding"),
        ] + _SECURITY
        inm = header(headers, "If-None-Match")
        if inm is not None and etag_matches(inm, asset.etag):
            return Reply(304, common, b"")
        body = asset.body
        if accepts_gzip(header(headers, "Accept-Encoding")):
            body = self._gzip(name)
            common.append(("Content-Encoding", "gzip"))
        return Reply(200, common + [("Content-Length", str(len(body)))], body)

    def _gzip(self, name: str) -> bytes:
        data = self._gzipped.get(name)
        if data is None:
            import gzip

            data = self._gzipped[name] = gzip.compress(self.assets[name].body, 9, mtime=0)
        return data

    @staticmethod
    def _redirect(location: str) -> Reply:
        return Reply(301, [("Location", location), ("Content-Length", "0")] + _SECURITY, b"")


#: The token path must not leak through the Referer header to anything the page links to.
_SECURITY = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")]


def _plain_headers(body: bytes) -> List[Tuple[str, str]]:
    return [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))] + _SECURITY


def not_found() -> Reply:
    return Reply(404, _plain_headers(b"404"), b"404")
