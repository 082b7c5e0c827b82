"""asciinema.redact and asciinema.strip_osc: secrets masked across reads and escape
sequences, with the layout kept; the presets, with near misses; OSC metadata dropped."""

from __future__ import annotations

import re
from typing import List, Sequence, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asciinema.asciicast import Event
from asciinema.capture import Capture
from asciinema.redact import HOLD, HOLD_US, MAX_MATCH, Patterns, PatternError, RedactFilter, literal_prefix, mask
from asciinema.redact_presets import PRESETS
from asciinema.strip_osc import StripOscFilter

ALL = list(PRESETS)
ESC_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -/]*[0-~])")


def run(filt: object, pieces: Sequence[str], code: str = "o", step: int = 1000) -> List[Event]:
    """``pieces`` as events ``step`` µs apart through the filter, then its flush."""
    out: List[Event] = []
    for i, piece in enumerate(pieces):
        out.extend(filt.feed((i * step, code, piece)))  # type: ignore[attr-defined]
    out.extend(filt.flush())  # type: ignore[attr-defined]
    return out


def text_of(events: Sequence[Event], code: str = "o") -> str:
    return "".join(e[2] for e in events if e[1] == code)


def redacted(patterns: Patterns, pieces: Sequence[str]) -> str:
    return text_of(run(RedactFilter(patterns), pieces))


# -- masking -----------------------------------------------------------------------------------


def test_mask_keeps_display_width_and_control_characters() -> None:
    assert mask("abc") == "***"
    assert mask("a\r\nb\t") == "*\r\n*\t"
    assert mask("秘x") == "***"  # wide: two cells
    assert mask("e\u0301") == "*"  # a combining accent takes no cell


def test_secret_whole_and_user_pattern() -> None:
    p = Patterns(["hunter2"])
    assert redacted(p, ["pw: hunter2!"]) == "pw: *******!"
    assert redacted(p, ["no secret here"]) == "no secret here"


LINE = "x \x1b[1;31mhun\x1b[Kter\x1b[0m2 日本 hunter2\x1b]0;t\x07 秘hunter2秘 \x1b(Bhunter2\r\n"
WANT = "x \x1b[1;31m***\x1b[K***\x1b[0m* 日本 *******\x1b]0;t\x07 秘*******秘 \x1b(B*******\r\n"


def test_secret_inside_sgr_after_erase_and_next_to_wide_characters() -> None:
    assert redacted(Patterns(["hunter2"]), [LINE]) == WANT


@pytest.mark.parametrize("cut", range(1, len(LINE)))
def test_secret_split_at_every_position(cut: int) -> None:
    p = Patterns(["hunter2"])
    assert redacted(p, [LINE[:cut], LINE[cut:]]) == WANT


def test_secret_split_at_every_position_after_long_output() -> None:
    # what was held back is pushed out in pieces, the rest parsed once and kept
    filler = "\x1b[32mok\x1b[0m build " * 300
    p = Patterns(["hunter2"])
    text, want = filler + LINE + filler, filler + WANT + filler
    for cut in range(len(filler) - 10, len(filler) + len(LINE) + 10):
        assert redacted(p, [text[:cut - 2500], text[cut - 2500:cut], text[cut:]]) == want, cut
        assert redacted(p, [text[:cut], text[cut:cut + 3], text[cut + 3:]]) == want, cut


def test_secret_one_character_per_read() -> None:
    assert redacted(Patterns(["hunter2"]), list(LINE)) == WANT


def test_released_text_keeps_the_times_of_its_events() -> None:
    events = run(RedactFilter(Patterns(["hunter2"])), ["a hun", "ter2 ", "b"], step=1000)
    assert events == [(0, "o", "a ***"), (1000, "o", "**** "), (2000, "o", "b")]


def test_wide_characters_in_a_match_become_two_stars() -> None:
    assert redacted(Patterns(["秘密[a-z]+"]), ["a 秘密ab b"]) == "a ****** b"


def test_input_is_redacted_apart_from_output() -> None:
    f = RedactFilter(Patterns(["hunter2"]))
    out = []
    for i, (code, data) in enumerate([("i", "hun"), ("o", "hun"), ("i", "ter2"), ("o", "ter2\r\n")]):
        out.extend(f.feed((i, code, data)))
    out.extend(f.flush())
    assert text_of(out, "i") == "*******" and text_of(out, "o") == "*******\r\n"
    times = [e[0] for e in out]
    assert times == sorted(times)


def test_other_events_keep_their_place_after_held_output() -> None:
    f = RedactFilter(Patterns(["hunter2"]))
    out = f.feed((0, "o", "a hunter"))
    out += f.feed((5, "r", "100x40"))
    out += f.feed((6, "o", "2"))
    out += f.flush()
    assert out == [(0, "o", "a hunter"), (5, "r", "100x40"), (6, "o", "2")]


# -- holding back --------------------------------------------------------------------------------


def test_held_text_goes_at_the_deadline() -> None:
    f = RedactFilter(Patterns(["hunter2"]))
    assert f.feed((10, "o", "abc hun")) == []
    assert f.deadline() == 10 + HOLD_US
    assert f.tick(10 + HOLD_US - 1) == []
    assert f.tick(10 + HOLD_US) == [(10, "o", "abc hun")]
    assert f.deadline() is None
    # a secret cut by a pause longer than the hold is matched apart: the documented limit
    assert text_of(f.feed((2 * HOLD_US, "o", "ter2")) + f.flush()) == "ter2"


@pytest.mark.parametrize("gated", [True, False])
def test_only_the_last_hold_characters_are_held(gated: bool) -> None:
    patterns = Patterns(["hunter2"])
    assert patterns.gates is not None  # it starts with a fixed string
    f = RedactFilter(patterns if gated else ungated(patterns))
    out = f.feed((0, "o", "a" * (HOLD + 100)))
    assert text_of(out) == "a" * 100
    escapes = "\x1b[31m" * 10000
    out += f.feed((1, "o", escapes + "b"))  # escape sequences count in what is held
    assert HOLD <= f.streams["o"].held < HOLD + 5
    out += f.feed((2, "o", escapes))
    # made into visible text, the held escape sequences can't start a match on their own;
    # told by the raw patterns, they are held as any output is
    assert (HOLD <= f.streams["o"].held < HOLD + 5) if gated else f.streams["o"].held == 0
    out += f.flush()
    assert text_of(out) == "a" * (HOLD + 100) + escapes + "b" + escapes
    # held text is never cut inside an escape sequence
    f = RedactFilter(Patterns(["hunter2"]))
    for n in range(1, 12):
        out = f.feed((0, "o", "x" * n + escapes[:HOLD + 3]))
        assert ESC_RE.sub("", text_of(out)).strip("x") == ""
        f.flush()


def test_capture_drives_the_filter_with_its_clock() -> None:
    now = [0]
    events: List[Event] = []
    capture = Capture(events.append, lambda: now[0], filters=[RedactFilter(Patterns(["hunter2"]))])
    capture.begin()
    capture.output(b"pw: hunt")
    assert events == [] and capture.next_deadline() == HOLD_US * 1000
    now[0] = 500 * 10**6
    capture.output(b"er2 ok")
    now[0] = capture.next_deadline()  # type: ignore[assignment]
    capture.tick()
    assert text_of(events) == "pw: ******* ok"
    capture.exit(0)
    assert events[-1][1] == "x"


def test_escape_sequence_split_between_reads_is_not_visible_text() -> None:
    p = Patterns(["31m"])
    assert redacted(p, ["a\x1b[3", "1mb"]) == "a\x1b[31mb"
    assert redacted(p, ["a\x1b]0;31m", "x\x07 31m"]) == "a\x1b]0;31mx\x07 ***"


def test_long_unfinished_osc_goes_out_and_its_rest_stays_invisible() -> None:
    p = Patterns(["AAAA"])
    body = "A" * 100_000
    out = redacted(p, ["\x1b]1337;File=:" + body[:70_000], body[70_000:], "\x07 AAAA"])
    assert out == "\x1b]1337;File=:" + body + "\x07 ****"


# -- patterns ------------------------------------------------------------------------------------


def test_bad_patterns_and_presets_are_refused() -> None:
    with pytest.raises(PatternError, match="invalid --redact pattern '\\(': "):
        Patterns(["("])
    with pytest.raises(PatternError, match="matches the empty string"):
        Patterns(["a*"])
    with pytest.raises(PatternError, match="unknown redaction preset 'nope' \\(known: aws, "):
        Patterns([], ["nope"])


PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\r\n"
    "Proc-Type: 4,ENCRYPTED\r\n"
    "MIIEowIBAAKCAQEAx0Y+q9/8JKa7==\r\n"
    "-----END RSA PRIVATE KEY-----\r\n"
)
PEM_MASKED = (
    "-----BEGIN RSA PRIVATE KEY-----\r\n"
    "**********************\r\n"
    "******************************\r\n"
    "-----END RSA PRIVATE KEY-----\r\n"
)

#: preset -> (text, what it becomes) with a secret, and texts that must stay as they are
POSITIVE = {
    "aws": [("id=AKIAIOSFODNN7EXAMPLE.", "id=********************."),
            ("ASIAY34FZKBOKMUTVV7A", "*" * 20)],
    "github": [("t ghp_" + "a1B2" * 9 + " x", "t " + "*" * 40 + " x"),
               ("gho_" + "Z" * 36, "*" * 40), ("ghu_" + "0" * 36, "*" * 40),
               ("ghs_" + "9" * 40, "*" * 44), ("ghr_" + "q" * 36, "*" * 40),
               ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012",
                "*" * 86)],
    "gitlab": [("glpat-xxxxxxxxxxxxxxxxxxxx", "*" * 26), ("glpat-AbCd_EfGh-1234.5678.ij", "*" * 28)],
    "slack": [("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "*" * 56),
              ("SLACK=xoxp-1-abcdefgh", "SLACK=" + "*" * 15)],
    "jwt": [("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc-_DEF123", "*" * 48),
            ("tok=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.;", "tok=" + "*" * 36 + ";")],
    "bearer": [("-H 'Authorization: Bearer abc.DEF-123_x='", "-H 'Authorization: Bearer " + "*" * 14 + "'"),
               ('"authorization": "bearer tok/en+=="', '"authorization": "bearer ' + "*" * 9 + '"'),
               ("AUTHORIZATION=BEARER  x", "AUTHORIZATION=BEARER  *")],
    "pem": [(PEM, PEM_MASKED),
            ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n$ ls\n",
             "-----BEGIN OPENSSH PRIVATE KEY-----\n********************\n$ ls\n")],
    "private-ip": [("10.0.0.1", "********"), ("ssh 172.16.254.3:22", "ssh ************:22"),
                   ("192.168.1.255.", "*************."), ("(10.255.255.255)", "(**************)"),
                   ("172.31.0.1", "**********")],
}
NEGATIVE = {
    "aws": ["AKIAIOSFODNN7EXAMPL", "AKIAIOSFODNN7EXAMPLEX", "akiaiosfodnn7example", "XAKIAIOSFODNN7EXAMPLE",
            "AKIAIOSFODNN7EXAMPLe"],
    "github": ["ghp_" + "a" * 35, "ghx_" + "a" * 36, "xghp_" + "a" * 36, "ghp_" + "a" * 36 + "_",
               "github_pat_short", "GHP_" + "a" * 36],
    "gitlab": ["glpat-short", "glpat-" + "x" * 19, "xglpat-" + "x" * 20, "glpat_" + "x" * 20],
    "slack": ["xoxc-123-abcdefgh", "xoxb-", "xoxb-abcdefgh", "xoxb-1-abc"],
    "jwt": ["eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9.abc.def", "abc.eyJzdWIiOiIxIn0.x",
            "eyJ.eyJ.x"],
    "bearer": ["Authorization: Basic dXNlcjpwYXNz", "Bearer token alone", "Authorization: Bearer",
               "Authorization: Bearer "],
    "pem": ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
            "BEGIN RSA PRIVATE KEY\nMIIB\n"],
    "private-ip": ["10.0.0.256", "1.10.0.0.1", "10.0.0.1.5", "11.0.0.1", "172.15.0.1", "172.32.0.1",
                   "192.169.0.1", "8.8.8.8", "110.0.0.1", "10.0.0", "v2.10.0.0.1"],
}


@pytest.mark.parametrize("name", ALL)
def test_every_preset_has_examples(name: str) -> None:
    assert POSITIVE[name] and NEGATIVE[name]


@pytest.mark.parametrize("name", ALL)
def test_preset_needles_are_in_every_match(name: str) -> None:
    # a needle missing from a match would make the preset skip text it should search
    for text, _ in POSITIVE[name]:
        matches = [(m.group(), p.needles) for p in PRESETS[name] for m in re.finditer(p.regex, text)]
        assert matches
        for match, needles in matches:
            assert all(needle in match for needle in needles), (match, needles)


@pytest.mark.parametrize("name,text,want", [(n, t, w) for n in ALL for t, w in POSITIVE[n]])
def test_preset_masks_its_secrets(name: str, text: str, want: str) -> None:
    assert Patterns([], [name]).redact_text(text) == want
    assert Patterns([], ALL).redact_text(text) == want  # the others leave it as it is


@pytest.mark.parametrize("name,text,want", [(n, t, w) for n in ALL for t, w in POSITIVE[n]])
def test_preset_masks_its_secrets_split_anywhere(name: str, text: str, want: str) -> None:
    p = Patterns([], ALL)
    for cut in range(1, len(text)):
        assert redacted(p, [text[:cut], text[cut:]]) == want, cut


@pytest.mark.parametrize("name,text", [(n, t) for n in ALL for t in NEGATIVE[n]])
def test_preset_leaves_near_misses(name: str, text: str) -> None:
    assert Patterns([], ALL).redact_text(text) == text


def test_longest_preset_tokens_fit_in_the_hold() -> None:
    longest = [("ghp_" + "a" * 251, ""), ("github_pat_" + "a" * 244, ""), ("glpat-" + "a" * 250, ""),
               ("eyJ" + "a" * 200 + ".eyJ" + "a" * 500 + "." + "a" * 300, ""),
               ("Authorization: Bearer " + "a" * 900, "Authorization: Bearer ")]
    p = Patterns([], ALL)
    for token, kept in longest:
        assert len(token) <= MAX_MATCH
        want = "x " + kept + "*" * (len(token) - len(kept)) + " y"
        assert redacted(p, ["x "] + list(token) + [" y"]) == want


def test_pem_body_of_any_length_is_masked_as_it_comes() -> None:
    body = "".join("QUJD" * 16 + "\r\n" for _ in range(200))  # far longer than MAX_MATCH
    text = "-----BEGIN PRIVATE KEY-----\r\n" + body + "-----END PRIVATE KEY-----\r\n$ "
    p = Patterns([], ["pem"])
    want = "-----BEGIN PRIVATE KEY-----\r\n" + mask(body) + "-----END PRIVATE KEY-----\r\n$ "
    assert redacted(p, [text[i:i + 100] for i in range(0, len(text), 100)]) == want
    # held back past the deadline in the middle of the body: the block stays open
    f = RedactFilter(p)
    out = f.feed((0, "o", text[:500])) + f.tick(HOLD_US) + f.feed((HOLD_US + 1, "o", text[500:])) + f.flush()
    assert text_of(out) == want


# -- where a match can start, told without the visible text (the presets' raw patterns) ----------

ESCAPES = ["\x1b[1m", "\x1b[K", "\x1b[38;5;208m", "\x1b]0;t\x07", "\x1b]8;;x\x1b\\", "\x1b(B", "\x1b7"]


def ungated(patterns: Patterns) -> Patterns:
    """The same patterns, matched on the visible text made of all the output."""
    patterns.gates = None
    return patterns


@pytest.mark.parametrize("name,text,want", [(n, t, w) for n in ALL for t, w in POSITIVE[n]])
def test_presets_find_their_secrets_with_an_escape_sequence_anywhere(name: str, text: str, want: str) -> None:
    p = Patterns([], ALL)
    for i in range(len(text) + 1):
        esc = ESCAPES[i % len(ESCAPES)]
        assert p.redact_text(text[:i] + esc + text[i:]) == want[:i] + esc + want[i:], i
    every = ESCAPES[len(text) % len(ESCAPES)]
    assert p.redact_text(every.join(text)) == every.join(want)
    # and in a read of its own between coloured output
    filler = "\x1b[32mok\x1b[0m build " * 200
    for cut in (1, len(text) // 2, len(text) - 1):
        raw = filler + text[:cut] + "\x1b[1m" + text[cut:] + " " + filler
        assert (redacted(p, [raw[:3000], raw[3000:5000], raw[5000:]])
                == filler + want[:cut] + "\x1b[1m" + want[cut:] + " " + filler)


@pytest.mark.parametrize("name,text", [(n, t) for n in ALL for t in NEGATIVE[n]])
def test_presets_leave_near_misses_with_an_escape_sequence_anywhere(name: str, text: str) -> None:
    p = Patterns([], ALL)
    for i in range(len(text) + 1):
        raw = text[:i] + "\x1b[1m" + text[i:]
        assert p.redact_text(raw) == raw, i


def test_a_string_ended_by_the_next_escape_is_left_out_wherever_the_output_is_cut() -> None:
    # an OSC or APC string ends where the next ESC starts; the visible text is made in pieces,
    # and a piece that ended right before that ESC took the string for text
    filler = "\x1b[32mok\x1b[0m build " * 300
    for string in ("\x1b]0;hunter2", "\x1b_hunter2"):
        text = filler + string + "\x1b[0m" + filler
        end = len(filler) + len(string)
        for p in (Patterns(["hunter2"]), Patterns(["hunter2"], ALL)):
            for cut in range(end + HOLD - 3, end + HOLD + 4):
                assert redacted(p, [text[:cut], text[cut:]]) == text, (string, cut)


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> List[int]:
    """The length of each piece of output made into visible text (escape sequences taken out)."""
    import asciinema.redact as redact

    lengths: List[int] = []
    original = redact._ESCAPE

    class Counting:
        def sub(self, repl: str, text: str) -> str:
            lengths.append(len(text))
            return original.sub(repl, text)

        def __getattr__(self, name: str) -> object:
            return getattr(original, name)

    monkeypatch.setattr(redact, "_ESCAPE", Counting())
    return lengths


def test_coloured_output_without_secrets_is_not_parsed(parsed: List[int]) -> None:
    # taking the escape sequences out costs most of the time on coloured output: only the
    # characters around the cut (for the look-behinds) are parsed, not all of the output
    line = "\x1b[2m12:00:01.5\x1b[0m \x1b[32mINFO\x1b[0m [\x1b[35mworker-1\x1b[0m] cache_miss index=3 v1.2\r\n"
    reads = [line * 200] * 20
    assert redacted(Patterns([], ALL), reads) == "".join(reads)
    assert sum(parsed) < len("".join(reads)) // 20


@pytest.mark.parametrize("regex,prefix", [
    ("hunter[0-9]+", "hunter"), ("hunter2", "hunter2"), ("password=\\S+", "password="),
    ("sk\\-live_[A-Za-z0-9]{20}", "sk-live_"), ("ab+c", "ab"), ("秘密", "秘密"),
    # a character that a quantifier may take away is not part of it
    ("ab*c", "a"), ("ab?", "a"), ("ab{0,3}", "a"), ("a{2}", ""),
    # where a plain reading can't tell
    ("a|b", ""), ("(?i)abc", ""), ("x(?i:y)", ""), ("^abc", ""), ("\\bkey", ""), ("[ab]c", ""),
    ("(?:ab)c", ""), ("\\x41b", ""), ("\\d+", ""),
])
def test_literal_prefix(regex: str, prefix: str) -> None:
    assert literal_prefix(regex) == prefix
    for m in re.finditer(regex, "abc hunter22 password=x sk-live_" + "a" * 20 + " 秘密 abbc aaac AbC"):
        assert m.group().startswith(prefix)


def test_a_user_pattern_with_a_fixed_start_leaves_coloured_output_unparsed(parsed: List[int]) -> None:
    reads = ["\x1b[32mok\x1b[0m build\r\n" * 400] * 20 + ["\x1b[1mhun\x1b[Kter42\x1b[0m\r\n"]
    assert redacted(Patterns(["hunter[0-9]+"]), reads) == "".join(reads[:-1]) + "\x1b[1m***\x1b[K*****\x1b[0m\r\n"
    assert sum(parsed) < len("".join(reads)) // 10
    # one that doesn't start with one makes the visible text of all the output
    parsed.clear()
    assert redacted(Patterns(["[h]unter[0-9]+"]), reads) == "".join(reads[:-1]) + "\x1b[1m***\x1b[K*****\x1b[0m\r\n"
    assert sum(parsed) >= len("".join(reads)) // 2


# -- property: random output, random secrets, random reads -------------------------------------

SECRETS = [t for n in ALL if n != "pem" for t, w in POSITIVE[n] if w == "*" * len(t)] + ["s3cr3t-1234"]
PLAIN = st.lists(
    st.one_of(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz .,\r\n日本é", max_size=30),
        st.sampled_from(["\x1b[31m", "\x1b[0m", "\x1b[K", "\x1b]0;title\x07", "\x1b(B", "\x1b[2;5H"]),
    ),
    max_size=6,
).map("".join)
DECOR = st.sampled_from(["", "\x1b[1m", "\x1b[K", "\x1b[38;5;208m"])
FILLER_WORDS = ["build", "\x1b[32mok\x1b[0m", "日本", "\r\n", "\x1b[2K", "x" * 40, "\x1b]0;t\x07"]
#: long runs of output, so that what is held back is pushed out by what comes after
FILLER = st.lists(st.sampled_from(FILLER_WORDS), max_size=400).map(" ".join)


@st.composite
def sessions(draw: st.DrawFn, secrets: Sequence[str] = SECRETS,
             decors: "st.SearchStrategy[str]" = DECOR) -> Tuple[str, str, List[str]]:
    """(output, what it must become, the output cut into reads)."""
    out, want = [], []
    for _ in range(draw(st.integers(0, 5))):
        plain = " " + draw(st.one_of(PLAIN, FILLER)) + " "
        out.append(plain)
        want.append(plain)
        secret = draw(st.sampled_from(secrets))
        at, decor = draw(st.integers(0, len(secret))), draw(decors)
        out.append(secret[:at] + decor + secret[at:])
        want.append("*" * at + decor + "*" * (len(secret) - at))
    out.append(" " + draw(PLAIN))
    want.append(out[-1])
    text = "".join(out)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    reads = [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)]) if a < b]
    return text, "".join(want), reads


PRESET_SECRETS = [t for t in SECRETS if not t.startswith("s3cr3t")]


@settings(max_examples=300, deadline=None)
@given(sessions(PRESET_SECRETS, st.sampled_from(ESCAPES + ["", "\x1b[1m\x1b[K"])))
def test_presets_alone_no_secret_survives_and_nothing_else_changes(session: Tuple[str, str, List[str]]) -> None:
    # the presets alone tell where a match can start: the output is parsed only from there
    text, want, reads = session
    got = redacted(Patterns([], ALL), reads)
    assert got == want
    assert got == redacted(ungated(Patterns([], ALL)), reads)


@settings(max_examples=200, deadline=None)
@given(sessions(PRESET_SECRETS, st.sampled_from(ESCAPES + ["", "\x1b[1m\x1b[K"])), st.sampled_from([1, 5, 40, 300]))
def test_a_small_window_changes_nothing(session: Tuple[str, str, List[str]], window: int) -> None:
    # where a match can start, the visible text is made of a window's worth of output and the
    # rest looked at again: with windows this small, every secret is cut by one
    import asciinema.redact as redact

    text, want, reads = session
    old = redact.WINDOW
    redact.WINDOW = window
    try:
        got = redacted(Patterns([], ALL), reads)
    finally:
        redact.WINDOW = old
    assert got == want


def test_windows_leave_the_output_between_secrets_unparsed(parsed: List[int]) -> None:
    # one read, a secret at each end: the output between them is not made into visible text
    import asciinema.redact as redact

    filler = "\x1b[32mok\x1b[0m build\r\n" * 20000
    text = "10.1.2.3 " + filler + " AKIAIOSFODNN7EXAMPLE " + filler
    assert redacted(Patterns([], ALL), [text]) == "******** " + filler + " " + "*" * 20 + " " + filler
    assert sum(parsed) < 4 * (redact.WINDOW + HOLD)


@pytest.mark.parametrize("lead", ["10", "172", "192"])
def test_a_lead_cut_by_many_escape_sequences_is_found(lead: str) -> None:
    # the raw pattern of private-ip starts at the dot; what comes before it is read back
    # through escape sequences far longer than the lead
    rest = {"10": ".0.0.1", "172": ".16.0.1", "192": ".168.0.1"}[lead]
    esc = "\x1b[38;5;208m" * 12
    text = "x " + esc.join(lead) + esc + rest + " y"
    want = "x " + esc.join("*" * len(lead)) + esc + "*" * len(rest) + " y"
    p = Patterns([], ["private-ip"])
    assert p.redact_text(text) == want
    assert redacted(p, ["\x1b[32mok\x1b[0m " * 300, text, "\x1b[32mok\x1b[0m " * 300]).count("*") == len(lead + rest)


@settings(max_examples=300, deadline=None)
@given(sessions())
def test_no_secret_survives_and_nothing_else_changes(session: Tuple[str, str, List[str]]) -> None:
    text, want, reads = session
    patterns = Patterns(["s3cr3t-[0-9]{4}"], ALL)
    assert patterns.gates is not None  # the user's pattern starts with a fixed string
    got = redacted(patterns, reads)
    assert got == want
    assert got == redacted(ungated(Patterns(["s3cr3t-[0-9]{4}"], ALL)), reads)
    visible = ESC_RE.sub("", got)
    for secret in SECRETS:
        assert secret not in visible


# -- layout ------------------------------------------------------------------------------------


def test_final_screen_is_the_original_with_stars_in_secret_cells() -> None:
    vt = pytest.importorskip("asciinema.vt")
    from wcwidth import wcwidth

    secret_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789秘"
    text = (
        "$ echo \x1b[32mKEY9ABC\x1b[0m and 秘秘XY\r\n"
        "wide 日本 then \x1b[1mAB\x1b[KCD秘\x1b[0m end\r\n"
        "\x1b[2;30Hmoved QQQQ\r\n" + "filler line\r\n" * 3
    )
    p = Patterns(["[A-Z0-9秘]{2,}"])
    red = redacted(p, [text[i:i + 7] for i in range(0, len(text), 7)])

    def screen(data: str) -> List[str]:
        term = vt.Terminal(40, 8)
        term.feed(data)
        return term.display

    expected = ["".join("*" * wcwidth(c) if c in secret_chars else c for c in row) for row in screen(text)]
    assert screen(red) == expected


# -- OSC stripping ------------------------------------------------------------------------------

OSC_SRC = ("a\x1b]7;file://host/home\x07b\x1b]1337;CurrentDir=/x\x1b\\c\x1b]633;E;export T=1\x1b\\d"
           "\x1b]0;title\x07e\x1b]77;x\x07f\x1b]7\x07g\x1b]133;A\x07h")
OSC_WANT = "abcd\x1b]0;title\x07e\x1b]77;x\x07fg\x1b]133;A\x07h"


def test_strip_osc_drops_metadata_sequences_only() -> None:
    assert text_of(run(StripOscFilter(), [OSC_SRC])) == OSC_WANT


def test_strip_osc_across_events_at_every_pair_of_cuts() -> None:
    for i in range(len(OSC_SRC) + 1):
        for j in range(i, len(OSC_SRC) + 1):
            pieces = [p for p in (OSC_SRC[:i], OSC_SRC[i:j], OSC_SRC[j:]) if p]
            assert text_of(run(StripOscFilter(), pieces)) == OSC_WANT, (i, j)


def test_strip_osc_drops_a_long_body_as_it_comes_and_holds_only_a_prefix() -> None:
    f = StripOscFilter()
    assert f.feed((0, "o", "x\x1b]1337;File=" + "A" * 100_000)) == [(0, "o", "x")]
    assert f.deadline() is None
    assert f.feed((1, "o", "A" * 100_000 + "\x07y\x1b]13")) == [(1, "o", "y")]
    assert f.deadline() == 1 + HOLD_US
    assert f.tick(1 + HOLD_US) == [(1, "o", "\x1b]13")]
    assert f.feed((2, "i", "\x1b]7;x\x07")) == [(2, "i", "\x1b]7;x\x07")]  # input is not changed
