"""cat and convert on two processes (asciinema/conversion_output.py): the same bytes as on one, and the
same errors: a broken input line reported by number after what came before it, a failed
write reported once, no process left behind."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asciinema.asciicast import make_event, open_recording
from asciinema.encoders import flusher, get_encoder, text_writer
from asciinema.errors import OutputError
from asciinema import conversion_output
from asciinema.conversion_output import MIN_PARALLEL_BYTES, ChildSink, LocalSink, parallel_wanted

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")


def big_cast(path: Path, events: int, seed: int, broken_at: int = 0) -> Path:
    rng = random.Random(seed)
    words = ["ls", "\x1b[32mok\x1b[0m", "żółć", "\r\n", '"q"', "\\", "\t", "done $ "]
    lines = ['{"version": 2, "width": 80, "height": 24}']
    t = 0
    for i in range(events):
        t += rng.randint(1, 20000)
        code = rng.choice("ooooooim")
        lines.append(f"[{t / 1e6:.6f}, {json.dumps(code)}, {json.dumps(' '.join(rng.sample(words, 3)))}]")
        if i == 7000:
            lines.append('[%.6f, "r", "100x30"]' % (t / 1e6))
    if broken_at:
        lines[broken_at - 1] = '[1.0, "o", "unterminated]'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["asciicast-v3", "asciicast-v2", "raw", "txt"])
def test_child_sink_writes_what_local_sink_writes(tmp_path: Path, fmt: str) -> None:
    src = big_cast(tmp_path / "in.cast", 20000, 1)
    outputs: List[bytes] = []
    for sink_class in (LocalSink, ChildSink):
        target = tmp_path / f"out-{sink_class.__name__}"
        with open(target, "wb") as out:
            write = text_writer(out, "out")
            with open(src, "rb") as f:
                recording = open_recording(f, str(src))
                encoder = get_encoder(fmt)
                write(encoder.header(recording.header))
                out.flush()
                sink = LocalSink(encoder, write) if sink_class is LocalSink else ChildSink(encoder, write, out.flush)
                with sink:
                    if fmt != "raw":
                        sink.set_time_offset(5_000_000)
                    sink.event(make_event(0, "m", "start"))
                    sink.recording(recording)
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 100_000


def test_child_failure_is_one_output_error(tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    src = big_cast(tmp_path / "in.cast", 20000, 2)
    with open("/dev/full", "wb") as out:
        write, flush = text_writer(out, "/dev/full"), flusher(out, "/dev/full")
        with open(src, "rb") as f:
            recording = open_recording(f, str(src))
            encoder = get_encoder("asciicast-v3")
            sink = ChildSink(encoder, write, flush)
            with pytest.raises(OutputError, match="can't write /dev/full: No space left on device"):
                with sink:
                    sink.recording(recording)
            assert sink.pid is None  # reaped


def test_parallel_only_for_big_inputs_with_cores() -> None:
    assert not parallel_wanted(None)
    assert not parallel_wanted(MIN_PARALLEL_BYTES - 1)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert parallel_wanted(MIN_PARALLEL_BYTES) == ((cpus or 1) > 1)


# --- through the command line (source tree and archive) ------------------------------

@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = big_cast(tmp_path_factory.mktemp("big") / "big.cast", 60000, 3)
    assert path.stat().st_size > MIN_PARALLEL_BYTES
    return path


def test_big_convert_and_cat_match_small_pieces(cli, tmp_path: Path, big: Path) -> None:
    # the expected bytes come from this process's encoders, one event at a time
    with open(big, "rb") as f:
        recording = open_recording(f, str(big))
        events = list(recording.events)
        header = recording.header
    enc = get_encoder("asciicast-v3")
    expected = enc.header(header) + "".join(map(enc.event, events))
    r = cli("convert", str(big), str(tmp_path / "out.cast"))
    assert r.returncode == 0 and r.stderr == b""
    assert (tmp_path / "out.cast").read_text(encoding="utf-8") == expected
    r = cli("cat", str(big), str(big))
    assert r.returncode == 0 and r.stderr == b""
    enc2 = get_encoder("asciicast-v2")
    last = events[-1][0]
    resize = make_event(last, "r", "80x24")  # the second file starts at 80x24 again
    second = [make_event(t + last, c, d) for t, c, d in events]
    assert r.stdout.decode("utf-8") == (enc2.header(header) + "".join(map(enc2.event, events + [resize] + second)))


def test_big_input_broken_late_names_the_line_and_keeps_what_came_before(cli, tmp_path: Path) -> None:
    src = big_cast(tmp_path / "broken.cast", 60000, 4, broken_at=50001)
    r = cli("cat", str(src), str(src))
    assert r.returncode == 1
    assert r.stderr.decode().startswith(f"Error: {src}:50001: ")
    assert r.stderr.count(b"\n") == 1
    lines = r.stdout.splitlines()
    assert len(lines) > 40000 and all(json.loads(line) for line in lines)  # whole blocks before the break
    r = cli("convert", str(src), str(tmp_path / "out.cast"))
    assert r.returncode == 1 and r.stderr.decode().startswith(f"Error: {src}:50001: ")
    assert sorted(os.listdir(tmp_path)) == ["broken.cast"]  # no partial output, no temp file


def test_big_input_to_a_full_disk(cli, cli_argv: List[str], cli_env: Dict[str, str], big: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    r = cli("convert", str(big), "/dev/full")
    assert r.returncode == 1
    assert r.stderr == b"Error: can't write /dev/full: No space left on device\n"
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(cli_argv + ["cat", str(big), str(big)], stdout=full, stderr=subprocess.PIPE,
                              env=cli_env, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == b"Error: can't write to stdout: No space left on device\n"


def test_no_fork_means_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from asciinema import conversion_output

    def refuse() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(conversion_output.os, "fork", refuse)
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    with open(tmp_path / "out", "wb") as out:
        sink = conversion_output.open_sink(get_encoder("asciicast-v3"), text_writer(out, "out"), out.flush, 1 << 30)
    assert type(sink) is LocalSink
    if before:
        assert len(os.listdir("/proc/self/fd")) == before  # no pipe left open


def test_raw_output_is_joined_in_the_decoding_process(tmp_path: Path) -> None:
    # joining raw output costs less than handing batches to a child: no fork, even for big inputs
    with open(tmp_path / "out", "wb") as out:
        for fmt, kind in (("raw", LocalSink), ("asciicast-v3", ChildSink)):
            if kind is ChildSink and not parallel_wanted(1 << 30):
                continue
            with conversion_output.open_sink(get_encoder(fmt), text_writer(out, "out"), out.flush, 1 << 30) as sink:
                assert type(sink) is kind


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from("ooooim"), st.text()), max_size=30))
def test_raw_batches_are_the_raw_stream(rows: List[Tuple[str, str]]) -> None:
    events = [make_event(k, code, data) for k, (code, data) in enumerate(rows)]
    expected = "".join(get_encoder("raw").encode(events))
    columns = tuple(map(list, zip(*events))) if events else ([], [], [])
    assert get_encoder("raw").encode_columns(*columns) == expected  # type: ignore[attr-defined]
