"""Redaction in `rec`, `stream` and `session`: the file, the viewers of the local stream and the
remote relay get the masked text, the user's own terminal (stdout, headless) the program's
output unchanged; session.redact in the config; bad patterns stop the command before the session."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List

from test_session_stream import (  # noqa: F401  (procs is a fixture)
    TIMEOUT, WAIT_FOR_GO, output_of, procs, start, watch,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from server_producer import Ev, Init, ProducerServer  # noqa: E402

# a secret split between writes, in colour, then OSC 7
SCRIPT = (
    "printf 'key \\033[1mAKIAIOS'; sleep 0.1; printf 'FODNN7EXAMPLE\\033[0m\\n'; "
    "printf 'pw hun'; sleep 0.1; printf 'ter2\\n'; printf '\\033]7;file://myhost/home\\007done'"
)
SHOWN = "key \x1b[1mAKIAIOSFODNN7EXAMPLE\x1b[0m\r\npw hunter2\r\n\x1b]7;file://myhost/home\x07done"
MASKED = "key \x1b[1m" + "*" * 20 + "\x1b[0m\r\npw *******\r\ndone"
FLAGS = ["--redact-preset", "aws", "--redact", "hunter[0-9]", "--strip-osc"]


def recorded_output(path: Path) -> str:
    lines = path.read_text().splitlines()
    return "".join(json.loads(line)[2] for line in lines[1:] if json.loads(line)[1] == "o")


def test_session_file_and_viewer_get_masked_text_the_terminal_the_real_one(
        cli: object, cli_argv: List[str], rec_env: Dict[str, str], tmp_path: Path, procs: list) -> None:
    proc = start(cli_argv, rec_env, tmp_path, procs, "session", "-o", "x.cast", "--stream-local", "--headless",
                 *FLAGS, "-t", "AKIAIOSFODNN7EXAMPLE", "-c", WAIT_FOR_GO + SCRIPT)
    url, viewer, init, events, status, stdout, stderr = watch(proc, tmp_path)
    assert (status, stderr) == (0, b"")
    assert output_of(events) == MASKED
    assert recorded_output(tmp_path / "x.cast") == MASKED
    header = json.loads((tmp_path / "x.cast").read_text().splitlines()[0])
    assert header["title"] == "*" * 20
    # what the user saw: byte for byte what the program wrote
    assert SHOWN.encode() in stdout


def test_no_secret_byte_reaches_the_relay(cli: object, cli_argv: List[str], rec_env: Dict[str, str],
                                          tmp_path: Path, procs: list) -> None:
    env = {k: v for k, v in rec_env.items() if not k.lower().endswith("_proxy")}
    with ProducerServer() as server:
        proc = start(cli_argv, env, tmp_path, procs, "session", "-o", "x.cast", "-r", server.url, "--headless",
                     *FLAGS, "-t", "AKIAIOSFODNN7EXAMPLE", "-c", WAIT_FOR_GO + SCRIPT)
        server.wait_for(lambda: bool(server.connections and server.connections[0].inits), "the relay's Init")
        (tmp_path / "go").touch()
        _, stderr = proc.communicate(timeout=TIMEOUT)
        assert (proc.returncode, stderr) == (0, b"")
        conn = server.connections[-1]
        assert conn.closed.wait(TIMEOUT)
    assert len(server.connections) == 1 and conn.error is None, server.summary()
    assert [after for _, after in conn.segments()] == [MASKED]  # all of it after the first Init, as events
    sent = b"".join(conn.messages)
    decoded = "".join([item.text if isinstance(item, Init) else str(item.data)
                       for item in conn.items if isinstance(item, (Init, Ev))])
    for secret in ("AKIAIOS", "FODNN7EXAMPLE", "hunter", "hun", "ter2", "myhost"):
        assert secret.encode() not in sent and secret not in decoded, secret
    assert "*" * 20 in decoded and "*" * 7 in decoded
    assert recorded_output(tmp_path / "x.cast") == MASKED


def test_rec_with_patterns_from_the_config(cli, rec_env: Dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "config" / "config.toml").write_text('[session]\nredact = ["hunter[0-9]", "FODNN7"]\n')
    r = cli("rec", "--headless", "-q", "-c", SCRIPT, "x.cast", env=rec_env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == SHOWN
    assert recorded_output(tmp_path / "x.cast") == SHOWN.replace("hunter2", "*******").replace("FODNN7", "******")


def test_bad_patterns_stop_before_the_session(cli, rec_env: Dict[str, str], tmp_path: Path) -> None:
    for args, message in [
        (["--redact", "a["], "Error: invalid --redact pattern 'a[': unterminated character set at position 1\n"),
        (["--redact-preset", "aws", "--redact-preset", "AWS"],
         "Error: unknown redaction preset 'AWS' (known: aws, github, gitlab, slack, jwt, bearer, pem, "
         "private-ip)\n"),
    ]:
        r = cli("rec", "--headless", *args, "-c", "touch ran", "x.cast", env=rec_env)
        assert (r.returncode, r.stdout, r.stderr.decode()) == (1, b"", message)
        r = cli("stream", "-l", "127.0.0.1:0", "--headless", *args, "-c", "touch ran", env=rec_env)
        assert (r.returncode, r.stdout, r.stderr.decode()) == (1, b"", message)
    assert not (tmp_path / "ran").exists() and not (tmp_path / "x.cast").exists()
    config = tmp_path / "config" / "config.toml"
    config.write_text('[session]\nredact = ["ok", "("]\n')
    r = cli("rec", "--headless", "-c", "touch ran", "x.cast", env=rec_env)
    assert r.returncode == 1
    assert r.stderr.decode() == (f"Error: {config}: session.redact: invalid regular expression '(': "
                                 "missing ), unterminated subpattern at position 0\n")
    config.write_text('[session]\nredact = "one"\n')
    r = cli("rec", "--headless", "-c", "touch ran", "x.cast", env=rec_env)
    assert r.stderr.decode() == f"Error: {config}: session.redact: expected a list of strings\n"
    assert not (tmp_path / "ran").exists()


def test_help_of_the_session_commands_lists_the_presets(cli) -> None:
    for command in ("rec", "stream", "session"):
        r = cli(command, "--help", env={"COLUMNS": "200"})
        assert r.returncode == 0
        text = " ".join(r.stdout.decode().split())
        assert "--redact REGEX" in text and "--strip-osc" in text
        assert "aws, github, gitlab, slack, jwt, bearer, pem, private-ip" in text


def test_unredacted_run_is_unchanged(cli, rec_env: Dict[str, str], tmp_path: Path) -> None:
    r = cli("rec", "--headless", "-q", "-c", SCRIPT, "x.cast", env=rec_env)
    assert r.returncode == 0, r.stderr
    assert recorded_output(tmp_path / "x.cast") == SHOWN
    assert r.stdout.decode() == SHOWN
