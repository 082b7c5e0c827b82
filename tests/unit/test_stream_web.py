"""The stream server's HTTP answers as pure functions: routing, token paths, 304, gzip."""

from __future__ import annotations

import gzip
import hashlib
from typing import Dict, List, Tuple

import pytest

from asciinema.errors import UsageError
from asciinema.hashing import fnv1a_128
from asciinema.player_assets import FRAGMENT_OPTIONS_JS, OPTIONS_SLOT
from asciinema.stream.web import (
    PAGE,
    PLAYER_CSS,
    PLAYER_JS,
    Asset,
    Site,
    accepts_gzip,
    build_assets,
    etag_matches,
    is_loopback,
    load_assets,
    make_asset,
    parse_address,
)

ASSETS: Dict[str, Asset] = {
    PAGE: make_asset(PAGE, b"<html>page</html>"),
    PLAYER_JS: make_asset(PLAYER_JS, b"var player;" * 100),
    PLAYER_CSS: make_asset(PLAYER_CSS, b".p{}"),
}
TOKEN = "s3cr3t-T0ken_abcdefghij"

TRAVERSALS = [
    "/../index.html", "/./index.html", "/%2e%2e/index.html", "/%2E%2E/%2E%2E/etc/passwd", "/..%2findex.html",
    "//etc/passwd", "/etc/passwd", "/index.html/", "/index.html/..", "/ws/..", "/ws/", "/asciinema-player.min.js/",
    "/assets/index.html", "/asciinema/assets/index.html", "/LICENSE-asciinema-player", "/index.htm",
    "http://127.0.0.1/index.html", "*", "", "/\\..\\index.html", "/%00", "/index.html%00",
]


def status(site: Site, path: str, headers: List[Tuple[str, str]] = []) -> int:
    reply = site.route(path, headers)
    return 101 if reply is None else reply.status


def test_loopback_paths() -> None:
    site = Site(ASSETS)
    for path in ("/", "/index.html", "/?x=1", "/index.html?fit=width"):
        reply = site.route(path, [])
        assert reply is not None and reply.status == 200 and reply.body == b"<html>page</html>"
        assert ("Content-Type", "text/html; charset=utf-8") in reply.headers
    assert status(site, "/ws") == 101
    assert status(site, "/asciinema-player.min.js") == 200
    assert status(site, "/asciinema-player.css") == 200


@pytest.mark.parametrize("path", TRAVERSALS)
def test_anything_else_is_404(path: str) -> None:
    reply = Site(ASSETS).route(path, [])
    assert reply is not None and reply.status == 404 and reply.body == b"404"
    reply = Site(ASSETS, TOKEN).route(path.replace("/", f"/s/{TOKEN}/", 1), [])
    assert reply is not None and reply.status in (404, 301)


def test_token_paths() -> None:
    site = Site(ASSETS, TOKEN)
    for path in ("/", "/index.html", "/ws", "/asciinema-player.min.js", f"/s/{TOKEN[:-1]}/", f"/s/{TOKEN}x/",
                 f"/s/{TOKEN}/../", "/s/", "/s//", f"/s/{TOKEN.upper()}/", f"/x/{TOKEN}/", f"/s/{TOKEN}/s/{TOKEN}/"):
        assert status(site, path) == 404, path
    assert status(site, f"/s/{TOKEN}/") == 200
    assert status(site, f"/s/{TOKEN}/index.html") == 200
    assert status(site, f"/s/{TOKEN}/asciinema-player.css") == 200
    assert status(site, f"/s/{TOKEN}/ws") == 101
    reply = site.route(f"/s/{TOKEN}?a=b", [])
    assert reply is not None and reply.status == 301 and ("Location", f"/s/{TOKEN}/") in reply.headers
    # the token path must not leak to other sites through Referer
    assert ("Referrer-Policy", "no-referrer") in reply.headers


def test_etag_and_304() -> None:
    site = Site(ASSETS)
    first = site.route("/asciinema-player.min.js", [])
    assert first is not None
    etag = dict(first.headers)["ETag"]
    assert etag.startswith('W/"') and ("Cache-Control", "public, max-age=0, must-revalidate") in first.headers
    for inm in (etag, etag[2:], f'"nope", {etag}', "*"):
        again = site.route("/asciinema-player.min.js", [("If-None-Match", inm)])
        assert again is not None and again.status == 304 and again.body == b""
        assert dict(again.headers)["ETag"] == etag
    other = site.route("/asciinema-player.min.js", [("If-None-Match", '"nope"')])
    assert other is not None and other.status == 200
    page_etag = dict(site.route("/", []).headers)["ETag"]  # type: ignore[union-attr]
    assert status(site, "/", [("If-None-Match", etag)]) == 200
    assert status(site, "/", [("if-none-match", page_etag)]) == 304


def test_gzip() -> None:
    site = Site(ASSETS)
    reply = site.route("/asciinema-player.min.js", [("Accept-Encoding", "br, gzip;q=0.5")])
    assert reply is not None and reply.status == 200
    headers = dict(reply.headers)
    assert headers["Content-Encoding"] == "gzip" and headers["Vary"] == "Accept-Encoding"
    assert int(headers["Content-Length"]) == len(reply.body) < len(ASSETS[PLAYER_JS].body)
    assert gzip.decompress(reply.body) == ASSETS[PLAYER_JS].body
    plain = site.route("/asciinema-player.min.js", [("Accept-Encoding", "gzip;q=0")])
    assert plain is not None and "Content-Encoding" not in dict(plain.headers)
    assert plain.body == ASSETS[PLAYER_JS].body


@pytest.mark.parametrize(
    "value, ok",
    [(None, False), ("", False), ("gzip", True), ("GZIP", True), ("deflate, gzip", True), ("gzip;q=0", False),
     ("gzip; q=0.001", True), ("*", True), ("identity", False), ("gzip;q=x", False), ("x-gzip", True)],
)
def test_accepts_gzip(value: str, ok: bool) -> None:
    assert accepts_gzip(value) is ok


def test_etag_matches() -> None:
    assert etag_matches('W/"abc"', 'W/"abc"')
    assert etag_matches('"abc"', 'W/"abc"')
    assert etag_matches(' "x" , W/"abc" ', 'W/"abc"')
    assert not etag_matches('"abcd"', 'W/"abc"')
    assert not etag_matches("", 'W/"abc"')


def test_cross_origin_websocket_is_refused_on_loopback() -> None:
    site = Site(ASSETS)
    host = ("Host", "127.0.0.1:8080")
    assert status(site, "/ws", [host]) == 101  # no Origin: not a browser
    assert status(site, "/ws", [host, ("Origin", "http://127.0.0.1:8080")]) == 101
    assert status(site, "/ws", [("Host", "LOCALHOST:8080"), ("Origin", "http://localhost:8080")]) == 101
    assert status(site, "/ws", [host, ("Origin", "https://evil.example")]) == 403
    assert status(site, "/ws", [host, ("Origin", "http://127.0.0.1:8081")]) == 403
    assert status(site, "/ws", [host, ("Origin", "null")]) == 403
    # with a token, knowing it is what lets a page in
    assert status(Site(ASSETS, TOKEN), f"/s/{TOKEN}/ws", [host, ("Origin", "https://evil.example")]) == 101


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.1.2.3") and is_loopback("::1") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("192.168.1.2")
    assert not is_loopback("localhost")  # not an IP literal: treated as reachable from elsewhere


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_address("0.0.0.0:8080") == ("0.0.0.0", 8080)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    for bad in ("localhost:8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "::1:80", "1.2.3:80", ":80",
                "127.0.0.1:８０", "127.0.0.1:-1", "[127.0.0.1]:80"):
        with pytest.raises(UsageError):
            parse_address(bad)


def test_real_assets_load_from_the_package() -> None:
    assets = load_assets()
    assert b"AsciinemaPlayer" in assets[PLAYER_JS].body
    # the page refers to the player's files by their digest names
    for name in (PLAYER_JS, PLAYER_CSS):
        digest_name = assets[name].digest_name
        assert digest_name is not None and f'"{digest_name}"'.encode() in assets[PAGE].body
        assert f'"{name}"'.encode() not in assets[PAGE].body
    # the page's shared option-reading code is filled in, not left as its slot
    assert FRAGMENT_OPTIONS_JS.encode() in assets[PAGE].body
    assert OPTIONS_SLOT.encode() not in assets[PAGE].body
    assert assets[PLAYER_CSS].content_type == "text/css; charset=utf-8"


PAGE_HTML = b'<link rel="stylesheet" href="asciinema-player.css"><script src="asciinema-player.min.js"></script>'


def test_digest_paths_as_asciinema_3_1_serves_them() -> None:
    js, css = b"var player;" * 100, b".p{}"
    assets = build_assets({PAGE: PAGE_HTML, PLAYER_JS: js, PLAYER_CSS: css})
    js_hex, css_hex = hashlib.sha256(js).hexdigest()[:16], hashlib.sha256(css).hexdigest()[:16]
    assert assets[PLAYER_JS].digest_name == f"asciinema-player.min.{js_hex}.js"
    assert assets[PLAYER_CSS].digest_name == f"asciinema-player.{css_hex}.css"
    assert assets[PLAYER_JS].etag == f'W/"{js_hex}"'
    # the page refers to the digest names, and its ETag is the FNV-1a-128 of what it became
    page = assets[PAGE].body
    assert page == (f'<link rel="stylesheet" href="asciinema-player.{css_hex}.css">'
                    f'<script src="asciinema-player.min.{js_hex}.js"></script>').encode()
    assert assets[PAGE].etag == 'W/"%032x"' % fnv1a_128(page)
    for token in (None, TOKEN):
        site = Site(assets, token)
        prefix = f"/s/{token}" if token else ""
        for path, body, immutable in ((f"/asciinema-player.min.{js_hex}.js", js, True),
                                      (f"/asciinema-player.{css_hex}.css", css, True),
                                      ("/asciinema-player.min.js", js, False), ("/asciinema-player.css", css, False),
                                      ("/", page, False), ("/index.html", page, False)):
            reply = site.route(prefix + path, [])
            assert reply is not None and reply.status == 200 and reply.body == body, path
            headers = dict(reply.headers)
            assert headers["Cache-Control"] == ("public, max-age=31536000, immutable" if immutable
                                                else "public, max-age=0, must-revalidate"), path
            assert headers["Vary"] == "Accept-Encoding"
            again = site.route(prefix + path, [("If-None-Match", f'"x", {headers["ETag"]}')])
            assert again is not None and again.status == 304 and again.body == b""
            assert dict(again.headers)["Cache-Control"] == headers["Cache-Control"]
            zipped = site.route(prefix + path, [("Accept-Encoding", "gzip")])
            assert zipped is not None and gzip.decompress(zipped.body) == body
        # a digest that is not the file's, or the page under a digest name, is not there
        for path in (f"/asciinema-player.min.{css_hex}.js", f"/asciinema-player.min.{js_hex}.css",
                     f"/asciinema-player.{js_hex}.js", "/index.0123456789abcdef.html", f"/{js_hex}"):
            assert status(site, prefix + path) == 404, path
