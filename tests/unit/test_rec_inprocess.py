"""The in-process parts of `rec`: output decoding, end-of-input decisions, the locale check
and the notifier. The command line itself is tested in tests/cli/test_rec.py."""

from __future__ import annotations

import codecs
import os
import time
from pathlib import Path

import pytest


def wait_for_lines(path: Path, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or len(path.read_text().splitlines()) < count:
        assert time.monotonic() < deadline, f"{path}: fewer than {count} lines"
        time.sleep(0.02)


def test_incremental_decoder_matches_spec_vectors() -> None:
    # The session decodes output with codecs' incremental UTF-8 decoder, errors="replace": on
    # asciinema 3's vectors, an incomplete sequence waits for the next chunk and each invalid
    # one becomes one U+FFFD.
    dec = codecs.getincrementaldecoder("utf-8")("replace")
    chunks = [b"\xc5\xbc\xc3", b"\xb3\xc5\x82", b"\xc4", b"\x87\x21", b"\x80", b"\x80\x81",
              b"\x83\x23\xf0\x90\x80\xc0\x21"]
    assert [dec.decode(c) for c in chunks] == ["ż", "ół", "", "ć!", "\ufffd", "\ufffd\ufffd", "\ufffd#\ufffd\ufffd!"]


def test_end_of_input_decisions() -> None:
    from asciinema.end_of_input import EOF, ERASE_EOF, LOOK_MAX, RESEND_MIN, EndOfInput

    e = EndOfInput(0.0)
    # line mode: a ^D whenever nothing waits to be read, as often as it is read
    assert e.look(0.0, True, True) is None
    assert e.look(0.1, True, False) == EOF
    assert e.look(0.2, True, True) is None  # not read yet: nothing more
    assert e.look(0.3, True, False) == EOF
    # a line editor starts: the ^D may have become a NUL; one ^D at once...
    assert e.look(0.4, False, False) == EOF
    assert e.look(0.41, False, False) is None
    # ...and, if it goes on reading, the erase character first, then plain ^D less and less often
    assert e.look(0.4 + RESEND_MIN, False, False) == ERASE_EOF
    assert e.look(0.4 + 2 * RESEND_MIN, False, False) is None
    assert e.look(0.4 + 3 * RESEND_MIN, False, False) == EOF
    assert e.look(0.4 + 4 * RESEND_MIN, False, False) is None
    # a new line mode read and a new line editor: at once again, without the erase
    assert e.look(1.0, True, False) == EOF
    assert e.look(1.1, True, False) == EOF  # read in line mode: no NUL can come of it
    e2 = EndOfInput(0.0)
    assert e2.look(0.0, False, False) == EOF
    assert e2.look(0.0 + RESEND_MIN, False, False) == EOF  # no line mode ^D: no erase
    # idle: looks slow down to LOOK_MAX; output brings them back
    e3 = EndOfInput(0.0)
    t = 0.0
    for _ in range(20):
        e3.look(t, True, True)
        t = e3.next_look
    e3.look(t, True, True)
    assert e3.next_look - t == LOOK_MAX
    e3.activity(t)
    assert e3.next_look - t < LOOK_MAX
    # the queue can't be seen: a ^D at the start and on every change of mode only
    e4 = EndOfInput(0.0)
    assert e4.look(0.0, True, None) == EOF
    assert e4.look(1.0, True, None) is None
    assert e4.look(2.0, False, None) == EOF
    assert e4.look(3.0, False, None) is None


def test_locale_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import locale

    from asciinema.commands.session import check_locale
    from asciinema.errors import AsciinemaError

    monkeypatch.setattr(locale, "setlocale", lambda *a: "C")
    monkeypatch.setattr(locale, "nl_langinfo", lambda item: "ISO-8859-1")
    with pytest.raises(AsciinemaError) as e:
        check_locale({"LC_CTYPE": "pl_PL", "LANG": "en_US"})
    assert str(e.value) == (
        'asciinema requires ASCII or UTF-8 character encoding. The environment (LC_CTYPE=pl_PL) '
        'specifies the character set "ISO-8859-1". Check the output of `locale` command.'
    )
    with pytest.raises(AsciinemaError) as e:
        check_locale({})
    assert "The environment () specifies" in str(e.value)
    for ok in ("ANSI_X3.4-1968", "UTF-8", "US-ASCII"):
        monkeypatch.setattr(locale, "nl_langinfo", lambda item, ok=ok: ok)
        check_locale({})


def test_notifier_selection(tmp_path: Path) -> None:
    from asciinema.notifier import command_for

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {"PATH": str(bin_dir)}
    assert command_for("hi", env, None) is None
    assert command_for("hi", env, "echo x") == ["/bin/sh", "-c", "echo x"]
    for name in ("osascript", "notify-send", "tmux"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    assert command_for('say "hi"', env, None) == ["notify-send", "asciinema", 'say "hi"']
    assert command_for("hi", dict(env, TMUX="/tmp/tmux-0/default,1,0"), None) == [
        "tmux", "display-message", "asciinema: hi"]
    (bin_dir / "notify-send").unlink()
    assert command_for('say "hi"', env, None) == [
        "osascript", "-e", 'display notification "say \\"hi\\"" with title "asciinema"']


def test_notifier_runs_custom_command_in_background(tmp_path: Path) -> None:
    from asciinema.notifier import BackgroundNotifier, make_notifier, NullNotifier

    out = tmp_path / "notes.txt"
    go = tmp_path / "go"
    # each command waits for the test to create "go" (for a minute at most)
    command = (f'i=0; while [ ! -e {go} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; '
               f'echo "$TEXT" >> {out}')
    n = BackgroundNotifier({"PATH": os.environ["PATH"]}, command)
    n.notify("Paused recording")
    n.notify("Marker added")
    assert not out.exists()  # never waits for the command
    go.touch()
    wait_for_lines(out, 2)
    n.close()
    assert out.read_text() == "Paused recording\nMarker added\n"
    assert isinstance(make_notifier({}, False, "echo"), NullNotifier)


def test_failing_notifier_is_disabled(tmp_path: Path) -> None:
    from asciinema.notifier import BackgroundNotifier

    count = tmp_path / "count"
    n = BackgroundNotifier({"PATH": os.environ["PATH"]}, f"echo x >> {count}; exit 1")
    n.notify("one")
    deadline = time.monotonic() + 60
    while not n._disabled:
        assert time.monotonic() < deadline, "the failure never disabled the notifier"
        time.sleep(0.01)
    n.notify("two")  # dropped: the notifier failed
    n.close()
    assert n._thread is not None
    n._thread.join(60)
    assert not n._thread.is_alive()
    assert count.read_text() == "x\n"


def test_hanging_notifier_never_blocks(tmp_path: Path) -> None:
    from asciinema.notifier import QUEUE_SIZE, BackgroundNotifier

    n = BackgroundNotifier({"PATH": os.environ["PATH"]}, "sleep 300")
    start = time.monotonic()
    for _ in range(QUEUE_SIZE * 3):
        n.notify("x")
    n.close()
    assert time.monotonic() - start < 60  # not held by the command (300 s)
    assert n._thread is not None
    n._thread.join(5)
    assert not n._thread.is_alive()  # it got its end even with a full queue
