"""Entry point for ``python -m asciinema`` and ``python path/to/asciinema`` from a source tree."""

import os
import sys

if not __package__:
    # Run as a directory: make the package importable without PYTHONPATH, which would leak
    # into the recorded session's environment.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from asciinema.cli import main  # noqa: E402

sys.exit(main())
