"""Entry point for ``python -m asciinema`` from a source tree."""

import sys

from asciinema.cli import main

sys.exit(main())
