"""The server API's pure parts (URLs, headers, multipart framing, answers, changeset), the
server URL's precedence, and obtain_stream against the local test server."""

from __future__ import annotations

import base64
import json
import re
import socket
from typing import Dict

import pytest

from asciinema import api
from asciinema.api import StreamInfo, changeset, obtain_stream
from asciinema.errors import ConfigError, NetworkError
from asciinema.http_client import user_agent
from asciinema.server_url import choose, defaults_toml
from server_api import ApiServer

INSTALL_ID = "2b1a8c39-f3a1-4a7e-9a51-0f3b5b8a1c2d"


@pytest.mark.parametrize("given,normalised", [
    ("https://asciinema.org", "https://asciinema.org/"),
    ("HTTPS://Asciinema.ORG:443/", "https://asciinema.org/"),
    ("http://example.com:80/x?y=1", "http://example.com/x?y=1"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
    ("http://[::1]:9000/", "http://[::1]:9000/"),
    (" https://asciinema.org/ ", "https://asciinema.org/"),
])
def test_server_urls_are_normalised(given: str, normalised: str) -> None:
    assert api.parse_server_url(given).text == normalised


@pytest.mark.parametrize("given,message", [
    ("http://", "server URL is missing a host"),
    ("https://:443/", "server URL is missing a host"),
    ("asciinema.org", "invalid server URL asciinema.org: it needs a scheme, as in https://asciinema.org"),
    ("ftp://example.com", "invalid server URL ftp://example.com: the scheme must be http or https"),
    ("http://example.com:port", "invalid server URL http://example.com:port: Port could not be cast to integer value as 'port'"),
])
def test_bad_server_urls(given: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        api.parse_server_url(given)
    assert str(e.value) == message


def test_the_api_path_replaces_the_servers_and_the_query_stays() -> None:
    assert api.endpoint("https://example.com/some/path?team=a#frag", api.RECORDINGS_PATH) == (
        "https://example.com/api/v1/recordings?team=a"
    )
    assert api.endpoint("http://h:81", api.USER_STREAMS_PATH, "prefix=x&limit=10") == (
        "http://h:81/api/v1/user/streams?prefix=x&limit=10"
    )


def test_auth_text() -> None:
    assert api.auth_text("https://asciinema.example.com:8443/x?y=1", INSTALL_ID) == (
        "Open the following URL in a web browser to authenticate this CLI with your asciinema.example.com "
        "user account:\n"
        "\n"
        f"https://asciinema.example.com:8443/connect/{INSTALL_ID}?y=1\n"
        "\n"
        "This will associate all recordings uploaded from this machine with your account (including past "
        "uploads), and enable public live streaming via asciinema.example.com.\n"
    )


def test_headers() -> None:
    h = api.headers("alice", INSTALL_ID, "UA")
    assert h["Authorization"] == "Basic " + base64.b64encode(f"alice:{INSTALL_ID}".encode()).decode()
    assert h["Accept"] == "application/json" and h["User-Agent"] == "UA"
    empty_user = api.headers("", INSTALL_ID, "UA")["Authorization"]
    assert base64.b64decode(empty_user.split()[1]) == f":{INSTALL_ID}".encode()


def test_user_agent_names_version_and_target() -> None:
    assert re.fullmatch(r"asciinema/3\.1\.0 target/[a-z0-9_]+-[a-z]+-[a-z]+(-[a-z]+)?", user_agent()), user_agent()


def test_multipart_frame() -> None:
    head, tail = api.multipart_frame("demo.cast", "BOUND")
    assert head == (
        b"--BOUND\r\n"
        b'Content-Disposition: form-data; name="file"; filename="demo.cast"\r\n'
        b"Content-Type: application/octet-stream\r\n"
        b"\r\n"
    )
    assert tail == b"\r\n--BOUND--\r\n"
    assert api.multipart_content_type("BOUND") == "multipart/form-data; boundary=BOUND"
    head, _ = api.multipart_frame('a"b\r\nc żółć.cast', "B")
    assert b'filename="a%22b%0D%0Ac \xc5\xbc\xc3\xb3\xc5\x82\xc4\x87.cast"' in head


@pytest.mark.parametrize("status,text", [
    (401, "HTTP status client error (401 Unauthorized) for url (U)"),
    (403, "HTTP status client error (403 Forbidden) for url (U)"),
    (422, "HTTP status client error (422 Unprocessable Entity) for url (U)"),
    (500, "HTTP status server error (500 Internal Server Error) for url (U)"),
    (503, "HTTP status server error (503 Service Unavailable) for url (U)"),
    (599, "HTTP status server error (599 <unknown status code>) for url (U)"),
])
def test_status_errors_as_asciinema_3_words_them(status: int, text: str) -> None:
    assert api.status_error(status, "U") == text


def test_upload_answers() -> None:
    ok = json.dumps({"url": "https://h/a/1", "message": "View it:\n\n    https://h/a/1\n"}).encode()
    assert api.upload_result(201, ok, "U", 10) == "View it:\n\n    https://h/a/1\n"
    assert api.upload_result(200, b'{"url": "https://h/a/1"}', "U", 10) == "https://h/a/1"
    for status, body, message in [
        (413, b'{"message": "Recordings are limited to 5 MB."}', "Recordings are limited to 5 MB (the file is 212.4 MB)"),
        (413, b"<html>nginx</html>", "The recording exceeds the server-configured size limit (the file is 212.4 MB)"),
        (401, b'{"message": "no"}', "HTTP status client error (401 Unauthorized) for url (U)"),
        (200, b"<html>", "unexpected answer from U: not a JSON object"),
        (201, b'{"id": 1}', "unexpected answer from U: no url in it"),
    ]:
        with pytest.raises(NetworkError) as e:
            api.upload_result(status, body, "U", 212_400_000)
        assert str(e.value) == message


def test_sizes_as_people_read_them() -> None:
    assert [api.size_text(n) for n in (0, 1, 999, 1000, 5_300_000, 212_449_999, 3 * 10**9)] == [
        "0 bytes", "1 byte", "999 bytes", "1.0 kB", "5.3 MB", "212.4 MB", "3.0 GB"]


def test_changeset_order_and_nulls() -> None:
    full = changeset("T", "xterm-256color", "VTE(7600)", "/bin/zsh", {"SHELL": "/bin/zsh"})
    assert json.dumps(full) == (
        '{"live": true, "title": "T", "term_type": "xterm-256color", "term_version": "VTE(7600)", '
        '"shell": "/bin/zsh", "env": {"SHELL": "/bin/zsh"}}'
    )
    assert json.dumps(changeset(None, None, None, None, {})) == (
        '{"live": true, "term_type": null, "term_version": null, "shell": null, "env": null}'
    )


def test_stream_prefix_query_is_not_form_encoded() -> None:
    assert api.stream_query("abc") == "prefix=abc&limit=10"
    assert api.stream_query("a&b=c") == "prefix=a&b=c&limit=10"
    assert api.stream_query('a b"#<>ż') == "prefix=a%20b%22%23%3C%3E%C5%BC&limit=10"


def test_server_url_precedence() -> None:
    assert choose(None, {}, None) == (None, "")
    assert choose("https://file", {}, None) == ("https://file", "config")
    env: Dict[str, str] = {"ASCIINEMA_API_URL": "https://api"}
    assert choose("https://file", env, None) == ("https://api", "ASCIINEMA_API_URL")
    env["ASCIINEMA_SERVER_URL"] = "https://server"
    assert choose("https://file", env, None) == ("https://server", "ASCIINEMA_SERVER_URL")
    assert choose("https://file", env, "https://flag") == ("https://flag", "--server-url")
    assert choose("https://file", {"ASCIINEMA_SERVER_URL": ""}, "") == ("https://file", "config")


def test_defaults_toml() -> None:
    assert defaults_toml("https://asciinema.org/") == '[server]\nurl = "https://asciinema.org/"\n'
    assert defaults_toml('http://h/"q"\\') == '[server]\nurl = "http://h/\\"q\\"\\\\"\n'


# -- obtain_stream against the test server --------------------------------------------------------

CHANGES = changeset("Live", "xterm", None, "/bin/sh", {"SHELL": "/bin/sh"})


def test_obtain_stream_creates_one(api_server: ApiServer) -> None:
    api_server.producer_url = "ws://127.0.0.1:9/ws/S/{token}"
    info = obtain_stream(api_server.url + "/ignored", INSTALL_ID, "alice", "", CHANGES)
    assert isinstance(info, StreamInfo)
    stream = api_server.streams[info.id]
    assert info == StreamInfo(stream["id"], f"ws://127.0.0.1:9/ws/S/{stream['token']}", stream["url"])
    assert stream["title"] == "Live" and stream["live"] is True
    (req,) = api_server.requests
    assert (req.method, req.path, req.auth, req.body) == ("POST", "/api/v1/streams", ("alice", INSTALL_ID), CHANGES)
    assert req.headers["content-type"] == "application/json"
    assert req.headers["accept"] == "application/json" and req.headers["user-agent"] == user_agent()


def test_obtain_stream_updates_the_one_matching_prefix(api_server: ApiServer) -> None:
    api_server.add_stream(token="abc123")
    target = api_server.add_stream(token="xyz789")
    info = obtain_stream(api_server.url, INSTALL_ID, "alice", "xyz", CHANGES)
    assert info.id == target["id"] and info.public_url == target["url"]
    get, patch = api_server.requests
    assert (get.method, get.path, get.query) == ("GET", "/api/v1/user/streams", {"prefix": ["xyz"], "limit": ["10"]})
    assert (patch.method, patch.path, patch.body) == ("PATCH", f"/api/v1/streams/{target['id']}", CHANGES)
    assert api_server.streams[target["id"]]["title"] == "Live"


def test_obtain_stream_refuses_no_match_and_several(api_server: ApiServer) -> None:
    a = api_server.add_stream(token="abc123")
    b = api_server.add_stream(token="abd456")
    with pytest.raises(NetworkError) as e:
        obtain_stream(api_server.url, INSTALL_ID, "alice", "zzz", CHANGES)
    assert str(e.value) == 'no stream matches "zzz"'
    with pytest.raises(NetworkError) as e:
        obtain_stream(api_server.url, INSTALL_ID, "alice", "ab", CHANGES)
    assert str(e.value) == f'multiple streams match "ab" prefix: {a["url"]}, {b["url"]}'
    assert all(r.method == "GET" for r in api_server.requests)


@pytest.mark.parametrize("status,body,message", [
    (401, {"message": "x"}, "this CLI hasn't been authenticated with 127.0.0.1 - run `asciinema auth` first"),
    (404, {"message": "Stream not found"}, "Stream not found"),
    (404, b"", "127.0.0.1 doesn't support streaming"),
    (422, {"message": "Maximum 1 live streams reached"}, "Maximum 1 live streams reached"),
    (422, "<html>", "127.0.0.1 doesn't support streaming"),
    (403, {"message": "Streaming is disabled for this account"},
     "HTTP status client error (403 Forbidden) for url ({url}/api/v1/streams)"),
    (500, b"", "HTTP status server error (500 Internal Server Error) for url ({url}/api/v1/streams)"),
])
def test_obtain_stream_errors(api_server: ApiServer, status: int, body: object, message: str) -> None:
    api_server.answer(status, body)  # type: ignore[arg-type]
    with pytest.raises(NetworkError) as e:
        obtain_stream(api_server.url, INSTALL_ID, "alice", "", CHANGES)
    assert str(e.value) == message.format(url=api_server.url)


def test_obtain_stream_needs_the_install_id(api_server: ApiServer) -> None:
    with pytest.raises(NetworkError) as e:
        obtain_stream(api_server.url, "", "alice", "", CHANGES)
    assert str(e.value) == "this CLI hasn't been authenticated with 127.0.0.1 - run `asciinema auth` first"


def test_obtain_stream_with_the_server_down() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError) as e:
        obtain_stream(f"http://127.0.0.1:{port}", INSTALL_ID, "alice", "", CHANGES)
    assert str(e.value) == (
        "cannot obtain stream producer endpoint - is the server down?: "
        f"http://127.0.0.1:{port}/api/v1/streams: connection refused by 127.0.0.1:{port}"
    )
