"""The asciicast codecs in-process: readers of v1/v2/v3, the v2/v3 writers, error messages."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asciinema.asciicast import Event, Header, Theme, open_recording, parse_size
from asciinema.asciicast import v2, v3
from asciinema.errors import FormatError

from paths import CASTS  # noqa: E402


def load(name: str):  # type: ignore[no-untyped-def]
    with open(CASTS / name, "rb") as f:
        rec = open_recording(f, name)
        return rec.version, rec.header, list(rec.events)


def read_bytes(data: bytes, name: str = "t.cast") -> List[Event]:
    rec = open_recording(io.BytesIO(data), name)
    return list(rec.events)


def test_v1_minimal() -> None:
    version, header, events = load("minimal-v1.json")
    assert version == 1
    assert (header.cols, header.rows) == (100, 50)
    assert events == [(500000, "o", "hello"), (1500000, "o", " world\r\n")]


def test_v1_full() -> None:
    version, header, events = load("full-v1.json")
    assert header.title == "Demo v1" and header.command == "/bin/bash"
    assert header.term_type == "xterm-256color"
    assert [e[0] for e in events] == [123456, 623456, 873456, 2494456]
    assert events[2][2].endswith("żółć\r\n")


def test_v1_and_v2_nulls_in_env_are_dropped() -> None:
    for name in ("nulls-v1.json", "nulls-v2.cast"):
        _, header, events = load(name)
        assert header.env == {"TERM": "xterm"}
        assert events == [(100000, "o", "x")]


def test_v2_full() -> None:
    version, header, events = load("full-v2.cast")
    assert version == 2
    assert header.timestamp == 1509091818
    assert header.idle_time_limit == 2.5
    assert header.theme == Theme(
        "#000102",
        "#0064c8",
        tuple(
            "#000000:#dd3c69:#4ebf22:#ddaf3c:#26b0d7:#b954e1:#54e1b9:#d9d9d9:"
            "#4d4d4d:#dd3c69:#4ebf22:#ddaf3c:#26b0d7:#b954e1:#54e1b9:#ffffff".split(":")
        ),
    )
    assert [e[0] for e in events] == [1, 1000001, 1300001, 2900002, 3100000, 13400002, 13500000]
    assert [e[1] for e in events] == ["o", "i", "o", "r", "m", "o", "x"]


def test_v3_full() -> None:
    version, header, events = load("full-v3.cast")
    assert version == 3
    assert header.term_type == "xterm-256color" and header.term_version == "VTE(7802)"
    assert header.theme is not None and len(header.theme.palette) == 16  # 8 colours doubled
    assert [e[0] for e in events] == [1, 1000001, 1300001, 2900001, 3100001, 13400001, 13500001]
    assert events[3] == (2900001, "r", "80x40")
    assert events[-1] == (13500001, "x", "0")


@pytest.mark.parametrize(
    "us, text", [(0, "0.0"), (1000001, "1.000001"), (12300000, "12.3"), (12000003, "12.000003")]
)
def test_v2_format_time(us: int, text: str) -> None:
    assert v2.format_time(us) == text


@pytest.mark.parametrize("ms, text", [(0, "0.000"), (666, "0.666"), (1000, "1.000"), (12345, "12.345")])
def test_v3_format_interval(ms: int, text: str) -> None:
    assert v3.format_interval(ms) == text


def test_v3_quantiser_vector() -> None:
    # Intervals in µs and the ms the error-carrying quantiser must produce (asciinema 3.0.1+).
    pairs = [
        (26692, 27000), (540290, 540000), (64736, 65000), (105951, 106000), (171006, 171000),
        (191943, 192000), (107942, 108000), (128108, 128000), (148904, 149000), (108973, 109000),
        (211002, 211000), (44701, 44000), (489307, 490000), (405987, 406000), (105028, 105000),
        (194590, 194000), (61043, 61000), (532296, 532000), (319015, 320000), (152786, 152000),
        (32578, 33000), (5445, 5000), (40542, 41000), (756, 1000),
    ]
    enc = v3.Encoder()
    now = 0
    got = []
    for interval, _ in pairs:
        now += interval
        line = enc.event(Event(now, "o", ""))
        got.append(round(float(line[1:].split(",")[0]) * 1000000))
    assert got == [q for _, q in pairs]
    # the batch path agrees with the per-event path
    now = 0
    events = []
    for interval, _ in pairs:
        now += interval
        events.append(Event(now, "o", ""))
    single = v3.Encoder()
    assert "".join(v3.Encoder().encode(events)) == "".join(single.event(e) for e in events)


def test_v3_header_key_order_and_compactness() -> None:
    header = Header(
        cols=80, rows=24, term_type="xterm-256color", term_version="foot(1.22.0)",
        theme=Theme("#ffffff", "#000000", tuple(["#000000"] * 16)), timestamp=1736000000,
        idle_time_limit=2.0, command="bash -l", title="Demo", env={"SHELL": "/bin/bash"},
    )
    text = v3.Encoder().header(header)
    assert text.startswith('{"version":3,"term":{"cols":80,"rows":24,"type":"xterm-256color",'
                           '"version":"foot(1.22.0)","theme":{"fg":"#ffffff","bg":"#000000","palette":"#000000:')
    assert text.endswith('"timestamp":1736000000,"idle_time_limit":2.0,"command":"bash -l","title":"Demo",'
                         '"env":{"SHELL":"/bin/bash"}}\n')


def test_v2_encoder_offset_and_escaping() -> None:
    enc = v2.Encoder(time_offset=1000001)
    assert enc.event(Event(1000001, "o", "żółć\x1b[0m\x7f")) == '[2.000002, "o", "żółć\\u001b[0m\x7f"]\n'
    assert enc.event(Event(3000002, "r", "100x40")) == '[4.000003, "r", "100x40"]\n'
    assert v2.Encoder().header(Header(80, 24)) == '{"version":2,"width":80,"height":24}\n'


def test_v2_batch_and_single_encoders_agree() -> None:
    _, _, events = load("full-v2.cast")
    single = v2.Encoder(5)
    assert "".join(v2.Encoder(5).encode(events)) == "".join(single.event(e) for e in events)


def test_parse_size() -> None:
    assert parse_size("80x24") == (80, 24)
    for bad, msg in [("80", "invalid size"), ("ax24", "invalid cols"), ("80xb", "invalid rows"), ("99999x1", "cols")]:
        with pytest.raises(ValueError, match=msg):
            parse_size(bad)


HEADER2 = b'{"version": 2, "width": 80, "height": 24}\n'
HEADER3 = b'{"version": 3, "term": {"cols": 80, "rows": 24}}\n'


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "t.cast: empty file"),
        (b"\n\n", "t.cast: empty file"),
        (b"hello\n", "t.cast:1: invalid JSON"),
        (b'{"version": 5}\n', "t.cast:1: unsupported asciicast version: 5"),
        (b'{"version": 2, "width": 80}\n', "t.cast:1: asciicast v2 header needs positive integer width"),
        (b'{"version": 3, "term": {"cols": 0, "rows": 24}}\n', "t.cast:1: asciicast v3 header needs"),
        (b'{"version": 2, "width": 80, "height": 24, "theme": {"fg": "red"}}\n', "t.cast:1: invalid theme colour"),
        (HEADER2 + b'[0.1, "o", "a"]\n[0.2, "o", "b"\n', "t.cast:3: invalid JSON"),
        (HEADER2 + b'[0.1, "o", "a"]\n[-0.2, "o", "b"]\n', "t.cast:3: asciicast v2 event time must not be negative"),
        (HEADER2 + b'[0.1, "o", "a"]\n[0.2, "", "b"]\n', "t.cast:3: missing event code"),
        (HEADER2 + b'[0.1, "o", 5]\n', "t.cast:2: asciicast v2 event data must be a string"),
        (HEADER2 + b'[0.1, "o"]\n', "t.cast:2: asciicast v2 event must be a [time, code, data] array"),
        (HEADER2 + b'[NaN, "o", "x"]\n', "t.cast:2: invalid JSON"),
        (HEADER2 + b'["1", "o", "x"]\n', "t.cast:2: asciicast v2 event time must be a number"),
        (HEADER2 + b'[0.1, "o", "\xff"]\n', "t.cast:2: invalid UTF-8"),
        (HEADER2 + b'[0.1, "r", "80-24"]\n', "t.cast:2: invalid size value in resize event"),
        (HEADER3 + b'# c\n\n[0.1, "x", "zero"]\n', "t.cast:4: invalid exit status"),
        (HEADER3 + b'[0.1, "o", "a"],[0.2, "o", "b"]\n', "t.cast:2: invalid JSON: Extra data"),
        (HEADER3 + b'[0.1, "o", "a"], [0.2\n[\n', "t.cast:2: invalid JSON"),
        (b'{"version": 1, "width": 80, "height": 24, "stdout": [[0.1, 5]]}', "t.cast: stdout frame 1"),
    ],
)
def test_errors_name_file_and_line(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as info:
        read_bytes(data)
    assert str(info.value).startswith(message), str(info.value)


def test_v2_times_going_backwards_are_clamped_with_one_warning() -> None:
    # as asciinema 2.x plays them: at once, that is at the time of the event before
    line = b'[9.5, "o", "' + b"x" * 100 + b'"]\n'
    data = HEADER2 + b'[0.5, "o", "a"]\n[0.2, "o", "b"]\n[0.7, "o", "c"]\n[0.6, "o", "d"]\n'
    data += line * 5000 + b'[1.5, "o", "e"]\n'  # a later block goes backwards too
    rec = open_recording(io.BytesIO(data), "t.cast")
    warnings: List[str] = []
    rec.warn = warnings.append
    events = list(rec.events)
    assert [e[0] for e in events[:4]] == [500000, 500000, 700000, 700000]
    assert events[-1] == (9500000, "o", "e") and rec.last_time == 9500000
    assert warnings == [
        "t.cast:3: event time goes backwards (0.2 after 0.5); such events are moved to the time of the one before them"
    ]


def test_v1_negative_delays_are_clamped_with_one_warning(capsys: pytest.CaptureFixture[str]) -> None:
    data = b'{"version": 1, "width": 80, "height": 24, "stdout": [[0.5, "a"], [-0.2, "b"], [0.1, "c"], [0.3, "d"], [-1, "e"]]}'
    # times are the sums of the delays, never going back: 0.5, 0.3, 0.4, 0.7, -0.3
    assert [e[0] for e in read_bytes(data)] == [500000, 500000, 500000, 700000, 700000]
    assert capsys.readouterr().err == (
        "!!! t.cast: stdout frame 2 has a negative delay (-0.2); such frames are moved to the time of the one before them\n"
    )


@pytest.mark.parametrize("version", [1, 2, 3])
def test_lone_surrogates_and_invalid_utf8_in_headers_become_replacement_characters(version: int) -> None:
    fields = b'"title": "a\xffb", "command": "c\\udfffd", "env": {"SHELL": "x\\ud83dy", "K\\ud800": "v"}'
    if version == 1:
        data = b'{"version": 1, "width": 8, "height": 2, "stdout": [], ' + fields.replace(b"\xff", b"") + b"}"
    elif version == 2:
        data = b'{"version": 2, "width": 8, "height": 2, ' + fields + b"}\n"
    else:
        data = b'{"version": 3, "term": {"cols": 8, "rows": 2, "type": "t\\udc80"}, ' + fields + b"}\n"
    header = open_recording(io.BytesIO(data), "t.cast").header
    assert header.title == ("ab" if version == 1 else "a\ufffdb")
    assert header.command == "c\ufffdd"
    assert header.env == {"SHELL": "x\ufffdy", "K\ufffd": "v"}
    if version == 3:
        assert header.term_type == "t\ufffd"
        text = v3.Encoder().header(header)
        assert "\ufffd" in text and text.encode("utf-8")  # no lone surrogate left to become "?"


def test_lines_split_across_batches_are_numbered_right() -> None:
    line = b'[0.001, "o", "' + b"x" * 100 + b'"]\n'
    data = HEADER3 + line * 5000 + b"[broken\n" + line
    with pytest.raises(FormatError, match=r"^t.cast:5002: invalid JSON"):
        read_bytes(data)


def test_v3_comments_and_blank_lines_anywhere() -> None:
    data = HEADER3 + b"# one\n\n   \n[0.5, \"o\", \"a\"]\n#two\n[0.25, \"q\", \"unknown\"]\n"
    assert read_bytes(data) == [(500000, "o", "a"), (750000, "q", "unknown")]


def test_leading_whitespace_lines_are_accepted() -> None:
    assert read_bytes(HEADER2 + b'  [1, "o", "a"]\r\n') == [(1000000, "o", "a")]


def test_events_are_lazy() -> None:
    # the header is checked at open time, a broken event only when reached
    rec = open_recording(io.BytesIO(HEADER2 + b'[0.1, "o", "a"]\n' + b"junk\n"), "t.cast")
    it = iter(rec.events)
    with pytest.raises(FormatError, match="t.cast:3"):
        next(it)


@settings(max_examples=2000, deadline=None)
@given(st.integers(0, 10**16))
def test_v2_fast_time_format_matches_the_definition(us: int) -> None:
    enc = v2.Encoder()
    line = enc.encode_columns([us], ["o"], [""])
    assert line == f"[{v2.format_time(us)}, \"o\", \"\"]\n"


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["a", "Z", " ", "\r\n", "\t", "\x1b[0m", '"', "\\", "\x00", "\x7f",
                                  "\x08", "\x0c", "\x1f", "é", "\ud800", "\\u00"]), max_size=100),
       st.integers(1, 40))
def test_fast_escaping_of_long_data_is_the_c_escaper(pieces: List[str], times: int) -> None:
    from json.encoder import encode_basestring  # type: ignore[attr-defined]

    from asciinema.asciicast import event_lines_utf8

    piece = "".join(pieces)
    for text in (piece * times + "x" * 2048, piece):  # long (the fast path's size) and short
        expected = f'[1.5, "o", {encode_basestring(text)}]\n'.encode("utf-8", "replace")
        assert event_lines_utf8(["1.5"], ["o"], [text]) == expected


@pytest.mark.parametrize("mod", [v2, v3])
def test_live_encoding_to_utf8_matches_single_events(mod) -> None:  # type: ignore[no-untyped-def]
    data = ("line with \"quotes\" and \\ \t\x07\r\n" * 200, "x" * 5000, "é\x1b[0m\r\n" * 400, "short\n",
            "\x1b[1m" * 1000, "".join(map(chr, range(32))) * 100, "lone \ud800 surrogate" * 200, "")
    events = [Event(i * 1234, c, d) for i, d in enumerate(data) for c in ("o", "i", "q")]
    expected = "".join(map(mod.Encoder().event, events)).encode("utf-8", "replace")
    assert mod.Encoder().encode_utf8(events) == expected
    assert json.loads(b"[" + expected.replace(b"]\n[", b"],[").rstrip(b"\n") + b"]")  # valid JSON lines


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 10**9), st.sampled_from("oirmx"), st.text()), max_size=20))
def test_live_encoding_to_utf8_matches_text_encoding(rows: List[Tuple[int, str, str]]) -> None:
    events = [Event(t, c, d * 600) for t, c, d in sorted(rows)]
    for mod in (v2, v3):
        expected = "".join(mod.Encoder().encode(events)).encode("utf-8", "replace")
        assert mod.Encoder().encode_utf8(events) == expected


# The batch encoders' UTF-8 path (encode_columns_utf8: data joined with NULs, encoded once,
# escaped in byte passes, split back) must give the bytes of the text path, whatever the data:
# NULs and lone surrogates (which it leaves to the text path), dense escapes, every code.
_PIECES = st.sampled_from(["a", "Z", " ", "\r\n", "\t", "\x1b[0m", '"', "\\", "\x00", "\x7f", "\x08", "\x0c",
                           "\x1f", "é", "✓", "😀", "\ud800", "\\u0000", "%s", "żółć"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3 * 10**6), st.sampled_from("ooooooirmx"),
                          st.lists(_PIECES, max_size=12).map("".join)), min_size=1, max_size=30),
       st.booleans(), st.sampled_from([0, 1, 999_999, 5_000_000]), st.integers(1, 3))
def test_utf8_batch_encoding_is_the_text_encoding(rows: List[Tuple[int, str, str]], one_code: bool,
                                                  offset: int, batches: int) -> None:
    t, events = 0, []
    for step, code, data in rows:
        t += step
        events.append((t, "o" if one_code else code, data))
    for mod in (v2, v3):
        text_enc, utf8_enc = mod.Encoder(), mod.Encoder()
        text_enc.time_offset = utf8_enc.time_offset = offset
        bytes_enc = mod.Encoder()  # data that came as UTF-8 (from the parent of a conversion)
        bytes_enc.time_offset = offset
        expected, got, got_from_bytes = b"", b"", b""
        for k in range(batches):  # several batches: v3 carries its last time from one to the next
            times, codes, datas = (list(c) for c in zip(*events[k::batches])) if events[k::batches] else ([], [], [])
            expected += text_enc.encode_columns(times, codes, datas).encode("utf-8", "replace")
            got += utf8_enc.encode_columns_utf8(times, codes, datas)
            try:
                utf8: List[object] = [d.encode() for d in datas]
            except UnicodeEncodeError:  # a lone surrogate: the parent sends text
                utf8 = datas  # type: ignore[assignment]  # text, as the parent sends it then
            got_from_bytes += bytes_enc.encode_columns_utf8(times, codes, utf8)  # type: ignore[arg-type]  # bytes or text, as the parent sends them
        assert got == expected
        assert got_from_bytes == expected


@pytest.mark.parametrize("data", ["ok", "é✓" * 50, "\x1b[0m" * 30 + "x", '"\\' * 40, "".join(map(chr, range(1, 32)))],
                         ids=["ascii", "non-ascii", "dense-esc", "dense-quotes", "all-controls"])
def test_utf8_batch_encoding_of_dense_or_rare_escapes(data: str) -> None:
    # dense escapes go the text way; the lines are the same either way
    times, codes, datas = [1000, 2_500_000, 2_500_001], ["o", "o", "o"], [data, data[::-1], ""]
    for mod in (v2, v3):
        assert mod.Encoder().encode_columns_utf8(times, codes, datas) == \
            mod.Encoder().encode_columns(times, codes, datas).encode("utf-8", "replace")


def test_joined_data_refuses_what_it_cannot_split_back() -> None:
    from asciinema.asciicast import joined_data

    assert joined_data(["a", "é", ""]) == "a\x00é\x00".encode()
    assert joined_data(["a\x00b", "c"]) is None
    assert joined_data(["\ud800"]) is None


def test_quoted_lines_escape_sparse_text_whole() -> None:
    from asciinema.asciicast import joined_data, quoted_lines

    heads = [[b'"]\n[0.1, "o", "', b'"]\n[0.2, "o", "']]
    lines = quoted_lines(heads, joined_data(["a\x1b[0m✓ \"x\" done", "é\\ and more\n"]))  # type: ignore[arg-type]
    assert lines == '[0.1, "o", "a\\u001b[0m✓ \\"x\\" done"]\n[0.2, "o", "é\\\\ and more\\n"]\n'.encode()
    assert quoted_lines(heads, joined_data(["\x01\x02", "\x03"])) is None  # dense: left to the C escaper  # type: ignore[arg-type]
