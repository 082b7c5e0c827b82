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
