"""html: one self-contained page that plays the recording from disk, with no server and no
network: the player's CSS and JS and the recording (as asciicast v3) are all inside it.

The recording sits in a ``<script type="application/x-asciicast">`` block, which the
browser never runs nor decodes: only ``</script`` could end it early. Every ``<`` of the
asciicast text is inside a JSON string (JSON's own syntax has none), so writing it as the
JSON escape ``\\u003c`` keeps the JSON the same and the block unbreakable.

Options go in the URL's #fragment, as on the live page:
``demo.html#autoPlay=true&speed=2&idleTimeLimit=1&loop=true&theme=monokai&fit=width&startAt=5``.
"""

from __future__ import annotations

import html
from typing import Iterable, Iterator, Sequence

from asciinema.asciicast import Event, Header
from asciinema.asciicast.v3 import Encoder as V3Encoder
from asciinema.errors import AsciinemaError
from asciinema.player_assets import FRAGMENT_OPTIONS_JS, PLAYER_CSS, PLAYER_JS, read_asset

# The recording starts right after the tag: the player reads the element's text as a
# file, and a blank first line makes it no asciicast.
_HEAD = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="asciinema">
<title>%(title)s</title>
<style>
%(css)s
</style>
<style>
  html, body { margin: 0; padding: 0; height: 100%%; background: #121314; }
  #player { width: 100%%; height: 100%%; }
</style>
</head>
<body>
<div id="player"></div>
<script id="recording" type="application/x-asciicast">"""

_TAIL = """\
</script>
<script>
%(js)s
</script>
<script>
(function () {
%(options)s
  opts.autoPlay = params.get("autoPlay") === "true";
  opts.loop = params.get("loop") === "true";
  opts.speed = number("speed");
  opts.idleTimeLimit = number("idleTimeLimit");
  opts.startAt = params.get("startAt") || undefined;
  // an option given as undefined would override the player's default (or the recording's)
  Object.keys(opts).forEach(function (k) { if (opts[k] === undefined) delete opts[k]; });
  var cast = document.getElementById("recording").textContent;
  AsciinemaPlayer.create({ data: cast }, document.getElementById("player"), opts);
})();
</script>
</body>
</html>
"""


def _safe(text: str) -> str:
    return text.replace("<", "\\u003c")


def _inline(name: str, end_tag: str) -> str:
    text = read_asset(name).decode("utf-8")
    # Never true of the pinned player; a future one must not end its element early.
    if end_tag in text.lower():
        raise AsciinemaError(f"{name} contains {end_tag}, it cannot be inlined")
    return text


class HtmlEncoder:
    def __init__(self) -> None:
        # Read now: a missing player is reported before any output file is created.
        self.css = _inline(PLAYER_CSS, "</style")
        self.js = _inline(PLAYER_JS, "</script")
        self.v3 = V3Encoder()

    def header(self, header: Header) -> str:
        title = html.escape(header.title or "asciinema recording")
        return _HEAD % {"title": title, "css": self.css} + _safe(self.v3.header(header))

    def event(self, event: Event) -> str:
        return _safe(self.v3.event(event))

    def encode(self, events: Iterable[Event]) -> Iterator[str]:
        return map(_safe, self.v3.encode(events))

    def encode_columns(self, times: Sequence[int], codes: Sequence[str], datas: Sequence[str]) -> str:
        return _safe(self.v3.encode_columns(times, codes, datas))

    def finish(self) -> str:
        return _TAIL % {"js": self.js, "options": FRAGMENT_OPTIONS_JS}
