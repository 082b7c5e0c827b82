"""Find the asciicast behind a web page: ``<link rel="alternate" type="application/x-asciicast">``.

Pure: text in, URL out. Only ``<link>`` tags inside ``<head>`` count; ``rel`` is a
whitespace-separated token list that must contain ``alternate``; ``type`` is
``application/x-asciicast`` or ``application/asciicast+json``; attribute values are quoted.
"""

from __future__ import annotations

import re
from typing import Dict, Optional

_HEAD_RE = re.compile(r"<head(?:\s[^>]*)?>(.*?)</head\s*>", re.IGNORECASE | re.DOTALL)
_LINK_RE = re.compile(r"<link\b([^>]*)>", re.IGNORECASE)
_ATTR_RE = re.compile(r"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TYPES = ("application/x-asciicast", "application/asciicast+json")


def _attributes(tag: str) -> Dict[str, str]:
    attrs: Dict[str, str] = {}
    for m in _ATTR_RE.finditer(tag):
        name = m.group(1).lower()
        if name not in attrs:
            attrs[name] = m.group(2) if m.group(2) is not None else m.group(3)
    return attrs


def find_asciicast_link(page: str) -> Optional[str]:
    """The first non-empty ``href`` of an asciicast alternate link in the page head, or None."""
    head = _HEAD_RE.search(page)
    if head is None:
        return None
    for link in _LINK_RE.finditer(head.group(1)):
        attrs = _attributes(link.group(1))
        rel = attrs.get("rel", "").lower().split()
        if "alternate" in rel and attrs.get("type", "").strip().lower() in _TYPES:
            href = attrs.get("href", "").strip()
            if href:
                return href
    return None
