"""The real player in a real browser (headless Debian chromium) against our server: the
page loads the bundled player, joins over /ws and shows both the screen it joined and the
output that follows. Skipped, with the reason, where chromium is missing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from streamutil import Stream  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (CI installs it)")


def dump_dom(url: str, profile: Path) -> str:
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
         "--virtual-time-budget=10000", "--dump-dom", url],  # type: ignore[list-item]
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    return proc.stdout


@pytest.mark.parametrize("token", [None, "browser-test-token_0123456789"])
def test_the_player_shows_the_live_terminal(tmp_path: Path, token: str) -> None:
    stream = Stream(token=token)
    stop = threading.Event()

    def ticker() -> None:
        # output only once the browser has joined, so that the ticks reach it as events
        while not stop.wait(0.05) and not any(s.state == "live" for s in stream.stats()):
            pass
        n = 0
        while not stop.wait(0.05):
            stream.term.output(f" tick{n}")
            n += 1

    try:
        stream.term.output("\x1b[1;32mjoined-screen\x1b[0m\r\n$")
        thread = threading.Thread(target=ticker)
        thread.start()
        dom = ""
        for attempt in range(3):  # a loaded machine may starve the browser once
            dom = dump_dom(stream.server.url, tmp_path / f"profile{attempt}")
            if "joined-screen" in dom and "tick" in dom:
                break
        stop.set()
        thread.join()
        assert "ap-line" in dom, dom[-2000:]  # the player rendered its terminal
        assert "joined-screen" in dom  # the Init's screen
        assert "tick" in dom  # events after it
    finally:
        stop.set()
        stream.server.close()
