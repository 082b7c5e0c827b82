"""FNV-1a, 128-bit: the session ID in ``ASCIINEMA_SESSION`` and the relay ID in
``ASCIINEMA_RELAY_ID``, as asciinema 3 makes them.

Pure arithmetic, no I/O. Rendered as lowercase hex without zero padding, as asciinema 3 does.
"""

from __future__ import annotations

#: FNV-1a 128-bit offset basis
OFFSET_BASIS = 0x6C62272E07BB014262B821756295C58D
#: FNV 128-bit prime, 2**88 + 2**8 + 0x3b
PRIME = 309485009821345068724781371
_MASK = (1 << 128) - 1


def fnv1a_128(data: bytes) -> int:
    h = OFFSET_BASIS
    for b in data:
        h = ((h ^ b) * PRIME) & _MASK
    return h


def fnv1a_128_hex(text: str) -> str:
    """The hash of ``text`` (UTF-8) as lowercase hex with no leading zeros."""
    return format(fnv1a_128(text.encode("utf-8")), "x")


def session_id(pid: int) -> str:
    """``ASCIINEMA_SESSION`` for the recorder process ``pid``: the hash of its decimal form."""
    return fnv1a_128_hex(str(pid))


def relay_id(producer_url: str) -> str:
    """``ASCIINEMA_RELAY_ID`` of a session streaming to ``producer_url``: the hash of the URL,
    so that a session inside it streaming to the same place can tell."""
    return fnv1a_128_hex(producer_url)
