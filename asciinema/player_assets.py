"""The web player's files and our pages, read from the package: from inside the archive, or
from the source tree after ``make player`` (``build_zipapp.py --unpack-player``) put the
player there. Used by the stream server and the HTML export."""

from __future__ import annotations

from asciinema.errors import AsciinemaError

PLAYER_JS = "asciinema-player.min.js"
PLAYER_CSS = "asciinema-player.css"


def read_asset(name: str) -> bytes:
    """``asciinema/assets/<name>``; an AsciinemaError saying how to get it when missing."""
    import pkgutil

    try:
        data = pkgutil.get_data("asciinema", f"assets/{name}")
    except OSError:
        data = None
    if not data:
        raise AsciinemaError(
            f"the web player is missing from this copy of asciinema (asciinema/assets/{name}); "
            "run `make player` (or `python3 build_zipapp.py --unpack-player`) in the source tree"
        )
    return data


#: The player options both our pages (the live stream page, assets/index.html, and the HTML
#: export) read from the URL's #fragment, which never reaches a server. Each page runs it in
#: its own function where OPTIONS_SLOT stands, then adds the options only it has to ``opts``.
FRAGMENT_OPTIONS_JS = """\
  var params = new URLSearchParams(location.hash.slice(1));
  function number(name) {
    var v = parseFloat(params.get(name));
    return isNaN(v) ? undefined : v;
  }
  var opts = {
    fit: params.get("fit") || "both",
    theme: params.get("theme") || undefined,
    terminalFontFamily: params.get("terminalFontFamily") || undefined,
    terminalLineHeight: number("terminalLineHeight")
  };
  if (opts.fit === "none" || opts.fit === "false") opts.fit = false;"""

OPTIONS_SLOT = "  /* FRAGMENT_OPTIONS_JS */"


def fill_options(page: str) -> str:
    """``page`` with FRAGMENT_OPTIONS_JS in its OPTIONS_SLOT."""
    return page.replace(OPTIONS_SLOT, FRAGMENT_OPTIONS_JS)
