"""The asciinema server API: URLs, headers, request bodies and the meaning of the answers.

Everything here but :func:`obtain_stream` is pure (text in, text or bytes out), so the rules
are tested without a network; the requests themselves go through
:mod:`asciinema.http_client`. The server URL's path is always replaced by the API path
(its query is kept), and every call authenticates with HTTP Basic ``$USER:<install ID>``.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from asciinema.errors import ConfigError, NetworkError

#: what the first-use prompt offers
DEFAULT_SERVER_URL = "https://asciinema.org"

RECORDINGS_PATH = "api/v1/recordings"
STREAMS_PATH = "api/v1/streams"
USER_STREAMS_PATH = "api/v1/user/streams"

TOO_LARGE = "The recording exceeds the server-configured size limit"

#: reason phrases as asciinema 3 words them in status errors (the HTTP library it uses), where
#: Python's differ or change between versions
_REASONS = {
    413: "Payload Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Entity",
}

# Characters a URL query can't hold as they are (the WHATWG query percent-encode set of
# special schemes): everything else in a stream ID prefix goes into the query unchanged,
# "&" and "=" included, as asciinema 3 sends it.
_QUERY_UNSAFE = frozenset(' "#<>\'')


class StreamInfo(NamedTuple):
    id: int
    producer_url: str
    public_url: str


class ServerURL(NamedTuple):
    """A parsed server URL; ``text`` is its normalised spelling (``https://asciinema.org/``)."""

    scheme: str
    netloc: str  #: host[:port], lower-cased, without a default port or credentials
    host: str  #: as messages name the server
    query: str
    text: str


def parse_server_url(url: str) -> ServerURL:
    """Check and normalise a server URL; raises ConfigError with the reason."""
    from urllib.parse import urlsplit

    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as e:
        raise ConfigError(f"invalid server URL {url}: {e}") from None
    scheme = parts.scheme.lower()
    if not scheme or "://" not in text:
        raise ConfigError(f"invalid server URL {url}: it needs a scheme, as in {DEFAULT_SERVER_URL}")
    if scheme not in ("http", "https"):
        raise ConfigError(f"invalid server URL {url}: the scheme must be http or https")
    host = parts.hostname
    if not host:
        raise ConfigError("server URL is missing a host")
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc += f":{port}"
    path = parts.path or "/"
    query = parts.query
    normalised = f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")
    return ServerURL(scheme, netloc, shown_host, query, normalised)


def endpoint(server_url: str, path: str, query: Optional[str] = None) -> str:
    """``server_url`` with its path replaced by ``path``; its query kept unless one is given."""
    url = parse_server_url(server_url)
    q = url.query if query is None else query
    return f"{url.scheme}://{url.netloc}/{path}" + (f"?{q}" if q else "")


def host(server_url: str) -> str:
    return parse_server_url(server_url).host


def connect_url(server_url: str, install_id: str) -> str:
    return endpoint(server_url, f"connect/{install_id}")


def auth_text(server_url: str, install_id: str) -> str:
    """What ``asciinema auth`` prints."""
    name = host(server_url)
    return (
        f"Open the following URL in a web browser to authenticate this CLI with your {name} user account:\n"
        f"\n"
        f"{connect_url(server_url, install_id)}\n"
        f"\n"
        f"This will associate all recordings uploaded from this machine with your account (including past "
        f"uploads), and enable public live streaming via {name}.\n"
    )


def headers(user: str, install_id: str, user_agent: str) -> Dict[str, str]:
    """The headers of every API request."""
    credentials = base64.b64encode(f"{user}:{install_id}".encode("utf-8", "surrogateescape")).decode("ascii")
    return {
        "Authorization": f"Basic {credentials}",
        "User-Agent": user_agent,
        "Accept": "application/json",
    }


# -- upload ----------------------------------------------------------------------------------


def multipart_frame(filename: str, boundary: str, field: str = "file") -> Tuple[bytes, bytes]:
    """The bytes before and after the file's content in a one-part multipart/form-data body."""
    # a name can't end the quoted string or the header line (as browsers write it)
    name = filename.encode("utf-8", "surrogateescape")
    name = name.replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A")
    head = (
        f"--{boundary}\r\n".encode("ascii")
        + f'Content-Disposition: form-data; name="{field}"; filename="'.encode("ascii")
        + name
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )
    tail = f"\r\n--{boundary}--\r\n".encode("ascii")
    return head, tail


def multipart_content_type(boundary: str) -> str:
    return f"multipart/form-data; boundary={boundary}"


def status_error(status: int, url: str) -> str:
    """A non-2xx status in asciinema 3's words."""
    from http import HTTPStatus

    reason = _REASONS.get(status)
    if reason is None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "<unknown status code>"
    kind = "client" if 400 <= status < 500 else "server" if 500 <= status < 600 else "unexpected"
    return f"HTTP status {kind} error ({status} {reason}) for url ({url})"


def _json_object(body: bytes) -> Optional[Dict[str, Any]]:
    try:
        value = json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    return value if isinstance(value, dict) else None


def _json_message(body: bytes) -> Optional[str]:
    obj = _json_object(body)
    message = obj.get("message") if obj is not None else None
    return message if isinstance(message, str) else None


def size_text(size: int) -> str:
    """A file size as people read it: ``212.4 MB``."""
    if size < 1000:
        return f"{size} bytes" if size != 1 else "1 byte"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if size < scale * 1000 or unit == "GB":
            return f"{size / scale:.1f} {unit}"
    raise AssertionError  # the loop returns


def upload_result(status: int, body: bytes, url: str, file_size: int) -> str:
    """What to print for the server's answer to an upload; raises NetworkError for a refusal."""
    if status == 413:
        refusal = (_json_message(body) or TOO_LARGE).rstrip().rstrip(".")
        raise NetworkError(f"{refusal} (the file is {size_text(file_size)})")
    if not 200 <= status < 300:
        raise NetworkError(status_error(status, url))
    obj = _json_object(body)
    if obj is None:
        raise NetworkError(f"unexpected answer from {url}: not a JSON object")
    message = obj.get("message")
    if isinstance(message, str):
        return message
    link = obj.get("url")
    if isinstance(link, str):
        return link
    raise NetworkError(f"unexpected answer from {url}: no url in it")


# -- streams ---------------------------------------------------------------------------------


def changeset(
    title: Optional[str],
    term_type: Optional[str],
    term_version: Optional[str],
    shell: Optional[str],
    env: Optional[Mapping[str, str]],
) -> Dict[str, Any]:
    """The stream's attributes as the stream endpoints take them, in asciinema 3's order: no
    title leaves the title as it is, the others are sent as null when unknown."""
    fields: Dict[str, Any] = {"live": True}
    if title is not None:
        fields["title"] = title
    fields["term_type"] = term_type
    fields["term_version"] = term_version
    fields["shell"] = shell
    fields["env"] = dict(env) if env else None
    return fields


def stream_query(prefix: str) -> str:
    """The query that lists the user's streams whose ID starts with ``prefix``."""
    return f"prefix={_query_escape(prefix)}&limit=10"


def _query_escape(text: str) -> str:
    out: List[str] = []
    for c in text:
        if c in _QUERY_UNSAFE or not (0x20 < ord(c) < 0x7F):
            out.extend(f"%{b:02X}" for b in c.encode("utf-8", "surrogateescape"))
        else:
            out.append(c)
    return "".join(out)


def stream_error(status: int, body: bytes, url: str, server_host: str) -> str:
    """A non-2xx answer of a stream endpoint in asciinema 3's words."""
    if status == 401:
        return f"this CLI hasn't been authenticated with {server_host} - run `asciinema auth` first"
    if status in (404, 422):
        return _json_message(body) or f"{server_host} doesn't support streaming"
    return status_error(status, url)


def stream_info(body: bytes, url: str) -> StreamInfo:
    """The stream in a stream endpoint's 2xx answer."""
    obj = _json_object(body)
    if obj is None:
        raise NetworkError(f"unexpected answer from {url}: not a JSON object")
    return _stream_of(obj, url)


def _stream_of(obj: Mapping[str, Any], url: str) -> StreamInfo:
    id_, producer, public = obj.get("id"), obj.get("ws_producer_url"), obj.get("url")
    if not isinstance(id_, int) or isinstance(id_, bool) or not isinstance(producer, str) or not isinstance(public, str):
        raise NetworkError(f"unexpected answer from {url}: a stream needs id, url and ws_producer_url")
    return StreamInfo(id_, producer, public)


def matching_stream(body: bytes, url: str, prefix: str) -> StreamInfo:
    """The one stream in the answer to a prefix search; raises NetworkError for none or several."""
    try:
        value = json.loads(body.decode("utf-8"))
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
        raise NetworkError(f"unexpected answer from {url}: not a JSON array of streams")
    streams: List[Dict[str, Any]] = value
    if not streams:
        raise NetworkError(f'no stream matches "{prefix}"')
    if len(streams) > 1:
        # one line, as every error is (asciinema 3 lists them one a line)
        urls = ", ".join(str(s.get("url", s.get("id"))) for s in streams)
        raise NetworkError(f'multiple streams match "{prefix}" prefix: {urls}')
    return _stream_of(streams[0], url)


def obtain_stream(server_url: str, install_id: str, user: str, target: str, changes: Dict[str, Any]) -> StreamInfo:
    """Create a stream (``target`` empty) or update the one whose ID starts with ``target``,
    and return where to send it and where it can be watched."""
    from asciinema import http_client

    server_host = host(server_url)
    base = headers(user, install_id, http_client.user_agent())
    json_headers = dict(base, **{"Content-Type": "application/json"})
    payload = json.dumps(changes).encode("utf-8")

    def call(method: str, url: str, body: Optional[bytes], hdrs: Dict[str, str]) -> bytes:
        try:
            response = http_client.request(method, url, hdrs, body)
        except NetworkError as e:
            raise NetworkError(f"cannot obtain stream producer endpoint - is the server down?: {e}") from None
        if not 200 <= response.status < 300:
            raise NetworkError(stream_error(response.status, response.body, url, server_host))
        return response.body

    if not target:
        url = endpoint(server_url, STREAMS_PATH)
        return stream_info(call("POST", url, payload, json_headers), url)
    url = endpoint(server_url, USER_STREAMS_PATH, stream_query(target))
    found = matching_stream(call("GET", url, None, base), url, target)
    url = endpoint(server_url, f"{STREAMS_PATH}/{found.id}")
    return stream_info(call("PATCH", url, payload, json_headers), url)
