"""Header fields that the asciicast versions share: optional values, env, theme, text.

Decoding checks the types and names the file on errors; text from headers is cleaned with
:func:`clean_text`, so a title, command or env value that holds a lone surrogate (a JSON
``"\\ud800"`` escape) is written back as U+FFFD, never as ``?``.
"""

from __future__ import annotations

import math
import re
from typing import Dict, Optional

from asciinema.asciicast import MAX_TIME, Header, Theme, shown_value
from asciinema.errors import FormatError

_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}\Z")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (they have no UTF-8 form).

    JSON joins escaped surrogate pairs into one character, so any surrogate left is alone.
    """
    return text if text.isascii() else _SURROGATE_RE.sub("\ufffd", text)


def os_text(text: str) -> str:
    """A string from the OS (argv, environment) with its undecodable bytes as U+FFFD.

    Python keeps such bytes as surrogates (``surrogateescape``); they are decoded again
    here, as a UTF-8 decoder that replaces invalid sequences would have read them.
    """
    if text.isascii():
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte
        return clean_text(text)


def optional_text(obj: Dict[str, object], key: str, name: str) -> Optional[str]:
    """``obj[key]`` when present and not null; FormatError unless it is a string."""
    value = obj.get(key)
    if value is None:
        return None
    if type(value) is not str:
        raise FormatError(f"{name}:1: header {key} must be a string")
    return clean_text(value)


def optional_timestamp(obj: Dict[str, object], name: str) -> Optional[int]:
    """The header ``timestamp`` (Unix time) in whole seconds, or None.

    The formats say an integer, and asciinema writes one; some other tools write the
    fraction too (``1700000000.25``), which is dropped.
    """
    value = obj.get("timestamp")
    if value is None:
        return None
    if type(value) is float and math.isfinite(value):
        return int(value)
    if type(value) is not int:
        raise FormatError(f"{name}:1: header timestamp must be a number")
    return value


def optional_seconds(obj: Dict[str, object], key: str, name: str) -> Optional[float]:
    """A non-negative number of seconds, as a float, or None."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < MAX_TIME:
        raise FormatError(f"{name}:1: header {key} must be a non-negative number")
    return float(value)


def decode_env(value: object, name: str) -> Dict[str, str]:
    """The header ``env`` object: names to strings.

    asciinema 2.x wrote null for unset variables (SHELL in a cron job); they are dropped.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormatError(f"{name}:1: header env must be an object")
    env = {}
    for k, v in value.items():
        if v is None:
            continue
        if not isinstance(v, str):
            raise FormatError(f"{name}:1: header env value of {k} must be a string")
        env[clean_text(k)] = clean_text(v)
    return env


def parse_theme(value: object) -> Optional[Theme]:
    """A header ``theme`` object (v2 or v3) to a :class:`Theme`; ValueError when malformed."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("theme must be an object")
    fg, bg, palette = _colour(value.get("fg")), _colour(value.get("bg")), value.get("palette")
    colors = [_colour(c) for c in palette.split(":")] if isinstance(palette, str) else None
    if colors is None or len(colors) not in (8, 16):
        raise ValueError("theme palette must have 8 or 16 colours")
    if len(colors) == 8:
        colors = colors * 2
    return Theme(fg, bg, tuple(colors))


def _colour(value: object) -> str:
    """A theme colour, lower-cased; ValueError unless it is ``#rrggbb``."""
    if not isinstance(value, str) or _COLOR_RE.match(value) is None:
        raise ValueError(f"invalid theme colour: {shown_value(value)}")
    return value.lower()


def decode_theme(value: object, name: str) -> Optional[Theme]:
    try:
        return parse_theme(value)
    except ValueError as e:
        raise FormatError(f"{name}:1: {e}") from None


def theme_object(theme: Theme) -> Dict[str, str]:
    """A :class:`Theme` as the header ``theme`` object of v2 and v3."""
    return {"fg": theme.fg, "bg": theme.bg, "palette": ":".join(theme.palette)}


def common_header_fields(header: Header) -> Dict[str, object]:
    """The optional header fields v2 and v3 share, in the order both write them."""
    fields: Dict[str, object] = {}
    if header.timestamp is not None:
        fields["timestamp"] = header.timestamp
    if header.idle_time_limit is not None:
        fields["idle_time_limit"] = header.idle_time_limit
    if header.command is not None:
        fields["command"] = header.command
    if header.title is not None:
        fields["title"] = header.title
    if header.env:
        fields["env"] = header.env
    return fields
