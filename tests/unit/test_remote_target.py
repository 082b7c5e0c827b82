"""The ``-r`` value of stream/session: stream IDs, WebSocket URLs in asciinema 3's form
(the relay ID hashes that text), and the refusals."""

from __future__ import annotations

import argparse

import pytest

from asciinema.commands.session import is_websocket_url, normal_url, remote_target


@pytest.mark.parametrize("value, target", [
    ("", ""), ("  ", ""), ("abc123", "abc123"), (" 3xb9 ", "3xb9"),
    ("ws://127.0.0.1:8080/ws/S/x", "ws://127.0.0.1:8080/ws/S/x"),
    ("WSS://Example.ORG", "wss://example.org/"),
    (" wss://example.org:443/ws/S/t?a=1 ", "wss://example.org/ws/S/t?a=1"),
    ("ws://example.org:80", "ws://example.org/"),
    ("ws://example.org:443/", "ws://example.org:443/"),
    ("ws://[::1]:9000/p", "ws://[::1]:9000/p"),
    ("ws://user:pw@Host/", "ws://user:pw@host/"),
])
def test_targets(value: str, target: str) -> None:
    assert remote_target(value) == target


@pytest.mark.parametrize("value, message", [
    ("http://example.org/ws", "must be a WebSocket URL (ws:// or wss://)"),
    ("https://example.org", "must be a WebSocket URL (ws:// or wss://)"),
    ("localhost:8080", "must be a WebSocket URL (ws:// or wss://)"),
    ("ws:///x", "empty host"),
    ("ws://h:99999/", "invalid URL: Port out of range 0-65535"),
    ("wss://[::1/x", "invalid URL: Invalid IPv6 URL"),
])
def test_refused(value: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as e:
        remote_target(value)
    assert str(e.value) == message


def test_normal_url_is_stable() -> None:
    for url in ("ws://example.org/", "wss://a.b:8443/ws/S/x?y=1#z", "WS://A.B:80"):
        assert normal_url(normal_url(url)) == normal_url(url)
    assert is_websocket_url("WSS://x") and not is_websocket_url("wsx://x")
