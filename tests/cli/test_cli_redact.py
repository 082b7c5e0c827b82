"""`convert --redact / --redact-preset / --strip-osc` through the command line (source tree or
archive): every input version, every output format, a big input (encoded in a second process),
and refusals that write nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List, Tuple

import pytest

AWS = "AKIAIOSFODNN7EXAMPLE"
TOKEN = "abc.DEF-123_x"
# (delay in seconds, output): the secrets split between events, coloured, with ESC[K inside
EVENTS: List[Tuple[float, str]] = [
    (0.1, "$ aws configure\r\nkey: \x1b[1m" + AWS[:7]),
    (0.2, "\x1b[K" + AWS[7:13]),
    (0.1, AWS[13:] + "\x1b[0m\r\n"),
    (0.3, "curl -H 'Authorization: Bearer " + TOKEN + "' x\r\n"),
    (0.1, "pw hun"),
    (0.1, "ter2 ok\x1b]7;file://myhost/home/me\x07\r\n"),
]
RAW_WANT = (
    "$ aws configure\r\nkey: \x1b[1m*******\x1b[K******" + "*" * 7 + "\x1b[0m\r\n"
    "curl -H 'Authorization: Bearer " + "*" * len(TOKEN) + "' x\r\n"
    "pw *******" + " ok\x1b]7;file://myhost/home/me\x07\r\n"
)
SECRETS = [AWS, TOKEN, "hunter2"]


def write_cast(path: Path, version: int, events: List[Tuple[float, str]], title: str = "demo") -> Path:
    if version == 1:
        path.write_text(json.dumps({"version": 1, "width": 60, "height": 10, "title": title,
                                    "duration": sum(d for d, _ in events), "stdout": events}))
        return path
    lines = [json.dumps({"version": 2, "width": 60, "height": 10, "title": title} if version == 2
                        else {"version": 3, "term": {"cols": 60, "rows": 10}, "title": title})]
    t = 0.0
    for delay, text in events:
        t += delay
        lines.append(json.dumps([round(t, 6) if version == 2 else delay, "o", text]))
    path.write_text("\n".join(lines) + "\n")
    return path


def leaks(data: bytes) -> List[str]:
    """The secrets, or pieces of 5 of their characters, found in ``data``."""
    text = data.decode("utf-8")
    return [s[i:i + 5] for s in SECRETS for i in range(len(s) - 4) if s[i:i + 5] in text]


def output_text(data: bytes) -> str:
    lines = data.decode().splitlines()
    return "".join(json.loads(line)[2] for line in lines[1:] if json.loads(line)[1] == "o")


FLAGS = ["--redact-preset", "aws", "--redact-preset", "bearer", "--redact", "hunter[0-9]"]


@pytest.mark.parametrize("fmt", ["asciicast-v3", "asciicast-v2", "raw", "txt", "html"])
@pytest.mark.parametrize("version", [1, 2, 3])
def test_convert_redacts_any_version_to_any_format(cli, tmp_path: Path, version: int, fmt: str) -> None:
    src = write_cast(tmp_path / "in.cast", version, EVENTS, title="key " + AWS)
    r = cli("convert", *FLAGS, "-f", fmt, str(src), "out")
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    out = (tmp_path / "out").read_bytes()
    assert leaks(out) == []
    if fmt == "raw":
        assert out.decode() == "\x1b[8;10;60t" + RAW_WANT  # the size first, as raw writes it
    elif fmt.startswith("asciicast"):
        assert output_text(out) == RAW_WANT
        assert json.loads(out.decode().splitlines()[0])["title"] == "key " + "*" * len(AWS)
    elif fmt == "txt":
        assert out.decode().splitlines()[1] == "key: " + "*" * len(AWS)
    else:
        assert '\\u001b[1m*******"' in out.decode()


def test_without_flags_nothing_is_masked(cli, tmp_path: Path) -> None:
    src = write_cast(tmp_path / "in.cast", 3, EVENTS)
    assert cli("convert", "-f", "raw", str(src), "out").returncode == 0
    assert (tmp_path / "out").read_bytes().decode() == "\x1b[8;10;60t" + "".join(text for _, text in EVENTS)


def test_big_input_encoded_in_a_second_process_is_redacted(cli, tmp_path: Path) -> None:
    filler = [(0.001, "line %06d of build output, nothing to see\r\n" % i) for i in range(60_000)]
    events = filler[:30_000] + EVENTS + filler[30_000:] + EVENTS
    src = write_cast(tmp_path / "big.cast", 2, events)
    assert src.stat().st_size > 3 << 20  # above the size at which convert forks an encoder
    r = cli("convert", *FLAGS, str(src), "out.cast")
    assert r.returncode == 0, r.stderr
    out = (tmp_path / "out.cast").read_bytes()
    assert leaks(out) == []
    assert output_text(out).count(RAW_WANT) == 2


def test_strip_osc(cli, tmp_path: Path) -> None:
    src = write_cast(tmp_path / "in.cast", 2, EVENTS + [(0.1, "\x1b]633;E;export T=1\x1b"), (0.1, "\\done")])
    r = cli("convert", "--strip-osc", "-f", "raw", str(src), "-")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "\x1b[8;10;60t" + "".join(text for _, text in EVENTS).replace("\x1b]7;file://myhost/home/me\x07", "") \
        + "done"


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--redact", "("], "Error: invalid --redact pattern '(': missing ), unterminated subpattern at position 0\n"),
        (["--redact", "x*"], "Error: invalid --redact pattern 'x*': it matches the empty string\n"),
        (["--redact-preset", "aws", "--redact-preset", "githb"],
         "Error: unknown redaction preset 'githb' (known: aws, github, gitlab, slack, jwt, bearer, pem, "
         "private-ip)\n"),
    ],
)
def test_bad_pattern_or_preset_is_one_error_line_and_nothing_written(cli, tmp_path: Path, flags: List[str],
                                                                     message: str) -> None:
    src = write_cast(tmp_path / "in.cast", 3, EVENTS)
    r = cli("convert", *flags, str(src), "out.cast")
    assert (r.returncode, r.stdout, r.stderr.decode()) == (1, b"", message)
    assert not (tmp_path / "out.cast").exists()
    r = cli("convert", *flags, str(src), "-")
    assert (r.returncode, r.stdout, r.stderr.decode()) == (1, b"", message)
    # checked before the input is opened
    r = cli("convert", *flags, str(tmp_path / "missing.cast"), "-")
    assert (r.returncode, r.stderr.decode()) == (1, message)


def test_help_lists_the_presets(cli) -> None:
    r = cli("convert", "--help", env={"COLUMNS": "200"})
    assert r.returncode == 0
    help_text = re.sub(r"\s+", " ", r.stdout.decode())
    assert "--redact REGEX" in help_text and "--strip-osc" in help_text
    assert "aws, github, gitlab, slack, jwt, bearer, pem, private-ip" in help_text
