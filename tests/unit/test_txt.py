"""The txt encoder: text of a recording as asciinema 3 ``convert -f txt`` gives it."""

from __future__ import annotations

import tracemalloc
from typing import Iterable, List

import pytest

pytest.importorskip("pyte")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from asciinema.asciicast import Event, Header  # noqa: E402
from asciinema.encoders import get_encoder  # noqa: E402
from asciinema.encoders.txt import TxtEncoder  # noqa: E402


def out(data: Iterable[str], cols: int = 80, rows: int = 24) -> str:
    return encode([Event(i, "o", d) for i, d in enumerate(data)], cols, rows)


def encode(events: List[Event], cols: int = 80, rows: int = 24) -> str:
    enc = TxtEncoder()
    assert enc.header(Header(cols, rows)) == ""
    return "".join(enc.encode(events)) + enc.finish()


def encode_one_by_one(events: List[Event], cols: int = 80, rows: int = 24) -> str:
    enc = TxtEncoder()
    enc.header(Header(cols, rows))
    return "".join(enc.event(e) for e in events) + enc.finish()


def test_asciinema3_unit_test_vector() -> None:
    events = [Event(0, "o", "he\x1b[1mllo\r\n"), Event(1, "o", "world\r\n")]
    assert encode(events, 3, 1) == "hello\nworld\n"
    assert encode_one_by_one(events, 3, 1) == "hello\nworld\n"


def test_get_encoder() -> None:
    assert isinstance(get_encoder("txt"), TxtEncoder)


def test_empty_recording() -> None:
    assert out([]) == ""
    assert out(["\x1b[31m", "\x1b[0m"]) == ""


def test_event_returns_lines_as_they_leave_the_screen() -> None:
    enc = TxtEncoder()
    enc.header(Header(10, 2))
    assert enc.event(Event(0, "o", "one\r\n")) == ""
    assert enc.event(Event(1, "o", "two\r\n")) == "one\n"
    assert enc.event(Event(2, "o", "three")) == ""
    assert enc.event(Event(3, "o", "\r\n")) == "two\n"
    assert enc.finish() == "three\n"


def test_trailing_spaces_and_trailing_empty_lines_removed() -> None:
    assert out(["a  \r\n\r\n  b \r\n\r\n\r\n"]) == "a\n\n  b\n"


def test_empty_lines_between_batches_are_kept() -> None:
    enc = TxtEncoder()
    enc.header(Header(10, 2))
    text = enc.event(Event(0, "o", "a\r\n\r\n\r\n\r\n"))
    text += enc.event(Event(1, "o", "b\r\n\r\n\r\n\r\n"))
    assert text + enc.finish() == "a\n\n\n\nb\n"


def test_wrapped_lines_are_joined() -> None:
    line = "0123456789" * 5
    assert out([line + "\r\nnext\r\n"], 12, 3) == line + "\nnext\n"
    # ... also when the start has scrolled off and the rest is still on the screen
    assert out([line], 12, 3) == line + "\n"


def test_wrapped_line_keeps_inner_spaces() -> None:
    assert out(["ab  cd  ef\r\n"], 4, 2) == "ab  cd  ef\n"


def test_text_before_clear_is_kept_issue_739() -> None:
    data = ["$ echo hello\r\nhello\r\n$ clear\r\n", "\x1b[H\x1b[2J\x1b[3J", "$ echo after\r\nafter\r\n$ "]
    assert out(data) == "$ echo hello\nhello\n$ clear\n$ echo after\nafter\n$\n"


def test_many_clears_keep_everything_in_order() -> None:
    data = [f"screen {i}\r\n\x1b[H\x1b[J" for i in range(5)]
    assert out(data) == "".join(f"screen {i}\n" for i in range(5))


def test_alt_screen_content_is_dropped_after_leaving_it() -> None:
    data = ["$ vim\r\n", "\x1b[?1049h\x1b[H\x1b[2Jeditor text\r\n~\r\n~", "\x1b[?1049l", "$ done\r\n"]
    assert out(data, 20, 5) == "$ vim\n$ done\n"


def test_recording_ending_in_alt_screen_shows_it() -> None:
    data = ["$ ls\r\nfile\r\n$ htop\r\n", "\x1b[?1049h\x1b[H\x1b[2J  PID USER\r\n    1 root\r\n"]
    assert out(data, 20, 5) == "$ ls\nfile\n$ htop\n  PID USER\n    1 root\n"
    # Only htop: not empty.
    assert out(["\x1b[?1049h\x1b[2;1Hhtop"], 20, 5) == "\nhtop\n"


def test_resize_events() -> None:
    events = [
        Event(0, "o", "aaaaaaaaaa"),  # 10 columns: fills the first line
        Event(1, "r", "20x3"),
        Event(2, "o", "bbb\r\n" + "c" * 15 + "\r\n"),
        Event(3, "r", "16x2"),
        Event(4, "o", "ddddddd\r\n"),
    ]
    expected = "aaaaaaaaaabbb\n" + "c" * 15 + "\nddddddd\n"
    assert encode(events, 10, 3) == expected
    assert encode_one_by_one(events, 10, 3) == expected


def test_narrowing_keeps_the_text_of_lines_on_the_screen() -> None:
    # Soft-wrapped lines are laid out again at the new width (as avt and kitty do), not cut.
    events = [Event(0, "o", "c" * 15 + "\r\n"), Event(1, "r", "5x2"), Event(2, "o", "d\r\n")]
    assert encode(events, 20, 3) == "c" * 15 + "\nd\n"
    assert encode_one_by_one(events, 20, 3) == "c" * 15 + "\nd\n"


def test_resize_to_100_then_50_columns_keeps_the_line_whole() -> None:
    line = "".join(f"{i:02d}-" for i in range(34))[:100]
    events = [
        Event(0, "o", "$ cat file\r\n" + line + "\r\n$ "),
        Event(1, "r", "50x4"),  # the line becomes two rows, pushing "$ cat file" off the top
        Event(2, "o", "ls\r\n"),
        Event(3, "r", "100x4"),
        Event(4, "o", "x\r\n"),
    ]
    expected = "$ cat file\n" + line + "\n$ ls\nx\n"
    assert encode(events, 100, 4) == expected
    assert encode_one_by_one(events, 100, 4) == expected


def test_typing_goes_on_where_the_cursor_was_after_a_resize() -> None:
    events = [
        Event(0, "o", "$ echo 0123456789abcdef"),
        Event(1, "o", "\x1b[2D"),  # the cursor back on "e", in the second row
        Event(2, "r", "7x5"),
        Event(3, "o", "E"),
        Event(4, "r", "30x5"),
        Event(5, "o", "\x1b[C!\r\n"),
    ]
    assert encode(events, 20, 5) == "$ echo 0123456789abcdEf!\n"


def test_invalid_resize_and_other_events_are_ignored() -> None:
    events = [
        Event(0, "o", "one\r\n"),
        Event(1, "i", "typed\r\n"),
        Event(2, "m", "marker"),
        Event(3, "r", "bogus"),
        Event(4, "o", "two\r\n"),
        Event(5, "x", "0"),
    ]
    assert encode(events) == "one\ntwo\n"
    assert encode_one_by_one(events) == "one\ntwo\n"


def test_big_batches() -> None:
    lines = [f"line {i} " + "x" * (i % 97) for i in range(5000)]
    data = "\r\n".join(lines) + "\r\n"
    chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    assert out(chunks, 80, 24) == "".join(line.rstrip() + "\n" for line in lines)


def test_memory_of_one_huge_event_stays_in_proportion_to_it() -> None:
    # One output event of many megabytes with no line break (a binary cat, a minified
    # file): its thousands of wrapped rows used to be kept as dicts of cells, some 40
    # times the size of the text, until the event was done.
    data = "".join(chr(97 + i % 26) for i in range(997)) * 400
    enc = TxtEncoder()
    enc.header(Header(80, 24))
    events = [Event(0, "o", data)]
    tracemalloc.start()
    try:
        text = "".join(enc.encode(events)) + enc.finish()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert text == data + "\n"
    assert peak < 10 * len(data)  # the text out (and its copies) is about 3 times its size


def test_escape_sequence_split_across_events() -> None:
    assert out(["a\x1b[3", "1mb\x1b", "[0m\r", "\nc"]) == "ab\nc\n"


def test_cjk_and_zwj_text() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert out(["中文 " + family + " ok\r\n"]) == "中文 " + family + " ok\n"
    assert out(["一二三四五六\r\n"], 5, 2) == "一二三四五六\n"


def test_text_is_kept_as_recorded_without_normalisation() -> None:
    # "e" + COMBINING ACUTE stays two code points, also when the mark comes at a line's end
    assert out(["cafe\u0301 caf\u00e9\r\n", "abcd", "e\u0301\r\n"], 5, 3) == "cafe\u0301 caf\u00e9\nabcde\u0301\n"


def test_encoder_without_header_uses_80x24() -> None:
    enc = TxtEncoder()
    assert enc.event(Event(0, "o", "x" * 100 + "\r\n")) == ""
    assert enc.finish() == "x" * 100 + "\n"


# -- properties --------------------------------------------------------------------------------

printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=50)
sgr = st.sampled_from(["", "", "\x1b[0m", "\x1b[1;31m", "\x1b[m", "\x1b[38;5;208m", "\x1b[4m\x1b[K"])


@settings(max_examples=300, deadline=None)
@given(
    cols=st.integers(min_value=1, max_value=20),
    rows=st.integers(min_value=1, max_value=6),
    lines=st.lists(st.tuples(printable, sgr), max_size=30),
    final_newline=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=10),
)
def test_plain_lines_come_out_as_written(
    cols: int, rows: int, lines: List[tuple], final_newline: bool, cuts: List[int]
) -> None:
    """Text and CR LF only (with colours): the output is the lines, right-stripped."""
    data = "\r\n".join(sgr + text for text, sgr in lines) + ("\r\n" if final_newline else "")
    bounds = sorted({c for c in cuts if c < len(data)} | {0, len(data)})
    events = [Event(i, "o", data[a:b]) for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]
    expected = [text.rstrip() for text, _ in lines]
    while expected and not expected[-1]:
        expected.pop()
    expected_text = "".join(line + "\n" for line in expected)
    assert encode(events, cols, rows) == expected_text
    assert encode_one_by_one(events, cols, rows) == expected_text


line_text = st.text(st.sampled_from("abcdefghij     ABC一二三"), max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    cols=st.integers(min_value=2, max_value=24),
    rows=st.integers(min_value=1, max_value=8),
    narrow=st.integers(min_value=1, max_value=24),
    lines=st.lists(line_text, max_size=12),
    final_newline=st.booleans(),
    more=line_text,
)
def test_narrowing_then_widening_back_loses_nothing(
    cols: int, rows: int, narrow: int, lines: List[str], final_newline: bool, more: str
) -> None:
    """Lines longer than the screen wrap; after a narrower resize and one back, the text is
    the same as without them, and what comes next goes where it would have gone."""
    data = "\r\n".join(lines) + ("\r\n" if final_newline else "")
    plain = [Event(0, "o", data), Event(1, "o", more + "\r\nend")]
    resized = [Event(0, "o", data), Event(1, "r", f"{narrow}x{rows}"), Event(2, "r", f"{cols}x{rows}")]
    resized.append(Event(3, "o", more + "\r\nend"))
    expected = encode(plain, cols, rows)
    assert encode(resized, cols, rows) == expected
    assert encode_one_by_one(resized, cols, rows) == expected
    assert encode(resized[:2] + resized[3:], cols, rows) == expected  # narrower only
