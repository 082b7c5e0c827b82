"""Built-in redaction patterns (``--redact-preset NAME``).

Each preset is a regular expression over the visible text (escape sequences taken out).
Where only part of a match is secret, that part is the group named ``s`` and the rest (the
words around a token) stays as it is. ``pem`` is not a pattern of its own length: it opens
a block (see :mod:`asciinema.redact`) whose body is masked line after line until its end
line.

Every pattern stays within :data:`asciinema.redact.MAX_MATCH` characters, and none uses a
numbered group or backreference: they are joined into one alternation.
"""

from __future__ import annotations

from typing import Dict

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"

#: name -> pattern; the order is that of ``--help``
PRESETS: Dict[str, str] = {
    # Access key IDs (long-term AKIA, temporary ASIA, and the other documented prefixes).
    "aws": r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])",
    # Classic tokens (ghp_ personal, gho_ OAuth, ghu_ user-to-server, ghs_ server-to-server,
    # ghr_ refresh: 36 characters today, up to 255 announced) and fine-grained ones.
    "github": r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244})(?![A-Za-z0-9_])",
    "gitlab": r"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_.-]{20,250}(?![A-Za-z0-9_-])",
    "slack": r"(?<![A-Za-z0-9-])xox[abprs]-[A-Za-z0-9]+-[A-Za-z0-9-]{6,250}(?![A-Za-z0-9-])",
    # header.payload.signature, base64url; the first two are JSON objects ("eyJ" is '{"').
    "jwt": (
        r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,200}\.eyJ[A-Za-z0-9_-]{2,500}\.[A-Za-z0-9_-]{0,300}"
        r"(?![A-Za-z0-9_-])"
    ),
    # The header as written in curl commands, HTTP dumps and JSON: the token goes, the words stay.
    "bearer": r"(?i:authorization)[\"']?[ \t]*[:=][ \t]*[\"']?(?i:bearer)[ \t]+(?P<s>[A-Za-z0-9._~+/-]{1,900}=*)",
    "pem": r"-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY-----",
    # 10/8, 172.16/12, 192.168/16, not inside a longer dotted string (a version number).
    "private-ip": (
        r"(?<![0-9])(?<![0-9]\.)(?:10(?:\.{o}){{3}}|172\.(?:1[6-9]|2[0-9]|3[01])(?:\.{o}){{2}}"
        r"|192\.168(?:\.{o}){{2}})(?!\.?[0-9])"
    ).format(o=_OCTET),
}

#: the preset whose match opens a block rather than being the secret
BLOCK_PRESET = "pem"
