"""Open a recording given on the command line: a path, ``-`` for stdin, or an http(s) URL.

A URL that answers with an HTML page is followed to the asciicast its head links to
(:mod:`asciinema.html_link`). Every failure becomes one :class:`LoadError` line that names the
input. The result is a binary stream read lazily, so nothing is loaded whole.
"""

from __future__ import annotations

import io
import os
import sys
from typing import TYPE_CHECKING, BinaryIO, Optional, Tuple

from asciinema.errors import LoadError
from asciinema.http_client import one_line

if TYPE_CHECKING:
    from http.client import HTTPResponse

def is_url(arg: str) -> bool:
    return arg.startswith(("http://", "https://"))


def display_name(arg: str) -> str:
    return "<stdin>" if arg == "-" else arg


def open_input(arg: str) -> Tuple[BinaryIO, Optional[int]]:
    """The stream for ``arg`` and its size in bytes when known (for progress)."""
    if arg == "-":
        return sys.stdin.buffer, None
    if is_url(arg):
        return _open_url(arg)
    try:
        f = open(arg, "rb")
    except OSError as e:
        raise LoadError(f"can't open {arg}: {e.strerror or e}") from None
    try:
        size: Optional[int] = os.fstat(f.fileno()).st_size
    except OSError:
        size = None
    return f, size


def _get(url: str) -> HTTPResponse:  # what urlopen gives for http(s)
    import http.client
    import urllib.error
    import urllib.request

    from asciinema import http_client

    try:
        return http_client.get(url)
    except urllib.error.HTTPError as e:
        e.close()
        reason = str(e.reason)
        loop = urllib.request.HTTPRedirectHandler.inf_msg
        if reason.startswith(loop):  # urllib's message spans three lines
            last = one_line(reason[len(loop):])
            raise LoadError(f"download failed: {url}: redirect loop (HTTP {e.code} {last})") from None
        raise LoadError(f"download failed: {url}: HTTP {e.code} {one_line(reason)}") from None
    except (http.client.InvalidURL, ValueError) as e:  # InvalidURL is no ValueError
        raise LoadError(f"invalid URL: {url}: {one_line(e)}") from None
    except (OSError, http.client.HTTPException) as e:  # URLError is an OSError
        raise LoadError(f"download failed: {url}: {http_client.transport_cause(e, url)}") from None


def _open_url(url: str) -> Tuple[BinaryIO, Optional[int]]:
    from urllib.parse import urljoin

    from asciinema.html_link import find_asciicast_link

    response = _get(url)
    content_type = response.headers.get("Content-Type")
    if content_type is None:
        response.close()
        raise LoadError(f"download failed: {url}: no content-type header in the response")
    if content_type.lower().startswith("text/html"):
        try:
            page = response.read(4 << 20).decode("utf-8", "replace")
        except OSError as e:
            raise LoadError(f"download failed: {url}: {e}") from None
        finally:
            response.close()
        href = find_asciicast_link(page)
        if href is None:
            raise LoadError(
                f'download failed: {url}: <link rel="alternate" type="application/x-asciicast" href="..."> '
                "not found in the HTML page"
            )
        try:
            url = urljoin(url, href)
        except ValueError:
            url = href
        if not is_url(url):
            raise LoadError(f"download failed: unsupported link in the HTML page: {href}")
        response = _get(url)
    length = response.headers.get("Content-Length")
    size = int(length) if length and length.isdigit() else None
    # BufferedReader needs only the readinto of a raw stream, which HTTPResponse has
    return io.BufferedReader(response, 1 << 16), size  # type: ignore[arg-type]  # not a RawIOBase
