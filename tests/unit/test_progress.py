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
