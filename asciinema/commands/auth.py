"""``asciinema auth``: print the URL that links this install ID to a server account.

No request is made: the user opens the URL in a browser, where the server does the rest.
"""

from __future__ import annotations

import argparse
import os
import sys

from asciinema.api import auth_text
from asciinema.errors import write_failed, STDOUT
from asciinema.server_url import access


def run(args: argparse.Namespace) -> int:
    server_url, install_id, _ = access(os.environ, args.server_url)
    try:
        sys.stdout.write(auth_text(server_url, install_id))
        sys.stdout.flush()
    except OSError as e:
        raise write_failed(STDOUT, e) from None
    return 0
