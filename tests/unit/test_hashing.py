from __future__ import annotations

from asciinema.hashing import fnv1a_128, fnv1a_128_hex, relay_id, session_id


def test_spec_vectors() -> None:
    assert fnv1a_128(b"Hello World!") == 0xD2D42892EDE872031D2593366229C2D2
    assert fnv1a_128(b"Hello world!") == 0x3C94FFF9EDE872031D95566A45770EB2
    assert fnv1a_128("🦄🌈".encode()) == 0xA25841AE4659905B36CB0D359FAD39F


def test_hex_has_no_padding() -> None:
    # the unicorn vector has a leading zero nibble in 32-digit form
    assert fnv1a_128_hex("🦄🌈") == "a25841ae4659905b36cb0d359fad39f"
    assert len(fnv1a_128_hex("🦄🌈")) == 31


def test_empty_is_offset_basis() -> None:
    assert fnv1a_128(b"") == 0x6C62272E07BB014262B821756295C58D


def test_session_id_hashes_decimal_pid() -> None:
    assert session_id(1234) == fnv1a_128_hex("1234")


def test_relay_id_hashes_the_producer_url() -> None:
    assert relay_id("Hello World!") == "d2d42892ede872031d2593366229c2d2"
    assert relay_id("wss://example.org/ws/S/abc") == fnv1a_128_hex("wss://example.org/ws/S/abc")
