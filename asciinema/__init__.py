"""asciinema.pyz: terminal session recorder, streamer and player.

This module holds only the version; it imports nothing so that start-up stays cheap.
"""

__version__ = "3.1.0"
