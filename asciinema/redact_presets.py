"""Built-in redaction patterns (``--redact-preset NAME``).

Each preset is one or more regular expressions over the visible text (escape sequences
taken out). Where only part of a match is secret, that part is the group named ``s`` and the
rest (the words around a token) stays as it is. ``pem`` is not a pattern of its own length:
its match opens a block (see :mod:`asciinema.redact`) whose body is masked line after line.

Every pattern starts with a literal (its look-behind comes after it), which the regular
expression engine finds with a fast scan rather than trying the pattern at every
character: a joined alternation or a leading look-behind is about ten times slower. Each
also names what every match of it contains (its *needles*): where one is missing from the
text, the pattern is not searched at all. A single character is found by ``memchr`` at
many GB/s, so a preset costs next to nothing on output without its ``_``, ``-`` or ``.``
(base64 text has none of them). Every match stays within
:data:`asciinema.redact.MAX_MATCH` characters.

Each also has a *raw* pattern, for the output with its escape sequences still in: the same
characters (at least as many as the pattern needs to get past where most text fails), with
any escape sequences allowed between any two of them and the look-arounds left out, so it
matches wherever a match in the visible text does, and more. Where it finds nothing, the
visible text need not be made at all. It starts with one character, searched for at the speed
of a byte loop: the first of the match, or, where that one is frequent (``e`` of ``eyJ``, ``1``
of an IP address, ``u`` of ``uthorization``), a rarer one further in, with the *lead*, what the
visible text must end with right before it (``ey``, ``10``...). The raw patterns that start
with the same character and have the same lead are searched as one.
"""

from __future__ import annotations

import re
import sys
from typing import Dict, NamedTuple, Tuple

#: one escape sequence, which the visible text leaves out. An OSC, DCS, SOS, PM or APC string
#: ends with BEL (OSC only) or ST, or where another ESC starts (terminals abort the string
#: there), or at the end of the text parsed: the text is parsed in pieces that end before an
#: ESC, and one that doesn't run to its end is cut off as unfinished before it is parsed.
ESCAPE = (r"\x1b(?:\[[0-?]*[ -/]*[@-~]"
          r"|\][^\x07\x1b]*(?:\x07|\x1b\\|(?=\x1b)|\Z)"
          r"|[PX^_][^\x1b]*(?:\x1b\\|(?=\x1b)|\Z)"
          r"|[ -/]*[0-~])")
# Possessive where the re module knows it (3.11): no backtracking into a repetition whose
# end the pattern after it can't move.
_POSSESSIVE = "+" if sys.version_info >= (3, 11) else ""
#: any escape sequences (possessive: they are the same either way, and it saves the
#: backtracking when the character after them doesn't fit)
ESCAPES = f"(?:{ESCAPE})*{_POSSESSIVE}"
_E = ESCAPES


def raw_literal(text: str) -> str:
    """``text`` with any escape sequences between its characters, or a little more: its first
    character, then as many of the others in any order (one copy of :data:`ESCAPES` to
    compile rather than one for each character: the raw patterns only need to match at
    least where the presets do)."""
    first = text[0] if text[0].isalnum() or text[0] in "_ " else re.escape(text[0])
    if len(text) == 1:
        return first
    return first + _run("[" + "".join(re.escape(c) for c in sorted(set(text[1:]))) + "]", f"{{{len(text) - 1}}}")


def _run(chars: str, count: str) -> str:
    """``count`` characters of the class ``chars``, escape sequences before each."""
    return f"(?:{_E}{chars}){count}"


class Pattern(NamedTuple):
    regex: str
    #: strings that every match contains: the cheapest to look for first
    needles: Tuple[str, ...]
    #: a regular expression over the output with its escape sequences still in that matches
    #: where every match of ``regex`` in the visible text starts (escape sequences allowed
    #: between any two characters, look-arounds left out, lengths cut to their minimum).
    #: Where it finds nothing, no match can start: the visible text need not be made. It
    #: starts with one character (escaped only if it must be): the first of every match, or
    #: the one right after ``lead``.
    raw: str
    #: a regular expression over the visible text: what comes right before the raw pattern's
    #: start in every match ("" if the raw pattern starts where the match does). At most
    #: :data:`LEAD_MAX` characters.
    lead: str = ""


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_BEARER = r"[\"']?[ \t]*[:=][ \t]*[\"']?(?i:bearer)[ \t]+(?P<s>[A-Za-z0-9._~+/-]{1,900}=*)"
_BEARER_RAW = f"(?:{_E}[\"'])?(?:{_E}[ \t])*{_E}[:=]"

# possessive: a run of digits is followed by no digit
_OCTET_RAW = _run("[0-9]", "{1,3}" + _POSSESSIVE)
#: the longest a lead can be, in visible characters
LEAD_MAX = 8

#: name -> patterns; the order is that of ``--help``
PRESETS: Dict[str, Tuple[Pattern, ...]] = {
    # Access key IDs (long-term AKIA, temporary ASIA, and the other documented prefixes).
    "aws": (Pattern(r"A(?<![A-Za-z0-9]A)(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])", ("A",),
                    # KIA, SIA, BIA or CCA, and a few more
                    f"A{_E}[KSBC]" + _run("[IC]", "") + _run("A", "") + _run("[A-Z0-9]", "{16}")),),
    # Classic tokens (ghp_ personal, gho_ OAuth, ghu_ user-to-server, ghs_ server-to-server,
    # ghr_ refresh: 36 characters today, up to 255 announced) and fine-grained ones.
    "github": (Pattern(r"g(?<![A-Za-z0-9_]g)(?:h[pousr]_[A-Za-z0-9]{36,251}|ithub_pat_[A-Za-z0-9_]{22,244})"
                       r"(?![A-Za-z0-9_])", ("_",),
                       f"g{_E}(?:h{_E}[pousr]{_E}_" + _run("[A-Za-z0-9]", "{36}")
                       + f"|{raw_literal('ithub_pat_')}" + _run("[A-Za-z0-9_]", "{22}") + ")"),),
    "gitlab": (Pattern(r"glpat-(?<![A-Za-z0-9_-]glpat-)[A-Za-z0-9_.-]{20,250}(?![A-Za-z0-9_-])", ("-", "glpat-"),
                       raw_literal("glpat-") + _run("[A-Za-z0-9_.-]", "{20}")),),
    "slack": (Pattern(r"xox(?<![A-Za-z0-9-]xox)[abprs]-[A-Za-z0-9]+-[A-Za-z0-9-]{6,250}(?![A-Za-z0-9-])",
                      ("-", "x", "xox"),
                      raw_literal("xox") + f"{_E}[abprs]{_E}-" + _run("[A-Za-z0-9]", "+") + f"{_E}-"
                      + _run("[A-Za-z0-9-]", "{6}")),),
    # header.payload.signature, base64url; the first two are JSON objects ("eyJ" is '{"').
    "jwt": (Pattern(r"eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{2,200}\.eyJ[A-Za-z0-9_-]{2,500}\.[A-Za-z0-9_-]{0,300}"
                    r"(?![A-Za-z0-9_-])", (".", "J", "eyJ"),
                    "J" + _run("[A-Za-z0-9_-]", "{2,200}") + f"{_E}\\.{_E}" + raw_literal("eyJ")
                    + _run("[A-Za-z0-9_-]", "{2}"), "ey"),),
    # The header as written in curl commands, HTTP dumps and JSON: the token goes, the words
    # stay. "Authorization", "authorization" or "AUTHORIZATION"; "Bearer" in any case.
    "bearer": (Pattern(r"uthorization(?<=[Aa]uthorization)" + _BEARER, ("z", "uthorization"),
                       raw_literal("zation") + _BEARER_RAW, "[Aa]uthori"),
               Pattern(r"UTHORIZATION(?<=AUTHORIZATION)" + _BEARER, ("Z", "UTHORIZATION"),
                       raw_literal("ZATION") + _BEARER_RAW, "AUTHORI")),
    "pem": (Pattern(r"-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY-----", ("V", "-----BEGIN "),
                    raw_literal("BEGIN "), "-----"),),
    # 10/8, 172.16/12, 192.168/16, not inside a longer dotted string (a version number).
    "private-ip": (Pattern((
        r"1(?<![0-9]1)(?<![0-9]\.1)(?:0(?:\.{o}){{3}}|72\.(?:1[6-9]|2[0-9]|3[01])(?:\.{o}){{2}}"
        r"|92\.168(?:\.{o}){{2}})(?!\.?[0-9])"
    ).format(o=_OCTET), (".",),
        # from the dot after the first number, which must be followed by a digit: there are
        # fewer dots than ones, and most are followed by something else
        f"\\.(?=[0-9\x1b]){_OCTET_RAW}{_E}\\.(?=[0-9\x1b]){_OCTET_RAW}{_E}\\.{_OCTET_RAW}",
        "(?:10|172|192)"),),
}

#: the preset whose match opens a block rather than being the secret
BLOCK_PRESET = "pem"
