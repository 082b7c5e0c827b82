"""Progress lines for long conversions: only on a terminal, only after a while, then redrawn."""

from __future__ import annotations

import io
from typing import List

import pytest

from asciinema import progress, status


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_percentages_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    clock: List[float] = [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    err = FakeTerminal()
    monkeypatch.setattr(progress.sys, "stderr", err)
    stream = io.BytesIO(b"x" * 1000)
    seen = []
    for i, item in enumerate(progress.track(range(40), stream, 1000, "converting demo.cast")):
        seen.append(item)
        stream.seek(25 * (i + 1))
        clock[0] += 0.1
    assert seen == list(range(40))
    out = err.getvalue()
    assert "\r\x1b[Kconverting demo.cast: " in out
    assert "%" in out and "MB" in out
    assert out.endswith("converting demo.cast: 100% (0.0 MB / 0.0 MB)\n")


def test_no_progress_when_quick_or_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    err = FakeTerminal()
    monkeypatch.setattr(progress.sys, "stderr", err)
    assert list(progress.track(range(100), io.BytesIO(b""), None, "x")) == list(range(100))
    assert err.getvalue() == ""  # finished before the first second
    monkeypatch.setattr(progress.sys, "stderr", io.StringIO())
    assert not progress.wanted()
    monkeypatch.setattr(progress.sys, "stderr", err)
    assert progress.wanted()
    status.set_quiet(True)
    try:
        assert not progress.wanted()
    finally:
        status.set_quiet(False)


def test_an_error_takes_the_place_of_an_unfinished_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from asciinema import cli

    clock: List[float] = [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    err = FakeTerminal()
    monkeypatch.setattr(progress.sys, "stderr", err)
    monkeypatch.setattr(cli.sys, "stderr", err)

    def broken():  # type: ignore[no-untyped-def]
        for i in range(20):
            clock[0] += 0.5
            yield i
        raise ValueError("x.cast:21: broken")

    with pytest.raises(ValueError):
        for _ in progress.track(broken(), io.BytesIO(b"x" * 100), 100, "converting x.cast"):
            pass
    assert "converting x.cast" in err.getvalue()
    cli._print_error("x.cast:21: broken")
    assert err.getvalue().endswith("\r\x1b[KError: x.cast:21: broken\n")
    cli._print_error("again")  # the line is erased once
    assert err.getvalue().endswith("\r\x1b[KError: x.cast:21: broken\nError: again\n")


def test_upload_body_draws_progress_as_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from asciinema.commands.upload import FileBody

    clock: List[float] = [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    err = FakeTerminal()
    monkeypatch.setattr(progress.sys, "stderr", err)
    size = 4_000_000
    meter = progress.Meter("uploading big.cast", size)
    body = FileBody(b"HEAD", io.BytesIO(b"x" * size), size, b"TAIL", "big.cast", meter)
    assert body.length == size + 8
    data = []
    while True:
        chunk = body.read(1 << 16)
        if not chunk:
            break
        data.append(chunk)
        clock[0] += 0.05
    meter.finish(body.sent)
    joined = b"".join(data)
    assert joined[:4] == b"HEAD" and joined[-4:] == b"TAIL" and len(joined) == size + 8
    out = err.getvalue()
    assert "\r\x1b[Kuploading big.cast: " in out
    assert out.endswith("uploading big.cast: 100% (4.0 MB / 4.0 MB)\n")


def test_upload_body_stops_when_aborted_and_refuses_a_shrunk_file() -> None:
    from asciinema.commands.upload import FileBody
    from asciinema.errors import LoadError

    body = FileBody(b"H", io.BytesIO(b"abc"), 3, b"T", "f.cast")
    assert body.read(2) == b"Ha"
    body.abort()
    assert body.read(10) == b""
    short = FileBody(b"H", io.BytesIO(b"ab"), 3, b"T", "f.cast")
    with pytest.raises(LoadError) as e:
        short.read()
    assert str(e.value) == "can't upload f.cast: the file got shorter while it was sent"
