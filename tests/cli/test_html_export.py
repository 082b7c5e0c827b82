"""The offline HTML export: one page with the player and the recording inside, that plays
from a file:// URL with no network (checked in headless chromium where it is installed)."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

from asciinema.asciicast import Event, Header, open_recording
from asciinema.asciicast.v3 import Encoder as V3Encoder
from asciinema.encoders import get_encoder
from asciinema.encoders.html import HtmlEncoder
from asciinema.player_assets import FRAGMENT_OPTIONS_JS

from paths import CASTS  # noqa: E402
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = "</script><script>alert(1)</script><!--<script>--></SCRIPT >"


def page(header: Header, events: List[Event]) -> str:
    enc = get_encoder("html")
    return enc.header(header) + "".join(enc.encode(iter(events))) + enc.finish()


def recording_text(page_text: str) -> str:
    start = page_text.index('<script id="recording" type="application/x-asciicast">')
    start = page_text.index(">", start) + 1
    return page_text[start:page_text.index("</script>", start)]


def test_the_recording_cannot_end_its_element_early() -> None:
    header = Header(80, 24, title=HOSTILE)
    events = [Event(1000, "o", HOSTILE), Event(2000, "m", HOSTILE), Event(3000, "i", "<")]
    text = page(header, events)
    block = recording_text(text)
    assert "<" not in block
    # the block is the v3 file, with "<" spelled as a JSON escape: same JSON values
    v3 = V3Encoder()
    plain = v3.header(header) + "".join(v3.encode(iter(events)))
    assert [json.loads(line) for line in block.splitlines()] == [json.loads(line) for line in plain.splitlines()]
    assert open_recording(io.BytesIO(block.encode()), "x").header.title == HOSTILE
    assert f"<title>{html.escape(HOSTILE)}</title>" in text
    # nothing of ours after the block but the player and our start-up script
    assert text.count("<script") == 3 and text.rstrip().endswith("</html>")


def test_batches_and_single_events_encode_alike() -> None:
    with open(CASTS / "full-v2.cast", "rb") as f:
        rec = open_recording(f, "full-v2.cast")
        columns = list(rec.batches)
    one, two = HtmlEncoder(), HtmlEncoder()
    batched = "".join(one.encode_columns(*c) for c in columns)  # type: ignore[arg-type]
    single = "".join(two.event(e) for c in columns for e in zip(*c))  # type: ignore[arg-type]
    assert batched == single


def test_convert_writes_a_page_by_extension(cli, tmp_path: Path) -> None:
    for name in ("demo.html", "DEMO.HTM"):
        r = cli("convert", str(CASTS / "full-v3.cast"), name)
        assert r.returncode == 0, r.stderr
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>") and "AsciinemaPlayer" in text and ".ap-" in text
        assert recording_text(text).startswith('{"version":3')
        assert "<script src" not in text and "<link" not in text  # nothing to fetch
        assert FRAGMENT_OPTIONS_JS in text  # reads the #fragment as the live page does


def test_convert_f_html_to_stdout_and_to_any_name(cli, tmp_path: Path) -> None:
    r = cli("convert", "-f", "html", str(CASTS / "full-v3.cast"), "-")
    assert r.returncode == 0, r.stderr
    page = r.stdout.decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and recording_text(page).startswith('{"version":3')
    r = cli("convert", "--output-format", "html", str(CASTS / "full-v3.cast"), "page.out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "page.out").read_text(encoding="utf-8") == page


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (CI installs it)")
def test_the_page_plays_from_disk_to_the_last_screen(cli, tmp_path: Path) -> None:
    r = cli("convert", str(CASTS / "full-v2.cast"), "demo.html")
    assert r.returncode == 0, r.stderr
    url = (tmp_path / "demo.html").as_uri() + "#autoPlay=true&speed=100"
    shown = ""
    for attempt in range(3):  # a loaded machine may starve the browser once
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",  # type: ignore[list-item]
             f"--user-data-dir={tmp_path / f'profile{attempt}'}", "--virtual-time-budget=20000", "--dump-dom", url],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )
        dom = proc.stdout
        player = dom[dom.index('<div id="player">'):dom.index('<script id="recording"')]
        shown = html.unescape(re.sub(r"<[^>]+>", "", player))
        if "$ exit" in shown:
            break
    # the last screen of full-v2.cast
    assert "file.txt  żółć" in shown and "$ exit" in shown
